// A separate process using one cache, for the cache tests (spawned with
// execa; the compiled sources are in argv[2]). argv[3] is a JSON job:
//   {op: 'build', cache, keys, size, log}  for each key: under its lock, use the
//       entry if there is one, else "build" it (append "<key>\n" to the log
//       file) and store a blob derived from the key; prints {built, hits}.
//   {op: 'hold', cache, key}               takes the lock, prints "locked", waits to be killed.
//   {op: 'hold-then-put', cache, key, ms}  takes the lock, prints "locked",
//       stores the entry after ms, releases.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const mod = process.argv[2];
const job = JSON.parse(process.argv[3]);
const { LocalLayerStore } = await import(path.join(mod, 'cache/store-local.js'));
const store = new LocalLayerStore(job.cache, { timeoutMs: 120_000 });

function blobFor(key, size) {
  const unit = Buffer.from(`${key}\n`);
  return Buffer.concat(Array.from({ length: Math.ceil(size / unit.length) }, () => unit)).subarray(0, size);
}

if (job.op === 'build') {
  const built = [];
  const hits = [];
  for (const key of job.keys) {
    await store.withKeyLock(key, async () => {
      const entry = await store.lookup(key, 'layer/hook');
      if (entry) {
        hits.push(key);
        return;
      }
      await appendFile(job.log, `${key}\n`);
      await store.putLayer(key, 'layer/hook', blobFor(key, job.size), { step: key, image: `pid-${process.pid}` });
      built.push(key);
    });
  }
  process.stdout.write(JSON.stringify({ built, hits }));
} else if (job.op === 'hold') {
  await store.withKeyLock(job.key, async () => {
    process.stdout.write('locked\n');
    await sleep(10 * 60_000);
  });
} else if (job.op === 'hold-then-put') {
  await store.withKeyLock(job.key, async () => {
    process.stdout.write('locked\n');
    await sleep(job.ms);
    await store.putLayer(job.key, 'layer/hook', blobFor(job.key, 1000), { step: 'held' });
  });
} else {
  throw new Error(`unknown op ${job.op}`);
}
