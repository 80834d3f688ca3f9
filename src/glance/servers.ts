// Whether an image is in use by a server, as far as the cloud lets us see:
// Nova's server list filtered by image (GET /servers?image=<id>), in the
// project we are authenticated to. What this cannot see: servers of other
// projects (a shared or public image), servers booted from a volume made from
// the image (their `image` is empty), and any cloud without a compute
// endpoint in its catalog. The answer says which of these it is.
import { ok, type Result } from '../failure.js';
import { endpointFor } from './catalog.js';
import { describeRequest, errorText, jsonBody, NetworkError, request } from './http.js';
import { authHeaders, type Session } from './keystone.js';

/** How in-use checks are made on this cloud: by Nova, or not at all (and why). */
export type InUseCheck = { by: 'nova'; compute: string } | { by: 'none'; why: string };

export function inUseCheck(s: Session): InUseCheck {
  const compute = endpointFor(s.catalog, 'compute', s.cloud.interface, s.cloud.regionName);
  return compute ? { by: 'nova', compute } : { by: 'none', why: 'the catalog has no compute (Nova) endpoint, so servers using an image cannot be seen' };
}

/** The ids of this project's servers booted from `imageId`; an error string when Nova could not say. */
export async function serversUsing(s: Session, check: Extract<InUseCheck, { by: 'nova' }>, imageId: string): Promise<Result<string[] | { unknown: string }>> {
  const url = `${check.compute}/servers?image=${encodeURIComponent(imageId)}`;
  try {
    const res = await request({ method: 'GET', url, headers: authHeaders(s), retry: true, ...s.tls });
    if (res.status !== 200) return ok({ unknown: `${describeRequest('GET', url)}: HTTP ${res.status} ${errorText(res)}` });
    return ok((jsonBody<{ servers?: { id: string }[] }>(res)?.servers ?? []).map((x) => x.id));
  } catch (e) {
    if (e instanceof NetworkError) return ok({ unknown: `${describeRequest('GET', url)}: ${e.code}` });
    throw e;
  }
}
