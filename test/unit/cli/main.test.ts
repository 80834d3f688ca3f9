import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { chmod, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { captureOutput } from '../../support/capture-output.js';
import { BAD, GOOD } from '../../support/fixtures.js';
import { scratchDir } from '../../support/run-dir.js';
import { inTestTools } from '../../support/test-tools.js';

const BIN = fileURLToPath(new URL('../../../bin/imgfactory.js', import.meta.url));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = captureOutput();
  const code = await main(argv, out);
  return { code, stdout: out.stdout.join('\n'), stderr: out.stderr.join('\n') };
}

describe('imgfactory CLI', () => {
  it('graph --format json lists the expanded elements in a stable order', async () => {
    const a = await cli('graph', 'overcloud-control', '--format', 'json');
    const b = await cli('graph', 'overcloud-control', '--format', 'json');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const doc = JSON.parse(a.stdout) as { elements: { name: string }[]; cycles: string[][]; distro: string };
    expect(doc.distro).toBe('debian-bookworm');
    expect(doc.elements[0]!.name).toBe('base');
    expect(doc.elements.at(-1)!.name).toBe('overcloud-control');
    expect(doc.cycles).toEqual([['os-apply-config', 'os-refresh-config']]);
  });

  it('graph --format dot is a digraph with the cycle marked', async () => {
    const r = await cli('graph', 'overcloud-control', '--format', 'dot');
    expect(r.stdout).toMatch(/^digraph imgfactory \{/);
    expect(r.stdout).toContain('"os-apply-config" -> "os-refresh-config" [color=red];');
    const svg = await execa(...inTestTools('dot', ['-Tsvg']), { input: r.stdout });
    expect(svg.stdout).toContain('<svg');
    expect(svg.stdout).toContain('overcloud&#45;control');
  });

  it('elements lists descriptions and origins, honouring --elements-path', async () => {
    const r = await cli('elements', '--json', '--elements-path', GOOD);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { elements: { name: string; origin: string; overrides: string[] }[] };
    const base = doc.elements.find((e) => e.name === 'base')!;
    expect(base.origin).toBe(GOOD);
    expect(base.overrides).toEqual([expect.stringMatching(/\/elements\/base$/)]);
    expect(r.stderr).toMatch(/warning: base: .* overrides/);
    expect(r.stderr).toMatch(/warning: hooky: install\.d\/50-skipped\.sh: will not run/);
  });

  it('honours ELEMENTS_PATH as diskimage-builder users set it', async () => {
    process.env.ELEMENTS_PATH = GOOD;
    try {
      const r = await cli('graph', 'app', '--format', 'json');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('"lib-a"');
    } finally {
      delete process.env.ELEMENTS_PATH;
    }
  });

  it.each([
    [['graph', 'overcloud-contrl'], /element "overcloud-contrl" not found/, /did you mean "overcloud-control"/],
    [['graph', 'needs-missing', '--elements-path', BAD], /element "libz" not found \(required by "needs-missing"\)/, /searched: /],
    [['graph', 'dup-image', '--elements-path', BAD], /"thing" is provided by both "dup-one" and "dup-two"/, /hint:/],
    [['graph', 'widget', 'thing-maker', '--elements-path', BAD], /element "widget" is also provided by "thing-maker"/, /hint:/],
    [['graph', 'selfish', '--elements-path', BAD], /element "selfish" depends on itself/, /selfish\/element-deps:3/],
    [['graph', 'bad-yaml', '--elements-path', BAD], /element "bad-yaml", .*bad-yaml\/package-installs.yaml:3: unknown option "bogus-key"/, /./],
    [['graph', 'base', '--distro', 'debian-potato'], /distribution "debian-potato"/, /known distributions: debian-bookworm, debian-trixie/],
    [['build', 'base', '-t', 'iso'], /unknown output type "iso"/, /choose from qcow2, raw, tar, vmdk, vhd, vhdx/],
    [['build'], /Not enough non-option arguments|name at least one image/, /--help/],
    // The signing key is checked before the build starts, not after it.
    [['build', 'base', '--sign-key', '/nonexistent/release.key.pem'], /^error: file \/nonexistent\/release.key.pem: does not exist/m, /release.key.pem/],
    [['build', 'base', '--no-sign', '--sign-key', 'release.key.pem'], /--sign-key and --no-sign contradict each other/, /drop one of them/],
    [['frobnicate'], /Unknown argument: frobnicate/, /--help/],
  ])('bad input %j exits 2 with one clear message', async (argv, message, detail) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(detail);
    expect(r.stderr.match(/^error:/gm)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('the real bin prints no stack trace unless --debug', async () => {
    const plain = await execa('node', [BIN, 'graph', 'nope'], { reject: false });
    expect(plain.exitCode).toBe(2);
    expect(plain.stderr).toMatch(/error: element "nope" not found/);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const debug = await execa('node', [BIN, 'graph', 'nope', '--debug'], { reject: false });
    expect(debug.exitCode).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('--version prints the package version', async () => {
    const r = await execa('node', [BIN, '--version']);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('stops quietly when the reader of its output goes away (| head -1)', async () => {
    for (const args of [['elements', '--json'], ['graph', 'overcloud-control', '--format', 'json']]) {
      // The read end is closed before the command writes: its first write meets EPIPE.
      const child = spawn('node', [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(stderr, args.join(' ')).not.toContain('EPIPE');
      expect(code, args.join(' ')).toBe(0);
    }
  });

  it('cleans up a booted node when the reader of its console goes away (boot --console | head): qemu stopped, no temporary files, 141', async () => {
    // A stand-in qemu writing console lines until it is stopped, recording its pid.
    const dir = await scratchDir('closed-pipe');
    const qemu = path.join(dir, 'qemu');
    await writeFile(qemu, ['#!/bin/bash', `echo $$ > ${dir}/qemu.pid`, 'for a; do case "$a" in file:*) console=${a#file:};; esac; done', 'while :; do echo "console line" >> "$console"; sleep 0.2; done', ''].join('\n'));
    await chmod(qemu, 0o755);
    await writeFile(path.join(dir, 'node.qcow2'), '');
    await writeFile(path.join(dir, 'node.json'), '{"admin-password": "secret"}');
    const tmp = path.join(dir, 'tmp');
    await execa('mkdir', [tmp]);
    const args = ['boot', path.join(dir, 'node.qcow2'), '--metadata', path.join(dir, 'node.json'), '--qemu', qemu, '--accel', 'tcg', '--timeout', '60', '--disk', '0', '--console'];
    const child = spawn('node', [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toContain('interrupted by SIGPIPE while booting');
    expect(code).toBe(141);
    expect(await readdir(tmp)).toEqual([]);
    const pid = Number(await execa('cat', [path.join(dir, 'qemu.pid')]).then((r) => r.stdout));
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

