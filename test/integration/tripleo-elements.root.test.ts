// The TripleO golden-image elements (issue 7), built for real and inspected
// without booting: packages present (dpkg-query in the tree), services
// enabled (systemctl --root), debconf answers in place, the os-*-config
// directories and units, and nothing a golden image must not carry (SSH host
// keys, machine-id, apt lists and caches, logs, secrets, the build host's
// address or resolver).
//
// Issue 15: the same tree renders node metadata (test/fixtures/metadata) with
// its own os-apply-config, chrooted into it, into a scratch directory of the
// tree that is removed afterwards: nova.conf and the Open vSwitch agent point
// at the controller the metadata names, and a missing required key fails
// naming it. The undercloud is not built in CI, so its elements' templates
// and refresh scripts (copied from elements/ as the os-apply-config and
// os-refresh-config elements install them) are rendered with this tree's
// os-apply-config, without their .oac files (the undercloud's service groups
// are not in this tree, so its files' owners are not checked). And the tree holds no Fernet keys, database, passwords or
// secrets in its configuration before first boot.
//
// One service image is built: `overcloud-compute` by default (the smallest
// of the three); IMGFACTORY_TRIPLEO_IMAGE=overcloud-control (or undercloud)
// builds another; IMGFACTORY_TRIPLEO_CACHE=<dir> builds with that layer cache
// instead of a fresh one (a cache that already holds the image makes the run
// take seconds). The element checks below are keyed by element, so the same
// test inspects whichever image was built.
import { execa } from 'execa';
import { access, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { cpus } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cacheWithBase } from '../support/base-cache.js';
import { FIXTURES } from '../support/fixtures.js';
import { imgfactory } from '../support/imgfactory.js';
import { scratchDir } from '../support/run-dir.js';
import { scaled } from '../support/slowdown.js';

const IMAGE = process.env.IMGFACTORY_TRIPLEO_IMAGE ?? 'overcloud-compute';
const BUILD_TIMEOUT = scaled(1_800_000);

/** What each element must leave in the tree: packages installed, units enabled. */
const EXPECT: Record<string, { packages: string[]; units: string[] }> = {
  'cloud-init': { packages: ['cloud-init', 'cloud-guest-utils'], units: ['cloud-init.service', 'cloud-config.service', 'cloud-final.service'] },
  'openssh-server': { packages: ['openssh-server'], units: ['ssh.service', 'ssh-host-keys.service'] },
  ntp: { packages: ['chrony'], units: ['chrony.service'] },
  'dhcp-all-interfaces': { packages: ['systemd-sysv', 'systemd-resolved', 'udev'], units: ['systemd-networkd.service', 'systemd-resolved.service'] },
  stackuser: { packages: ['sudo'], units: [] },
  'os-collect-config': { packages: ['python3-os-collect-config'], units: ['os-collect-config.service'] },
  'os-apply-config': { packages: ['python3-os-apply-config'], units: [] },
  'os-refresh-config': { packages: ['python3-os-refresh-config'], units: [] },
  keystone: { packages: ['keystone'], units: ['keystone.service'] },
  glance: { packages: ['glance-api'], units: ['glance-api.service'] },
  'nova-api': {
    packages: ['nova-api', 'nova-conductor', 'nova-scheduler', 'nova-consoleproxy', 'placement-api'],
    units: ['nova-api.service', 'nova-conductor.service', 'nova-scheduler.service', 'nova-novncproxy.service', 'placement-api.service'],
  },
  'neutron-server': { packages: ['neutron-server'], units: ['neutron-api.service', 'neutron-rpc-server.service'] },
  'neutron-dhcp-agent': { packages: ['neutron-dhcp-agent'], units: ['neutron-dhcp-agent.service'] },
  'neutron-network-node': { packages: ['neutron-l3-agent', 'neutron-metadata-agent'], units: ['neutron-l3-agent.service', 'neutron-metadata-agent.service'] },
  'neutron-openvswitch-agent': { packages: ['neutron-openvswitch-agent'], units: ['neutron-openvswitch-agent.service'] },
  openvswitch: { packages: ['openvswitch-switch'], units: ['openvswitch-switch.service'] },
  heat: { packages: ['heat-api', 'heat-api-cfn', 'heat-engine'], units: ['heat-api.service', 'heat-api-cfn.service', 'heat-engine.service'] },
  'cinder-api': { packages: ['cinder-api', 'cinder-scheduler'], units: ['cinder-api.service', 'cinder-scheduler.service'] },
  'cinder-tgt': { packages: ['cinder-volume', 'tgt', 'lvm2'], units: ['cinder-volume.service', 'tgt.service', 'cinder-volume-group.service'] },
  'swift-proxy': { packages: ['swift-proxy'], units: ['swift-proxy.service'] },
  'swift-storage': { packages: ['swift-account', 'swift-container', 'swift-object'], units: ['swift-account.service', 'swift-container.service', 'swift-object.service'] },
  horizon: { packages: ['openstack-dashboard', 'openstack-dashboard-apache'], units: ['apache2.service'] },
  ceilometer: { packages: ['ceilometer-agent-central', 'ceilometer-agent-notification'], units: ['ceilometer-agent-central.service', 'ceilometer-agent-notification.service'] },
  'rabbitmq-server': { packages: ['rabbitmq-server'], units: ['rabbitmq-server.service', 'rabbitmq-erlang-cookie.service'] },
  mariadb: { packages: ['mariadb-server'], units: ['mariadb.service'] },
  memcached: { packages: ['memcached'], units: ['memcached.service'] },
  haproxy: { packages: ['haproxy'], units: ['haproxy.service'] },
  keepalived: { packages: ['keepalived'], units: ['keepalived.service'] },
  'nova-compute': { packages: ['nova-compute'], units: ['nova-compute.service'] },
  'nova-kvm': { packages: ['nova-compute-kvm', 'libvirt-daemon-system'], units: ['libvirtd.service'] },
  ironic: { packages: ['ironic-api', 'ironic-conductor'], units: ['ironic-api.service', 'ironic-conductor.service'] },
  'nova-ironic': { packages: ['nova-compute-ironic'], units: [] },
};

