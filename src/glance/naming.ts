// How published images are named and marked, so that retention finds its own
// images and nothing else:
//   name        the pattern (`--name`, default `{image}-{tag}`) with {image},
//               {tag} and {format} filled in;
//   tags        `imgfactory` (the marker) and `imgfactory-manifest:sha256:<hex>`
//               (the manifest file's digest: which build this is);
//   property    imgfactory_image=<image>: the series retention counts in
//               (`prune --name`), whatever the name pattern.
import { fail, ok, type Result } from '../failure.js';

export const MARKER_TAG = 'imgfactory';
export const SERIES_PROPERTY = 'imgfactory_image';

/** The tag that names the build: the sha256 of its manifest file. */
export const manifestTag = (manifestSha256: string): string => `imgfactory-manifest:sha256:${manifestSha256}`;

export interface NameFields {
  image: string;
  tag: string;
  format: string;
}

/** `{image}-{tag}`, or `{image}` for a manifest without a tag. */
export const defaultNamePattern = (tag: string): string => (tag ? '{image}-{tag}' : '{image}');

/** The name `pattern` gives; an unknown {field} is a usage error. */
export function imageName(pattern: string, f: NameFields): Result<string> {
  const fields: Record<string, string> = { image: f.image, tag: f.tag, format: f.format };
  const unknown = [...pattern.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!).filter((k) => !(k in fields));
  if (unknown.length) return fail({ reason: 'usage', message: `--name ${pattern}: unknown field {${unknown[0]}}`, hint: 'the name pattern knows {image}, {tag} and {format}' });
  return ok(pattern.replace(/\{(image|tag|format)\}/g, (_, k: string) => fields[k]!));
}
