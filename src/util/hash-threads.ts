// Hashes one byte stream with several algorithms, each on its own worker
// thread, so a large output is not hashed on the main thread one algorithm
// after another (sha256 + sha512 + md5 of a 3 GB image is ~10 s of one core).
//
// Chunks that live in a SharedArrayBuffer (see sharedBuffer) go to the
// workers without a copy; a caller reusing such a buffer must wait IN_FLIGHT
// more update() calls. Other chunks are copied once, so the caller may reuse
// them at once.
//
// Below THREAD_MIN_BYTES the threads cost more than they save (~30 ms to
// start), so small inputs are hashed inline with the same interface.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Inputs smaller than this are hashed on the calling thread. */
export const THREAD_MIN_BYTES = 64 * 1024 * 1024;
/** Chunks a worker may have queued before update() waits for it. */
export const IN_FLIGHT = 8;

export type Digests = Record<string, string>;

export interface StreamHasher {
  /** Whether chunks go to worker threads (then a reused shared buffer must wait IN_FLIGHT updates). */
  readonly threaded: boolean;
  /** Feeds the next chunk; resolves once fewer than IN_FLIGHT chunks are queued. */
  update(chunk: Uint8Array): Promise<void> | void;
  /** Hex digests by algorithm; ends the hasher. */
  digests(): Promise<Digests>;
  /** Stops the workers without a result (after a failed stream). */
  abort(): void;
}

/** A hasher for `algorithms`, threaded when `expectedBytes` is large enough to pay for it. */
export function streamHasher(algorithms: readonly string[], expectedBytes: number): StreamHasher {
  return expectedBytes >= THREAD_MIN_BYTES ? new ThreadedHasher(algorithms) : new InlineHasher(algorithms);
}

/** A Buffer over shared memory: handed to the hash workers without a copy. */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

class InlineHasher implements StreamHasher {
  readonly threaded = false;
  private readonly hashes: Array<[string, Hash]>;
  constructor(algorithms: readonly string[]) {
    this.hashes = algorithms.map((a) => [a, createHash(a)]);
  }
  update(chunk: Uint8Array): void {
    for (const [, h] of this.hashes) h.update(chunk);
  }
  async digests(): Promise<Digests> {
    return Object.fromEntries(this.hashes.map(([a, h]) => [a, h.digest('hex')]));
  }
  abort(): void {}
}

// CommonJS source for `eval: true`, so the same code runs from dist/ and
// under vitest (which has no compiled sibling file to point a Worker at).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const hash = require('node:crypto').createHash(workerData);
parentPort.on('message', (m) => {
  if (m === null) parentPort.postMessage({ digest: hash.digest('hex') });
  else { hash.update(m); parentPort.postMessage({ ack: true }); }
});
`;

interface Lane {
  algorithm: string;
  worker: Worker;
  queued: number;
  digest?: string;
  failure?: Error;
  wake?: () => void;
}

class ThreadedHasher implements StreamHasher {
  readonly threaded = true;
  private readonly lanes: Lane[];

  constructor(algorithms: readonly string[]) {
    this.lanes = algorithms.map((algorithm) => {
      const lane: Lane = { algorithm, worker: new Worker(WORKER_SOURCE, { eval: true, workerData: algorithm }), queued: 0 };
      lane.worker.on('message', (m: { ack?: true; digest?: string }) => {
        if (m.ack) lane.queued--;
        else lane.digest = m.digest;
        lane.wake?.();
      });
      lane.worker.on('error', (e) => {
        lane.failure = e;
        lane.wake?.();
      });
      lane.worker.on('exit', () => {
        lane.failure ??= new Error('exited');
        lane.wake?.();
      });
      return lane;
    });
  }

  async update(chunk: Uint8Array): Promise<void> {
    let shared = chunk;
    if (!(chunk.buffer instanceof SharedArrayBuffer)) {
      shared = new Uint8Array(new SharedArrayBuffer(chunk.byteLength));
      shared.set(chunk);
    }
    for (const lane of this.lanes) {
      lane.worker.postMessage(shared);
      lane.queued++;
    }
    for (const lane of this.lanes) await this.until(lane, () => lane.queued < IN_FLIGHT);
  }

  async digests(): Promise<Digests> {
    const out: Digests = {};
    try {
      for (const lane of this.lanes) lane.worker.postMessage(null);
      for (const lane of this.lanes) {
        await this.until(lane, () => lane.digest !== undefined);
        out[lane.algorithm] = lane.digest!;
      }
    } finally {
      this.abort();
    }
    return out;
  }

  abort(): void {
    for (const lane of this.lanes) void lane.worker.terminate();
  }

  private async until(lane: Lane, done: () => boolean): Promise<void> {
    while (!done()) {
      if (lane.failure) throw new Error(`${lane.algorithm} hash thread failed: ${lane.failure.message}`);
      await new Promise<void>((resolve) => (lane.wake = resolve));
      lane.wake = undefined;
    }
  }
}
