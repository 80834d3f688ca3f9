// Barbican (key-manager) secrets: stores the X.509 certificate that Glance
// fetches (through castellan) to check img_signature. Castellan's barbican
// backend expects a `certificate` secret with the PEM as the payload,
// content type application/octet-stream, base64-encoded in transit.
import { fail, ok, type Result } from '../failure.js';
import { describeRequest, errorText, jsonBody, NetworkError, request } from './http.js';
import { authHeaders, type Session } from './keystone.js';

/** Stores `pem` and returns the secret's UUID (img_signature_certificate_uuid). */
export async function storeCertificate(s: Session, barbican: string, pem: Buffer, name: string): Promise<Result<string>> {
  const url = `${barbican}/v1/secrets`;
  let res;
  try {
    res = await request({
      method: 'POST',
      url,
      headers: authHeaders(s),
      json: { name, secret_type: 'certificate', payload: pem.toString('base64'), payload_content_type: 'application/octet-stream', payload_content_encoding: 'base64' },
      ...s.tls,
    });
  } catch (e) {
    if (e instanceof NetworkError) return fail({ reason: 'publish-failed', step: 'storing the certificate in Barbican', message: `network error on ${describeRequest('POST', url)}: ${e.code}` });
    throw e;
  }
  if (res.status !== 201) return fail({ reason: 'publish-failed', step: 'storing the certificate in Barbican', status: res.status, message: errorText(res) });
  const ref = jsonBody<{ secret_ref?: string }>(res)?.secret_ref;
  const uuid = ref?.split('/').pop();
  if (!uuid) return fail({ reason: 'publish-failed', step: 'storing the certificate in Barbican', status: res.status, message: 'the answer carried no secret_ref' });
  return ok(uuid);
}

/** Removes a secret we stored (clean-up after a failed publish); a missing one is fine. */
export async function deleteSecret(s: Session, barbican: string, uuid: string): Promise<Result<void>> {
  const url = `${barbican}/v1/secrets/${uuid}`;
  try {
    const res = await request({ method: 'DELETE', url, headers: authHeaders(s), retry: true, ...s.tls });
    if (res.status === 204 || res.status === 404) return ok(undefined);
    return fail({ reason: 'publish-failed', step: 'deleting the certificate secret', status: res.status, message: errorText(res), leftBehind: `secret ${uuid}` });
  } catch (e) {
    if (e instanceof NetworkError) return fail({ reason: 'publish-failed', step: 'deleting the certificate secret', message: e.code, leftBehind: `secret ${uuid}` });
    throw e;
  }
}
