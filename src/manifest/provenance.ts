// Provenance of a build as an in-toto Statement v1 with an SLSA Provenance v1
// predicate: the subjects are the output files (sha256 and sha512), the
// build definition is what the manifest says went in. Deterministic: no wall
// clock times (only SOURCE_DATE_EPOCH), so two identical builds give the same
// statement.
import type { Manifest } from './manifest.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
/** Names our build type; its parameters are described in docs/manifest.md. */
export const BUILD_TYPE = 'https://github.com/imgfactory/imgfactory/blob/main/docs/manifest.md#provenance-v1';

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: typeof SLSA_PROVENANCE;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: Record<string, unknown>;
      internalParameters: Record<string, unknown>;
      resolvedDependencies: { name: string; uri: string; digest: Record<string, string>; annotations?: Record<string, string> }[];
    };
    runDetails: { builder: { id: string; version: Record<string, string> }; metadata: Record<string, unknown> };
  };
}

export function provenance(m: Manifest): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: m.outputs.map((o) => ({ name: o.name, digest: { sha256: o.sha256, sha512: o.sha512 } })),
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          image: m.image,
          tag: m.tag,
          distro: m.distro,
          inputs: m.inputs,
          // Which secrets were offered, as BuildKit's provenance lists them: ids, never values.
          ...(m.secrets ? { secrets: m.secrets.map((id) => ({ id })) } : {}),
          layout: m.layout,
          formats: m.outputs.map((o) => o.format),
        },
        internalParameters: { sourceDateEpoch: m.sourceDateEpoch, ...(m.archive ? { archiveStateFrom: m.archive.from } : {}) },
        resolvedDependencies: [
          ...m.elements.map((e) => ({
            name: e.name,
            uri: `file://${e.origin}`,
            digest: { sha256: e.digest.replace(/^sha256:/, '') },
          })),
          // The archive's release files: each names, by hash, every package the build could install from its suite.
          ...(m.archive?.suites ?? []).map((s) => ({ name: `archive/${s.suite}`, uri: s.url, digest: { sha256: s.sha256 }, annotations: { date: s.date } })),
        ],
      },
      runDetails: {
        builder: { id: 'https://github.com/imgfactory/imgfactory', version: { imgfactory: m.tool.version } },
        metadata: { layerKeys: m.layerKeys },
      },
    },
  };
}