/** Debconf answers that must be in the tree's database (question -> value). */
const DEBCONF: Record<string, Record<string, string>> = {
  'cloud-init': { 'cloud-init/datasources': 'ConfigDrive, OpenStack, NoCloud, None' },
  // keystone/create-admin-tenant and heat/configure_with_debconf are answered too, but
  // the packages unregister them after use: see the keystone and heat checks below.
  keystone: { 'keystone/configure_db': 'false', 'keystone/register-endpoint': 'false' },
  glance: { 'glance/configure_db': 'false', 'glance/configure_api-endpoint': 'false' },
  'nova-api': { 'nova/configure_db': 'false', 'novaapi/configure_db': 'false', 'nova-consoleproxy/daemon_type': 'novnc', 'nova/my-ip': '' },
  'nova-compute': { 'nova/configure_db': 'false', 'nova/my-ip': '' },
  'neutron-openvswitch-agent': { 'neutron/configure_db': 'false', 'neutron-openvswitch-agent/overlay-int-ip-address': '' },
  heat: { 'heat/configure_db': 'false', 'heat/configure_api-endpoint': 'false' },
  'cinder-api': { 'cinder/configure_db': 'false', 'cinder/volume_group': 'cinder-volumes' },
  ironic: { 'ironic/configure_db': 'false' },
};

let tree = '';
let out = '';
let elements: string[] = [];

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** The tree's debconf database as question -> value (config.dat, RFC822-style stanzas). */
async function debconfValues(root: string): Promise<Map<string, string>> {
  const text = await readFile(path.join(root, 'var/cache/debconf/config.dat'), 'utf8');
  const values = new Map<string, string>();
  for (const stanza of text.split(/\n\n+/)) {
    const name = /^Name: (.*)$/m.exec(stanza)?.[1];
    if (!name) continue;
    values.set(name, /^Value: ?(.*)$/m.exec(stanza)?.[1] ?? '');
  }
  return values;
}

async function isEnabled(unit: string): Promise<string> {
  const r = await execa('systemctl', [`--root=${tree}`, 'is-enabled', unit], { reject: false });
  return r.stdout.trim();
}

const ELEMENTS = path.join(import.meta.dirname, '..', '..', 'elements');
const METADATA = path.join(FIXTURES, 'metadata');
/** Where the rendering tests work inside the tree (removed after each). */
const RENDER = 'tmp/imgfactory-render';

/** The elements of an image, in build order (imgfactory graph). */
async function imageElements(image: string): Promise<string[]> {
  const graph = await imgfactory(['graph', image, '--format', 'json']);
  return (JSON.parse(graph.stdout) as { elements: { name: string }[] }).elements.map((e) => e.name);
}

/**
 * A secret-looking option set to a value, or a URL carrying a password. A value computed by a call (Horizon's
 * `SECRET_KEY = secret_key.generate_or_read_from_file(...)`, which makes the key on the node) is not one.
 */
