// What `imgfactory boot` hands qemu and when it ends, with a stand-in qemu
// (a shell script that writes its arguments, and what the guest's collector
// would fetch from the metadata service, to the serial console file).
import { execa } from 'execa';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootNode, type NodeBootOptions } from '../../../src/boot/boot-node.js';
import { scratchDir } from '../../support/run-dir.js';

/**
 * A stand-in qemu: prints its arguments to the console, then the metadata
 * the config drive's URL serves (10.0.2.2 is the host's loopback to a guest),
 * then runs `tail`.
 */
async function setup(tail: string): Promise<{ dir: string; qemu: string; image: string; metadata: string }> {
  const dir = await scratchDir('boot-node');
  const qemu = path.join(dir, 'qemu');
  await writeFile(
    qemu,
    [
      '#!/bin/bash',
      'for a; do case "$a" in file:*) console=${a#file:};; esac; done',
      'echo "args: $*" > "$console"',
      'drive=$(printf "%s\\n" "$@" | sed -n "s/^file=\\([^,]*config-drive.img\\),.*/\\1/p")',
      'url=$(MTOOLS_SKIP_CHECK=1 mtype -i "$drive" ::/ec2/latest/meta-data.json | python3 -c "import json,sys; print(json.load(sys.stdin)[\'os-collect-config\'][\'request\'][\'metadata_url\'])")',
      'echo "served: $(curl -s "${url/10.0.2.2/127.0.0.1}")" >> "$console"',
      tail,
    ].join('\n'),
  );
  await chmod(qemu, 0o755);
  const image = path.join(dir, 'node.qcow2');
  await writeFile(image, '');
  const metadata = path.join(dir, 'node.json');
  await writeFile(metadata, '{"keystone": {"admin_password": "pw"}}');
  return { dir, qemu, image, metadata };
}

function options(s: { qemu: string; image: string; metadata: string }, over: Partial<NodeBootOptions> = {}): NodeBootOptions {
  return { target: s.image, metadata: s.metadata, forwards: [{ host: 15000, guest: 5000 }], memoryMiB: 2048, cpus: 2, timeoutSeconds: 20, hostname: 'node', accel: 'tcg', qemu: s.qemu, ...over };
}

describe('bootNode', () => {
  it('boots with the memory, CPUs, forwards and config drive asked for; the node can fetch its metadata from the host while it runs', async () => {
    const s = await setup('echo "node ready" >> "$console"; exec sleep 30');
    const seen: string[] = [];
    const r = await bootNode(options(s, { expect: 'node ready', onConsole: (t) => seen.push(t) }));
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const console = seen.join('');
    expect(console).toMatch(/ -m 2048 -smp 2 /);
    expect(console).toContain('-nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:15000-:5000');
    expect(console).toMatch(/-drive file=\S+config-drive\.img,format=raw,if=virtio,readonly=on/);
    expect(console).toContain('-snapshot');
    expect(console).toMatch(/^served: \{"keystone":\{"admin_password":"pw"\},"os-collect-config":\{"request":\{"metadata_url":"http:\/\/10\.0\.2\.2:\d+\/metadata\.json"\}\}\}$/m);
  });

  it('without --expect runs its time and ends well; qemu ending by itself is a failed boot', async () => {
    const s = await setup('exec sleep 30');
    const ran = await bootNode(options(s, { timeoutSeconds: 2 }));
    expect(ran.ok && ran.value.outcome.ended).toBe('timeout');
    const gone = await bootNode(options(await setup('echo "qemu-system-x86_64: Could not set up host forwarding rule" >&2; exit 1')));
    expect(!gone.ok && gone.error).toMatchObject({ reason: 'boot-failed', ended: 'qemu-exited', expected: 'qemu to keep running' });
    expect(!gone.ok && gone.error.reason === 'boot-failed' && gone.error.consoleTail.join('\n')).toContain('Could not set up host forwarding rule');
  });

  it('gives the node a disk of the size asked for over the image (a flavor\'s root disk), never smaller than the image, never written through', async () => {
    // The stand-in prints the virtual size and backing file of the disk it was handed.
    const tail = [
      'disk=$(printf "%s\\n" "$@" | sed -n "s/^file=\\([^,]*\\),format=qcow2,if=virtio$/\\1/p")',
      'qemu-img info --output=json "$disk" | python3 -c "import json,sys; j=json.load(sys.stdin); print(\'disk:\', j[\'virtual-size\'], j[\'backing-filename\'])" >> "$console"',
      'exec sleep 30',
    ].join('\n');
    for (const [imageSize, gib, expected] of [['64M', 1, 2 ** 30], ['2G', 1, 2 * 2 ** 30]] as const) {
      const s = await setup(tail);
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', s.image, imageSize]);
      const seen: string[] = [];
      const r = await bootNode(options(s, { diskGiB: gib, expect: 'disk: ', timeoutSeconds: 20, onConsole: (t) => seen.push(t) }));
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      expect(seen.join('')).toMatch(new RegExp(`^disk: ${expected} ${s.image}$`, 'm'));
      expect(seen.join('')).toContain('-snapshot');
    }
  });

  it('refuses metadata that is not a JSON object before booting anything', async () => {
    const s = await setup('exit 0');
    await writeFile(s.metadata, '["not", "an", "object"]');
    const r = await bootNode(options(s));
    expect(!r.ok && r.error).toMatchObject({ reason: 'usage', message: expect.stringMatching(/node\.json: must be a JSON object/) });
  });
});
