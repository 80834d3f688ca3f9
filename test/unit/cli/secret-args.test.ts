import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecrets, parseSecretSpec } from '../../../src/cli/secret-args.js';
import { failureOf } from '../../support/failure-of.js';

const VALUE = 'hunter2-but-longer';

describe('--secret', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'secret-args-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('reads BuildKit syntax: src= a file, env= a variable, id alone its own variable; export', () => {
    expect(parseSecretSpec('id=tok,src=/run/tok')).toEqual({ id: 'tok', from: { file: '/run/tok' }, exported: false });
    expect(parseSecretSpec('id=tok,source=/run/tok')).toEqual({ id: 'tok', from: { file: '/run/tok' }, exported: false });
    expect(parseSecretSpec('id=DIB_PW,env=MY_PW,export')).toEqual({ id: 'DIB_PW', from: { env: 'MY_PW' }, exported: true });
    expect(parseSecretSpec('id=DIB_PW')).toEqual({ id: 'DIB_PW', from: { env: 'DIB_PW' }, exported: false });
  });

  it.each(['src=/x', 'id=../x,src=/x', 'id=a/b', 'id=.hidden', 'id=x,src=/a,env=B', 'id=x,type=file', 'id=x,id=y', 'id=x,src=', 'id=x,exported'])('refuses %s as a usage error', async (spec) => {
    expect(await failureOf(() => parseSecretSpec(spec))).toMatchObject({ reason: 'usage' });
  });

  it('loads a file and a variable, takes the variable out of the environment, and never repeats a value', async () => {
    const file = path.join(dir, 'tok');
    await writeFile(file, `${VALUE}\n`);
    const env: NodeJS.ProcessEnv = { MY_PW: VALUE, KEEP: 'x' };
    const secrets = await loadSecrets([`id=tok,src=${file}`, 'id=DIB_PW,env=MY_PW,export'], env);
    expect(secrets.map((s) => [s.id, s.exported, s.reveal().toString()])).toEqual([
      ['tok', false, `${VALUE}\n`],
      ['DIB_PW', true, VALUE],
    ]);
    expect(env).toEqual({ KEEP: 'x' });
  });

  it('says what is wrong with a source, naming the secret and never its value', async () => {
    const short = path.join(dir, 'short');
    await writeFile(short, 'abc');
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['id=tok,src=/nonexistent/tok'], {}, /secret tok: file \/nonexistent\/tok: does not exist/],
      [[`id=tok,src=${dir}`], {}, /is not a file/],
      [['id=tok,env=UNSET'], {}, /the environment variable UNSET is not set/],
      [[`id=tok,src=${short}`], {}, /is 3 bytes long; a secret needs at least 8/],
      [['id=a,env=V', 'id=a,env=V'], { V: VALUE }, /id=a is given twice/],
      [['id=bin,env=V,export'], { V: `${VALUE}\0` }, /holds a NUL byte/],
    ];
    for (const [items, env, message] of cases) {
      const f = await failureOf(loadSecrets(items, env));
      expect(f).toMatchObject({ reason: 'usage', message: expect.stringMatching(message) });
      expect(JSON.stringify(f)).not.toContain(VALUE);
    }
  });
});