const SECRET_LINE = /^\s*([\w.-]*(password|secret|_key|token)|swift_hash_path_suffix)\s*=\s*(?![\w.]+\()\S|:\/\/[^\s/:@]+:[^\s/@]+@/im;

interface Render {
  exitCode: number;
  stderr: string;
  /** A rendered file's text, by its absolute path on the node. */
  read(file: string): Promise<string>;
  stat(file: string): Promise<Stats>;
}

/**
 * Runs `os-metadata apply` chrooted into the tree with the given metadata files (merged in order, as
 * os-collect-config hands them over), writing under RENDER; `env` points it at other templates.
 */
async function render(metadata: (string | object)[], env: Record<string, string> = {}): Promise<Render> {
  const out = path.join(tree, RENDER, 'out');
  await mkdir(out, { recursive: true });
  const r = await osMetadata(['apply', '--output', `/${RENDER}/out`], metadata, env);
  return { exitCode: r.exitCode ?? -1, stderr: r.stderr, read: (f) => readFile(path.join(out, f), 'utf8'), stat: (f) => stat(path.join(out, f)) };
}

/** `os-metadata ARGS` chrooted into the tree, given the metadata files (fixture names or JSON values), merged in order. */
async function osMetadata(args: string[], metadata: (string | object)[], env: Record<string, string> = {}) {
  await mkdir(path.join(tree, RENDER), { recursive: true });
  const inTree = await Promise.all(
    metadata.map(async (m, i) => {
      const at = `/${RENDER}/metadata-${i}.json`;
      if (typeof m === 'string') await cp(path.join(METADATA, m), path.join(tree, at));
      else await writeFile(path.join(tree, at), JSON.stringify(m));
      return at;
    }),
  );
  const vars = Object.entries({ OS_CONFIG_FILES: inTree.join(':'), ...env }).map(([k, v]) => `${k}=${v}`);
  return execa('chroot', [tree, 'env', ...vars, 'os-metadata', ...args], { reject: false });
}

/** Removes what rendering left in the tree: its directory and os-apply-config's log. */
async function cleanRender(): Promise<void> {
  await rm(path.join(tree, RENDER), { recursive: true, force: true });
  await rm(path.join(tree, 'var/log/os-apply-config.log'), { force: true });
}

/** The value of `option` in `[section]` of an ini text. */
function ini(text: string, section: string, option: string): string | undefined {
  const body = text.split(/^\[/m).find((s) => s.startsWith(`${section}]`)) ?? '';
  return new RegExp(`^${option}\\s*=\\s*(.*)$`, 'm').exec(body)?.[1]?.trim();
}

describe(`TripleO golden image ${IMAGE}`, () => {
  beforeAll(async () => {
    const dir = await scratchDir(`tripleo-${IMAGE}`);
    const cache = process.env.IMGFACTORY_TRIPLEO_CACHE ?? (await cacheWithBase(path.join(dir, 'cache')));
    out = path.join(dir, 'out');
    const r = await imgfactory(['build', IMAGE, '-t', 'tar', '--json', '--cache-dir', cache, '--build-dir', path.join(dir, 'build'), '-o', out]);
    if (r.exitCode !== 0) throw new Error(`building ${IMAGE} failed:\n${r.stderr.slice(-4000)}`);
    const graph = await imgfactory(['graph', IMAGE, '--format', 'json']);
    elements = (JSON.parse(graph.stdout) as { elements: { name: string }[] }).elements.map((e) => e.name);
    tree = path.join(dir, 'tree');
    await mkdir(tree);
    await execa('tar', ['-xpf', path.join(out, `${IMAGE}.tar`), '-C', tree, '--xattrs', '--xattrs-include=*', '--numeric-owner']);
  }, BUILD_TIMEOUT);

  it('has every package its elements install', async () => {
    const r = await execa('dpkg-query', [`--admindir=${tree}/var/lib/dpkg`, '-W', '-f=${Package} ${db:Status-Abbrev}\n']);
    const installed = new Set(r.stdout.split('\n').filter((l) => / ii $/.test(l)).map((l) => l.split(' ')[0]));
    const wanted = elements.flatMap((e) => EXPECT[e]?.packages ?? []);
    expect(wanted.length).toBeGreaterThan(10);
    expect(wanted.filter((p) => !installed.has(p))).toEqual([]);
  });

  it('signs its manifest (with the local key: none was given), which lists the packages with versions; verify checks it unasked', async () => {
    const manifest = path.join(out, `${IMAGE}.manifest.json`);
    const v = await imgfactory(['verify', manifest, '--json']);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, signatureChecked: true, outputs: [`${IMAGE}.tar`] });
    const packages = (JSON.parse(await readFile(manifest, 'utf8')) as { packages: { name: string; version: string }[] }).packages;
    const listed = new Map(packages.map((p) => [p.name, p.version]));
    expect(elements.flatMap((e) => EXPECT[e]?.packages ?? []).filter((p) => !listed.has(p))).toEqual([]);
    expect(listed.get('python3-nova')).toMatch(/^2:26\./); // Zed, as bookworm ships it
  });

  it('byte-compiled every Python module its packages ship (py3compile ran beside dpkg, none lost)', async () => {
    const site = path.join(tree, 'usr/lib/python3/dist-packages');
    const modules = (await execa('find', [site, '-name', '*.py', '-type', 'f'])).stdout.split('\n').filter(Boolean);
    expect(modules.length).toBeGreaterThan(1000);
    const compiled = new Set((await execa('find', [site, '-name', '*.cpython-311.pyc'])).stdout.split('\n'));
    const missing = modules.filter((m) => !compiled.has(path.join(path.dirname(m), '__pycache__', `${path.basename(m, '.py')}.cpython-311.pyc`)));
    expect(missing).toEqual([]);
  });

  it('enables the services so they start once configuration arrives', async () => {
    const units = elements.flatMap((e) => EXPECT[e]?.units ?? []);
    const states = await Promise.all(units.map(async (u) => `${u} ${await isEnabled(u)}`));
    expect(states.filter((s) => !/ (enabled|static|alias)$/.test(s))).toEqual([]);
  });

  it('starts the services its refresh scripts restart only once the metadata is applied (no start on package defaults at first boot)', async () => {
    const refresh = path.join(tree, 'usr/libexec/os-refresh-config');
    const scripts = (await execa('find', [refresh, '-type', 'f'])).stdout.split('\n').filter(Boolean);
    const restarted = new Set<string>();
    for (const script of scripts) {
      for (const m of (await readFile(script, 'utf8')).matchAll(/os-metadata restart-if-changed (.*?) --/g)) {
        for (const unit of m[1]!.split(/\s+/)) restarted.add(unit.replace(/"/g, ''));
      }
    }
    expect(restarted.size).toBeGreaterThan(0);
    const ungated: string[] = [];
    for (const unit of restarted) {
      const dropIn = path.join(tree, 'etc/systemd/system', `${unit}.d`, '10-os-metadata-applied.conf');
      const text = (await exists(dropIn)) ? await readFile(dropIn, 'utf8') : '';
      if (!/^ConditionPathExists=\/var\/lib\/os-metadata\/applied$/m.test(text)) ungated.push(unit);
    }
    expect(ungated).toEqual([]);
    expect(await exists(path.join(tree, 'var/lib/os-metadata/applied'))).toBe(false);
  });

  it('keeps the debconf answers that configure nothing', async () => {
    const values = await debconfValues(tree);
    const wrong: string[] = [];
    for (const e of elements) {
      for (const [q, v] of Object.entries(DEBCONF[e] ?? {})) if (values.get(q) !== v) wrong.push(`${q}=${values.get(q)} (want ${v})`);
    }
    expect(wrong).toEqual([]);
  });

  it('configured nothing from the debconf answers it could not keep', async () => {
    if (elements.includes('keystone')) expect(await exists(path.join(tree, 'etc/keystone/fernet-keys'))).toBe(false);
    if (elements.includes('nova-api')) expect(await readFile(path.join(tree, 'etc/default/nova-consoleproxy'), 'utf8')).toMatch(/^NOVA_CONSOLE_PROXY_TYPE=novnc$/m);
    if (elements.includes('neutron-openvswitch-agent')) {
      expect(await readFile(path.join(tree, 'etc/neutron/plugins/ml2/openvswitch_agent.ini'), 'utf8')).not.toMatch(/^local_ip\s*=\s*127\.0\.0\.1/m);
    }
  });

  it('has the os-collect-config / os-refresh-config / os-apply-config layout', async () => {
    for (const d of ['pre-configure.d', 'configure.d', 'post-configure.d', 'migration.d']) {
      expect((await stat(path.join(tree, 'usr/libexec/os-refresh-config', d))).isDirectory()).toBe(true);
    }
    expect((await stat(path.join(tree, 'usr/libexec/os-apply-config/templates'))).isDirectory()).toBe(true);
    const applyHook = await stat(path.join(tree, 'usr/libexec/os-refresh-config/configure.d/20-os-apply-config'));
    expect(applyHook.mode & 0o111).not.toBe(0);
    expect(await readFile(path.join(tree, 'etc/os-collect-config.conf'), 'utf8')).toMatch(/^command = \/usr\/libexec\/os-collect-config\/refresh-and-signal$/m);
    expect(await readFile(path.join(tree, 'usr/libexec/os-collect-config/refresh-and-signal'), 'utf8')).toMatch(/^os-refresh-config \|\| status=\$\?$/m);
    expect(await readFile(path.join(tree, 'etc/systemd/system/os-collect-config.service'), 'utf8')).toContain('ExecStart=/usr/bin/os-collect-config');
    for (const bin of ['os-collect-config', 'os-refresh-config', 'os-apply-config']) expect(await exists(path.join(tree, 'usr/bin', bin))).toBe(true);
    expect((await stat(path.join(tree, 'usr/local/bin/os-metadata'))).mode & 0o111).not.toBe(0);
  });

  it("runs every element's schema migrations and Keystone's bootstrap before any service restarts, in the phase order of this tree's os-refresh-config", async () => {
    // Debian's os-refresh-config runs migration.d last, after post-configure.d has restarted the services.
    const phases = (await execa('chroot', [tree, 'os-refresh-config', '--print-phases'])).stdout.trim().split('\t');
    expect(phases).toContain('post-configure');
    const migrating: string[] = [];
    for (const element of await readdir(ELEMENTS)) {
      const refresh = path.join(ELEMENTS, element, 'os-refresh-config');
      if (!(await exists(refresh))) continue;
      for (const script of (await execa('find', [refresh, '-type', 'f'])).stdout.split('\n').filter(Boolean)) {
        if (/db[_ ]sync|keystone-manage bootstrap/.test(await readFile(script, 'utf8'))) migrating.push(path.relative(ELEMENTS, script));
      }
    }
    expect(migrating.length).toBeGreaterThan(0);
    const late = migrating.filter((s) => phases.indexOf(path.basename(path.dirname(s)).replace(/\.d$/, '')) >= phases.indexOf('post-configure'));
    expect(late).toEqual([]);
  });

  it("installs every element's templates and refresh scripts (executable), as tripleo-image-elements did", async () => {
    const missing: string[] = [];
    for (const e of elements) {
      for (const [dir, installed] of [['os-apply-config', 'usr/libexec/os-apply-config/templates'], ['os-refresh-config', 'usr/libexec/os-refresh-config']] as const) {
        const from = path.join(ELEMENTS, e, dir);
        if (!(await exists(from))) continue;
        for (const rel of (await execa('find', ['.', '-type', 'f'], { cwd: from })).stdout.split('\n').filter(Boolean)) {
          const at = path.join(tree, installed, rel);
          if (!(await exists(at))) missing.push(`${e}: ${path.join(installed, rel)}`);
          else if (dir === 'os-refresh-config' && ((await stat(at)).mode & 0o111) === 0) missing.push(`${e}: ${rel} not executable`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(elements.filter((e) => ['nova', 'neutron'].includes(e)).length).toBeGreaterThan(0);
  });

  it('carries no host keys, machine-id, apt lists, caches, logs or build-time secrets', async () => {
    expect((await readdir(path.join(tree, 'etc/ssh'))).filter((f) => f.startsWith('ssh_host_'))).toEqual([]);
    expect(await readFile(path.join(tree, 'etc/machine-id'), 'utf8')).toBe('');
    expect(await exists(path.join(tree, 'var/lib/dbus/machine-id'))).toBe(false);
    expect((await readdir(path.join(tree, 'var/lib/apt/lists'))).filter((f) => f !== 'partial' && f !== 'lock')).toEqual([]);
    expect((await readdir(path.join(tree, 'var/cache/apt/archives'))).filter((f) => f.endsWith('.deb'))).toEqual([]);
    const logs = await execa('find', [path.join(tree, 'var/log'), '-type', 'f', '-size', '+0']);
    expect(logs.stdout).toBe('');
    expect(await exists(path.join(tree, 'var/lib/rabbitmq/.erlang.cookie'))).toBe(false);
    expect(await exists(path.join(tree, 'etc/ssl/private/ssl-cert-snakeoil.key'))).toBe(false);
    expect(await exists(path.join(tree, 'usr/sbin/policy-rc.d'))).toBe(false);
    expect(await exists(path.join(tree, 'var/lib/systemd/random-seed'))).toBe(false);
    expect((await readdir(path.join(tree, 'var/lib/cloud')).catch(() => [])).length).toBe(0);
  });

  it('names no machine: hostname, hosts, resolver, my_ip', async () => {
    expect(await readFile(path.join(tree, 'etc/hostname'), 'utf8')).toBe('localhost\n');
    expect(await readFile(path.join(tree, 'etc/hosts'), 'utf8')).not.toMatch(/imgfactory/);
    expect(await exists(path.join(tree, 'etc/resolv.conf'))).toBe(false);
    for (const conf of ['etc/nova/nova.conf', 'etc/cinder/cinder.conf']) {
      if (await exists(path.join(tree, conf))) expect(await readFile(path.join(tree, conf), 'utf8')).not.toMatch(/^\s*my_ip\s*=/m);
    }
  });

  it('sets the base system: locale, UTC, apt without recommends, sysctl, DHCP everywhere, the stack user', async () => {
    expect(await readFile(path.join(tree, 'etc/default/locale'), 'utf8')).toBe('LANG=C.UTF-8\n');
    const locales = await execa('chroot', [tree, 'locale', '-a']);
    expect(locales.stdout).toMatch(/^en_US\.utf8$/m);
    expect(await readFile(path.join(tree, 'etc/timezone'), 'utf8')).toBe('Etc/UTC\n');
    expect((await execa('readlink', [path.join(tree, 'etc/localtime')])).stdout).toBe('/usr/share/zoneinfo/Etc/UTC');
    expect(await readFile(path.join(tree, 'etc/apt/apt.conf.d/00imgfactory-base'), 'utf8')).toContain('APT::Install-Recommends "false";');
    const sysctl = await readFile(path.join(tree, 'etc/sysctl.d/90-imgfactory.conf'), 'utf8');
    expect(sysctl).toMatch(/^net\.ipv4\.ip_forward = 1$/m);
    expect(sysctl.match(/^net\.ipv4\.ip_forward/gm)).toHaveLength(1);
    expect(await readFile(path.join(tree, 'etc/systemd/network/99-dhcp-all-interfaces.network'), 'utf8')).toMatch(/^Name=en\* eth\*$/m);
    expect(await readFile(path.join(tree, 'etc/passwd'), 'utf8')).toMatch(/^stack:x:\d+:\d+:[^:]*:\/home\/stack:\/bin\/bash$/m);
    expect(await readFile(path.join(tree, 'etc/shadow'), 'utf8')).toMatch(/^stack:!/m);
    expect(await readFile(path.join(tree, 'etc/sudoers.d/stack'), 'utf8')).toBe('stack ALL=(ALL) NOPASSWD:ALL\n');
  });

  describe('os-collect-config, run in the tree', () => {
    /** Runs `args` chrooted into the tree; its output. */
    const inTree = async (args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> =>
      execa('chroot', [tree, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...args]);
    const scratch = (): Promise<string> => mkdtemp(path.join(tree, 'tmp', 'occ-'));
    const inside = (p: string): string => `/${path.relative(tree, p)}`;

    it('has its configuration rendered from its own template: the same bytes without metadata, Heat\'s collector settings (root only) with', async () => {
      const dir = await scratch();
      await writeFile(path.join(dir, 'empty.json'), '{}');
      await writeFile(
        path.join(dir, 'heat.json'),
        JSON.stringify({
          'os-collect-config': {
            collectors: ['ec2', 'heat', 'local'],
            polling_interval: 10,
            heat: { auth_url: 'http://192.0.2.1:5000/v3', user_id: 'u1', password: 'pw1', project_id: 'p1', stack_id: 'overcloud/1', resource_name: 'Controller' },
          },
        }),
      );
      const render = (metadata: string, out: string) => inTree(['os-apply-config', '--templates', '/usr/libexec/os-apply-config/templates', '--metadata', inside(path.join(dir, metadata)), '--output', inside(path.join(dir, out))]);
      await render('empty.json', 'plain');
      expect(await readFile(path.join(dir, 'plain/etc/os-collect-config.conf'), 'utf8')).toBe(await readFile(path.join(tree, 'etc/os-collect-config.conf'), 'utf8'));
      expect(await readFile(path.join(tree, 'etc/os-collect-config.conf'), 'utf8')).toMatch(/^collectors = ec2\ncollectors = heat_local\ncollectors = cfn\ncollectors = heat\ncollectors = request\ncollectors = local$/m);
      await render('heat.json', 'heat');
      const conf = path.join(dir, 'heat/etc/os-collect-config.conf');
      expect(await readFile(conf, 'utf8')).toMatch(/^collectors = ec2\ncollectors = heat\ncollectors = local\npolling_interval = 10\n\n\[heat\]\nauth_url = http:\/\/192\.0\.2\.1:5000\/v3\nuser_id = u1\npassword = pw1\nproject_id = p1\nstack_id = overcloud\/1\nresource_name = Controller$/m);
      expect((await stat(conf)).mode & 0o777).toBe(0o600);
      expect((await stat(path.join(tree, 'etc/os-collect-config.conf'))).mode & 0o777).toBe(0o600);
    });

    it('collects the local source (JSON files in /var/lib/os-collect-config/local-data) and hands them to its command', async () => {
      const dir = await scratch();
      const local = path.join(tree, 'var/lib/os-collect-config/local-data');
      expect((await stat(local)).mode & 0o777).toBe(0o700);
      await writeFile(path.join(local, 'node'), JSON.stringify({ nova: { compute_host: 'c1' } }), { mode: 0o600 });
      await writeFile(path.join(dir, 'record'), `#!/bin/sh\nfor f in $(echo "$OS_CONFIG_FILES" | tr : ' '); do cat "$f"; done > ${inside(dir)}/collected\n`, { mode: 0o755 });
      try {
        await inTree(['os-collect-config', '--one-time', '--command', `${inside(dir)}/record`, 'local']);
        expect(JSON.parse(await readFile(path.join(dir, 'collected'), 'utf8'))).toEqual({ nova: { compute_host: 'c1' } });
      } finally {
        await execa('sh', ['-c', `rm -rf "${local}"/* "${tree}"/var/lib/os-collect-config/*.json*`]);
      }
    });

    it('refreshes again only when what the node would apply changed: a new source saying the same (the request collector at first boot) is no change', async () => {
      const dir = await scratch();
      await mkdir(path.join(dir, 'bin'));
      // os-refresh-config's stand-in records each run and exits with the status the test gives.
      await writeFile(path.join(dir, 'bin', 'os-refresh-config'), `#!/bin/sh\necho run >> ${inside(dir)}/runs\nexit "$(cat ${inside(dir)}/status 2>/dev/null || echo 0)"\n`, { mode: 0o755 });
      const metadata = { 'instance-id': 'i-1', keystone: { host: '192.0.2.10' } };
      await writeFile(path.join(dir, 'ec2.json'), JSON.stringify(metadata));
      await writeFile(path.join(dir, 'request.json'), JSON.stringify(metadata));
      const refresh = (files: string[]) =>
        execa('chroot', [tree, 'env', `PATH=${inside(dir)}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, `OS_CONFIG_FILES=${files.map((f) => inside(path.join(dir, f))).join(':')}`, `OS_METADATA_STATE=${inside(dir)}/state`, `OS_COLLECT_CONFIG_SIGNALLED=${inside(dir)}/signalled`, '/usr/libexec/os-collect-config/refresh-and-signal'], { reject: false });
      const runs = async (): Promise<number> => (await readFile(path.join(dir, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
      expect((await refresh(['ec2.json'])).exitCode).toBe(0);
      expect(await runs()).toBe(1);
      const same = await refresh(['ec2.json', 'request.json']);
      expect(same.exitCode).toBe(0);
      expect(same.stdout).toContain('the metadata to apply is what the last successful refresh applied; not refreshing again');
      expect(await runs()).toBe(1);
      // A changed value is applied; a refresh that failed is tried again with the same metadata.
      await writeFile(path.join(dir, 'request.json'), JSON.stringify({ ...metadata, keystone: { host: '192.0.2.11' } }));
      await writeFile(path.join(dir, 'status'), '3');
      // A failed refresh says how full the root filesystem is and which units are not up (systemd's stand-in names one).
      await writeFile(path.join(dir, 'bin', 'systemctl'), '#!/bin/sh\necho "keystone.service loaded activating start OpenStack Keystone"\n', { mode: 0o755 });
      const failed = await refresh(['ec2.json', 'request.json']);
      expect(failed.exitCode).toBe(3);
      expect(failed.stdout).toMatch(/^refresh-and-signal: root filesystem \S+, \S+ free \(\d+% used\)$/m);
      expect(failed.stdout).toContain('refresh-and-signal: units failed or not up yet: keystone.service (activating/start)');
      await rm(path.join(dir, 'status'));
      expect((await refresh(['ec2.json', 'request.json'])).exitCode).toBe(0);
      expect(await runs()).toBe(3);
    });

    it('signals Heat as its wait conditions and software deployments expect: once per outcome, never printing a URL', async () => {
      const dir = await scratch();
      const got: string[] = [];
      const server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          got.push(`${req.method} ${req.url} ${body}`);
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const deployment = (id: string, group: string, inputs: Record<string, string>) => ({ id, name: `Deployment-${id}`, group, config: {}, inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })) });
      await writeFile(
        path.join(dir, 'metadata.json'),
        JSON.stringify({
          'instance-id': 'i-1',
          'completion-handle': `${base}/handle?Signature=sig-handle`,
          deployments: [
            deployment('d1', 'os-apply-config', { deploy_signal_transport: 'TEMP_URL_SIGNAL', deploy_signal_id: `${base}/d1?temp_url_sig=sig-d1` }),
            deployment('d2', 'Heat::Ungrouped', { deploy_signal_transport: 'CFN_SIGNAL', deploy_signal_id: `${base}/d2?Signature=sig-d2` }),
            deployment('d3', 'script', { deploy_signal_id: `${base}/d3` }), // a heat-config hook's, not os-collect-config's
          ],
        }),
      );
      const signal = (status: string) => inTree(['/usr/libexec/os-collect-config/signal-heat', status, `refresh ${status}`], { OS_CONFIG_FILES: inside(path.join(dir, 'metadata.json')), OS_COLLECT_CONFIG_SIGNALLED: inside(path.join(dir, 'signalled')) });
      try {
        const first = await signal('SUCCESS');
        expect(got.sort()).toEqual([
          'POST /d2?Signature=sig-d2 {"deploy_status_code": 0, "deploy_stdout": "refresh SUCCESS", "deploy_stderr": ""}',
          'PUT /d1?temp_url_sig=sig-d1 {"deploy_status_code": 0, "deploy_stdout": "refresh SUCCESS", "deploy_stderr": ""}',
          'PUT /handle?Signature=sig-handle {"Status": "SUCCESS", "Reason": "refresh SUCCESS", "UniqueId": "i-1", "Data": "refresh SUCCESS"}',
        ]);
        expect(first.stderr).not.toMatch(/sig-/);
        got.length = 0;
        await signal('SUCCESS');
        expect(got).toEqual([]);
        await signal('FAILURE');
        expect(got.sort()).toEqual([
          'POST /d2?Signature=sig-d2 {"deploy_status_code": 1, "deploy_stdout": "", "deploy_stderr": "refresh FAILURE"}',
          'PUT /d1?temp_url_sig=sig-d1 {"deploy_status_code": 1, "deploy_stdout": "", "deploy_stderr": "refresh FAILURE"}',
          'PUT /handle?Signature=sig-handle {"Status": "FAILURE", "Reason": "refresh FAILURE", "UniqueId": "i-1", "Data": "refresh FAILURE"}',
        ]);
        got.length = 0;
        server.close();
        const unreachable = await execa('chroot', [tree, 'env', `OS_CONFIG_FILES=${inside(path.join(dir, 'metadata.json'))}`, `OS_COLLECT_CONFIG_SIGNALLED=${inside(path.join(dir, 'signalled'))}`, '/usr/libexec/os-collect-config/signal-heat', 'SUCCESS'], { reject: false });
        expect(unreachable.exitCode).toBe(1);
        expect(unreachable.stderr).toMatch(/completion-handle not signalled: ConnectionError/);
        expect(unreachable.stderr).not.toMatch(/sig-/);
      } finally {
        server.close();
      }
    });
  });

  it('holds no Fernet or credential keys, no database and no secret in its configuration before first boot', async () => {
    for (const keys of ['etc/keystone/fernet-keys', 'etc/keystone/credential-keys']) expect(await exists(path.join(tree, keys))).toBe(false);
    const databases = await execa('find', [path.join(tree, 'var/lib'), '-type', 'f', '(', '-path', '*/var/lib/mysql/*', '-o', '-name', '*.sqlite', '-o', '-name', '*.sqlite3', ')']);
    expect(databases.stdout).toBe('');
    const configs = (await execa('find', [path.join(tree, 'etc'), '-type', 'f', '-size', '-1M'])).stdout.split('\n').filter(Boolean);
    const secrets: string[] = [];
    for (const file of configs) {
      const line = SECRET_LINE.exec(await readFile(file, 'latin1'));
      if (line) secrets.push(`${path.relative(tree, file)}: ${line[0].trim()}`);
    }
    expect(secrets).toEqual([]);
  });

  it('ships templates that name metadata keys, never values', async () => {
    const templates = path.join(tree, 'usr/libexec/os-apply-config/templates');
    const files = (await execa('find', [templates, '-type', 'f', '!', '-name', '*.oac'])).stdout.split('\n').filter(Boolean);
    expect(files.map((f) => path.relative(templates, f))).toEqual(expect.arrayContaining(['etc/nova/nova.conf', 'etc/neutron/neutron.conf']));
    const valued: string[] = [];
    for (const file of files) {
      for (const line of (await readFile(file, 'utf8')).split('\n')) {
        // A key rendered as the whole value, bare or quoted (Horizon's Python: SECRET_KEY = "{{horizon.secret_key}}").
        if (SECRET_LINE.test(line) && !/=\s*(["']?)\{\{[^}]+\}\}\1\s*$/.test(line) && !/:\/\/\{\{/.test(line)) valued.push(`${path.relative(templates, file)}: ${line}`);
      }
    }
    expect(valued).toEqual([]);
  });

  it('renders the metadata into nova.conf and the Open vSwitch agent, pointing them at the controller it names', async () => {
    try {
      const r = await render(['overcloud.json', 'compute-node.json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const nova = await r.read('/etc/nova/nova.conf');
      expect(ini(nova, 'DEFAULT', 'transport_url')).toBe('rabbit://openstack:test-rabbit-password@192.0.2.10:5672/');
      expect(ini(nova, 'DEFAULT', 'my_ip')).toBe('192.0.2.21');
      expect(ini(nova, 'glance', 'api_servers')).toBe('http://192.0.2.10:9292');
      expect(ini(nova, 'keystone_authtoken', 'auth_url')).toBe('http://192.0.2.10:5000/');
      expect(ini(nova, 'keystone_authtoken', 'password')).toBe('test-nova-password');
      expect(ini(nova, 'placement', 'auth_url')).toBe('http://192.0.2.10:5000/v3');
      expect(ini(nova, 'placement', 'password')).toBe('test-placement-password');
      expect(ini(nova, 'neutron', 'password')).toBe('test-neutron-password');
      expect(ini(nova, 'vnc', 'novncproxy_base_url')).toBe('http://192.0.2.10:6080/vnc_auto.html');
      expect(ini(nova, 'database', 'connection')).toBe('mysql+pymysql://nova:test-nova-db@127.0.0.1/nova');
      // `workers`, unset in the metadata: the node's CPU count, at most 8 (os-metadata's node facts).
      expect(ini(nova, 'conductor', 'workers')).toBe(String(Math.min(cpus().length, 8)));
      expect(((await r.stat('/etc/nova/nova.conf')).mode & 0o777).toString(8)).toBe('640');
      if (elements.includes('nova-kvm')) {
        const compute = await r.read('/etc/nova/nova-compute.conf');
        expect(ini(compute, 'DEFAULT', 'compute_driver')).toBe('libvirt.LibvirtDriver');
        expect(ini(compute, 'libvirt', 'virt_type')).toBe('qemu');
      }
      expect(ini(await r.read('/etc/neutron/neutron.conf'), 'DEFAULT', 'transport_url')).toBe('rabbit://openstack:test-rabbit-password@192.0.2.10:5672/');
      const ovs = await r.read('/etc/neutron/plugins/ml2/openvswitch_agent.ini');
      expect(ini(ovs, 'ovs', 'local_ip')).toBe('192.0.2.21');
      expect(ini(ovs, 'agent', 'tunnel_types')).toBe('vxlan');
      expect((await r.stat('/var/lib/os-metadata/applied')).isFile()).toBe(true);
    } finally {
      await cleanRender();
    }
  });

  it('sets every API and worker pool to `workers` from the metadata, a uWSGI ini in place (rewritten only when that changes it)', async () => {
    try {
      const r = await render(['overcloud.json', 'compute-node.json', { workers: 1 }]);
      expect(r.exitCode, r.stderr).toBe(0);
      const nova = await r.read('/etc/nova/nova.conf');
      expect([ini(nova, 'conductor', 'workers'), ini(nova, 'scheduler', 'workers')]).toEqual(['1', '1']);
      expect(ini(await r.read('/etc/neutron/neutron.conf'), 'DEFAULT', 'rpc_workers')).toBe('1');
      // A package's uWSGI ini (Debian's start 8 processes): only its processes line changes.
      const ini8 = path.join(tree, RENDER, 'api-uwsgi.ini');
      const debian = '[uwsgi]\nmaster = true\nprocesses = 8\nthreads = 32\n';
      await writeFile(ini8, debian, { mode: 0o644 });
      const set = await osMetadata(['uwsgi-processes', `/${RENDER}/api-uwsgi.ini`], ['overcloud.json', { workers: 1 }]);
      expect(set.exitCode, set.stderr).toBe(0);
      expect(await readFile(ini8, 'utf8')).toBe(debian.replace('processes = 8', 'processes = 1'));
      expect((await stat(ini8)).mode & 0o777).toBe(0o644);
      const inode = (await stat(ini8)).ino;
      await osMetadata(['uwsgi-processes', `/${RENDER}/api-uwsgi.ini`], ['overcloud.json', { workers: 1 }]);
      expect((await stat(ini8)).ino).toBe(inode);
      const bad = await osMetadata(['uwsgi-processes', `/${RENDER}/api-uwsgi.ini`], ['overcloud.json', { workers: 'many' }]);
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toContain('os-metadata: workers must be a whole number of at least 1, not "many"');
      // `check` (and so `apply`) refuses it before anything is rendered: "workers = many" in nova.conf would fail nova at start.
      await rm(path.join(tree, RENDER, 'out'), { recursive: true, force: true });
      const refused = await render(['overcloud.json', 'compute-node.json', { workers: 'many' }]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('os-metadata: workers must be a whole number of at least 1, not "many"; see docs/metadata.md');
      await expect(refused.stat('/etc/nova/nova.conf')).rejects.toThrow(/ENOENT/);
    } finally {
      await cleanRender();
    }
  });

  it('fails before writing anything when a required key is missing, naming the key and the files that need it', async () => {
    try {
      const r = await render(['compute-node.json']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^os-metadata: required metadata key 'rabbit\.password' is missing \(needed by [^)]*\/etc\/nova\/nova\.conf[^)]*\); see docs\/metadata\.md$/m);
      expect(r.stderr).toContain("required metadata key 'keystone.host' is missing");
      expect(await readdir(path.join(tree, RENDER, 'out'))).toEqual([]);
    } finally {
      await cleanRender();
    }
  });

  it("renders the undercloud's ironic.conf and nova-compute.conf from the same metadata, with this tree's os-apply-config", async () => {
    // As the os-apply-config and os-refresh-config elements install them: every element's directories, in build order.
    const templates = path.join(tree, RENDER, 'undercloud/templates');
    const refresh = path.join(tree, RENDER, 'undercloud/refresh');
    try {
      for (const e of await imageElements('undercloud')) {
        for (const [dir, to] of [['os-apply-config', templates], ['os-refresh-config', refresh]] as const) {
          // Not the .oac files: they name the undercloud services' groups, which this tree does not have.
          if (await exists(path.join(ELEMENTS, e, dir))) await cp(path.join(ELEMENTS, e, dir), to, { recursive: true, filter: (f) => !f.endsWith('.oac') });
        }
      }
      const r = await render(['overcloud.json'], { OS_CONFIG_APPLIER_TEMPLATES: `/${RENDER}/undercloud/templates`, OS_REFRESH_CONFIG_BASE_DIR: `/${RENDER}/undercloud/refresh` });
      expect(r.exitCode, r.stderr).toBe(0);
      const ironic = await r.read('/etc/ironic/ironic.conf');
      expect(ini(ironic, 'DEFAULT', 'transport_url')).toBe('rabbit://openstack:test-rabbit-password@192.0.2.10:5672/');
      expect(ini(ironic, 'DEFAULT', 'enabled_hardware_types')).toBe('ipmi');
      expect(ini(ironic, 'database', 'connection')).toBe('mysql+pymysql://ironic:test-ironic-db@127.0.0.1/ironic');
      expect(ini(ironic, 'keystone_authtoken', 'www_authenticate_uri')).toBe('http://192.0.2.10:5000/');
      expect(ini(ironic, 'keystone_authtoken', 'password')).toBe('test-ironic-password');
      expect(ini(ironic, 'glance', 'username')).toBe('ironic');
      const compute = await r.read('/etc/nova/nova-compute.conf');
      expect(ini(compute, 'DEFAULT', 'compute_driver')).toBe('ironic.IronicDriver');
      expect(ini(compute, 'ironic', 'password')).toBe('test-ironic-password');
      expect(ini(await r.read('/etc/keystone/keystone.conf'), 'database', 'connection')).toBe('mysql+pymysql://keystone:test-keystone-db@127.0.0.1/keystone');
      // The undercloud's refresh scripts need keys the compute node does not: without them the check names them.
      const bare = await render(['compute-node.json'], { OS_CONFIG_APPLIER_TEMPLATES: `/${RENDER}/undercloud/templates`, OS_REFRESH_CONFIG_BASE_DIR: `/${RENDER}/undercloud/refresh` });
      expect(bare.exitCode).toBe(1);
      expect(bare.stderr).toContain("required metadata key 'ironic.db' is missing (needed by /etc/ironic/ironic.conf)");
      expect(bare.stderr).toContain("required metadata key 'admin-password' is missing (needed by /tmp/imgfactory-render/undercloud/refresh/configure.d/50-keystone)");
    } finally {
      await cleanRender();
    }
  });

  it('names the databases to create, with cell0, and tells the bootstrap node from the others', async () => {
    try {
      const dbs = await osMetadata(['databases'], ['overcloud.json']);
      expect(dbs.exitCode, dbs.stderr).toBe(0);
      expect(dbs.stdout.split('\n')).toEqual(expect.arrayContaining(['keystone keystone test-keystone-db', 'nova nova test-nova-db', 'nova_cell0 nova test-nova-db', 'nova_api nova test-nova-db']));
      expect((await osMetadata(['is-bootstrap'], ['overcloud.json'])).exitCode).toBe(0);
      expect((await osMetadata(['is-bootstrap'], ['overcloud.json', { bootstrap_host: { nodeid: 'b', bootstrap_nodeid: 'a' } }])).exitCode).toBe(1);
      expect((await osMetadata(['is-bootstrap'], ['overcloud.json', { bootstrap_host: { nodeid: 'a', bootstrap_nodeid: 'a' } }])).exitCode).toBe(0);
      const get = await osMetadata(['get', 'rabbit.username'], ['overcloud.json']);
      expect(get.stdout).toBe('openstack');
      const missing = await osMetadata(['get', 'heat.nothing'], ['overcloud.json']);
      expect([missing.exitCode, missing.stderr]).toEqual([1, "os-metadata: required metadata key 'heat.nothing' is missing; see docs/metadata.md"]);
    } finally {
      await cleanRender();
    }
  });
});
