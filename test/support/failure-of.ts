// The expected failure a call ends with: the Failure of the FailureError it
// throws (or rejects with); anything else fails the test.
import { FailureError, type Failure } from '../../src/failure.js';

export async function failureOf(p: Promise<unknown> | (() => unknown)): Promise<Failure> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof FailureError) return e.failure;
    throw new Error(`expected a FailureError, got ${String(e)}`);
  }
  throw new Error('expected a FailureError, got none');
}
