// A small apt repository of the tests' own, served on loopback: packages are
// made with dpkg-deb from a few files, and publishing one writes a new
// Packages index and a new (unsigned) Release file, as a real archive does
// when it publishes. Builds reach it with `--apt-source` (`sourceLine`),
// trusted without a signature; its release file is part of the build's
// archive state like Debian's.
//
//   <url>/repo/dists/local/Release
//   <url>/repo/dists/local/main/binary-amd64/Packages
//   <url>/repo/pool/main/<name>_<version>_all.deb
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startReleaseServer, type ReleaseServer } from './release-server.js';
import { scratchDir } from './run-dir.js';

export interface LocalArchive {
  /** The `--apt-source` line builds install from it with. */
  sourceLine: string;
  /** Publishes `version` of `name` (replacing the one published before), holding `files` (path in the tree -> content). */
  publish(name: string, version: string, files: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function startLocalArchive(): Promise<LocalArchive> {
  const server: ReleaseServer = await startReleaseServer();
  const work = await scratchDir('local-archive');
  const stanzas = new Map<string, string>();
  let published = 0;
  return {
    sourceLine: `[trusted=yes] ${server.url}/repo local main`,
    async publish(name, version, files) {
      const root = path.join(work, `${name}-${version}`);
      await mkdir(path.join(root, 'DEBIAN'), { recursive: true });
      await writeFile(path.join(root, 'DEBIAN', 'control'), [`Package: ${name}`, `Version: ${version}`, 'Architecture: all', 'Maintainer: imgfactory tests <tests@imgfactory.invalid>', `Description: ${name}, a package of the tests' local archive`, ''].join('\n'));
      for (const [file, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(root, file)), { recursive: true });
        await writeFile(path.join(root, file), content);
      }
      const deb = `${root}.deb`;
      await execa('dpkg-deb', ['--root-owner-group', '--build', root, deb]);
      const bytes = await readFile(deb);
      const pool = `pool/main/${name}_${version}_all.deb`;
      server.files.set(`/repo/${pool}`, bytes);
      const control = (await execa('dpkg-deb', ['-f', deb])).stdout.trimEnd();
      stanzas.set(name, `${control}\nFilename: ${pool}\nSize: ${bytes.length}\nSHA256: ${sha256(bytes)}\n`);
      const packages = Buffer.from([...stanzas.values()].join('\n'));
      server.files.set('/repo/dists/local/main/binary-amd64/Packages', packages);
      // A later Date each time, as an archive's publications have.
      const date = new Date(Date.UTC(2026, 0, 1) + ++published * 3_600_000).toUTCString().replace('GMT', 'UTC');
      const release = ['Origin: imgfactory-tests', 'Suite: local', 'Codename: local', `Date: ${date}`, 'Architectures: amd64', 'Components: main', 'SHA256:', ` ${sha256(packages)} ${packages.length} main/binary-amd64/Packages`, ''].join('\n');
      server.files.set('/repo/dists/local/Release', Buffer.from(release));
    },
    stop: () => server.stop(),
  };
}
