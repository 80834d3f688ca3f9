// The error of a blob whose bytes do not match its integrity. It carries a
// Failure (reason 'integrity', so the CLI renders it and exits with the
// integrity code) and cacache's stable shape: code EINTEGRITY, expected, found.
import { FailureError } from '../failure.js';

export class IntegrityError extends FailureError {
  readonly code = 'EINTEGRITY';

  constructor(
    what: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super({ reason: 'integrity', what, expected, found });
    this.name = 'IntegrityError';
    this.message = `${what}: integrity mismatch: expected ${expected}, found ${found}`;
  }
}
