import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/run.ts';
import { repoRoot, tempDir } from '../helpers/tmp.ts';
import { watchNames } from './name-watcher.ts';

// `<weft> --weft-install`, the install image's entrypoint, run from the
// x64 tarball against a folder standing for a node's /opt/cni/bin.

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const tarball = path.join(repoRoot, 'dist', 'packages', `weft-${version}-linux-x64.tar.gz`);
const NAMES = ['bridge', 'cnitool', 'flannel', 'host-local'];
const CONFLIST = path.join(repoRoot, 'conf', 'linux', '10-flannel.conflist');

let unpacked: string;
let installer: string;
beforeAll(() => {
  unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-installer-'));
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  installer = path.join(unpacked, `weft-${version}-linux-x64`, 'bin', 'flannel');
});
afterAll(() => fs.rmSync(unpacked, { recursive: true, force: true }));

const install = (...args: string[]) => run(installer, ['--weft-install', ...args], { env: {} });
const ino = (f: string) => fs.statSync(f).ino;
const listing = (dir: string) => fs.readdirSync(dir).sort();

describe('weft --weft-install', () => {
  it('installs every name as hard links of one new file with its code cache, keeping other packages\' plugins as .distrib', async () => {
    const bin = tempDir('weft-cnibin-');
    fs.copyFileSync('/usr/lib/cni/bridge', path.join(bin, 'bridge'));
    fs.copyFileSync('/usr/lib/cni/portmap', path.join(bin, 'portmap'));
    const r = await install('--bin-dir', bin);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const inodes = new Set(NAMES.map((n) => ino(path.join(bin, n))));
    expect(inodes.size).toBe(1);
    expect(inodes.has(ino(installer))).toBe(false);
    expect(fs.readFileSync(path.join(bin, 'bridge.distrib')).equals(fs.readFileSync('/usr/lib/cni/bridge'))).toBe(true);
    expect(fs.readFileSync(path.join(bin, 'portmap')).equals(fs.readFileSync('/usr/lib/cni/portmap'))).toBe(true);
    const caches = listing(bin).filter((f) => /^weft-[0-9a-f]{16}\.codecache$/.test(f));
    expect(caches).toHaveLength(1);
    expect(listing(bin).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(r.stderr).toContain('kept the existing bridge as bridge.distrib');
    const v = await run(path.join(bin, 'host-local'), [], { env: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"1.0.0"}' });
    expect(JSON.parse(v.stdout).cniVersion).toBe('1.1.0');

    // Run again (an upgrade): its own files are not taken for another package's, the kept original stays.
    const again = await install('--bin-dir', bin);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('kept');
    expect(fs.readFileSync(path.join(bin, 'bridge.distrib')).equals(fs.readFileSync('/usr/lib/cni/bridge'))).toBe(true);
    expect(listing(bin).filter((f) => f.endsWith('.distrib'))).toEqual(['bridge.distrib']);
  });

  it('never leaves a name missing or half-written while it upgrades', async () => {
    const bin = tempDir('weft-cnibin-');
    expect((await install('--bin-dir', bin)).code).toBe(0);
    const size = fs.statSync(installer).size;
    const watcher = await watchNames(bin, NAMES, size);
    for (let i = 0; i < 3; i++) expect((await install('--bin-dir', bin)).code).toBe(0);
    const report = await watcher.stop();
    expect({ missing: report.missing, partial: report.partial }).toEqual({ missing: 0, partial: 0 });
    expect(report.looks).toBeGreaterThan(1000);
    // The names went through new files (inode numbers of freed files may come back, so at least two).
    expect(report.inodes).toBeGreaterThanOrEqual(2);
  });

  it('writes the conflist when absent, leaves a different one alone unless --overwrite-conf', async () => {
    const bin = tempDir('weft-cnibin-');
    const confDir = path.join(tempDir('weft-netd-'), 'net.d');
    const dest = path.join(confDir, '10-flannel.conflist');
    const first = await install('--bin-dir', bin, '--conf', CONFLIST, '--conf-dir', confDir);
    expect(first.code, first.stderr).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe(fs.readFileSync(CONFLIST, 'utf8'));
    expect(fs.statSync(dest).mode & 0o777).toBe(0o644);

    fs.writeFileSync(dest, '{"name":"cbr0","cniVersion":"1.0.0","plugins":[{"type":"flannel"}]}');
    const kept = await install('--bin-dir', bin, '--conf', CONFLIST, '--conf-dir', confDir);
    expect(kept.code).toBe(0);
    expect(kept.stderr).toContain(`${dest} exists and differs; left alone`);
    expect(fs.readFileSync(dest, 'utf8')).toContain('"1.0.0"');

    const replaced = await install('--bin-dir', bin, '--conf', CONFLIST, '--conf-dir', confDir, '--overwrite-conf');
    expect(replaced.code).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe(fs.readFileSync(CONFLIST, 'utf8'));
    expect((await install('--bin-dir', bin, '--conf', CONFLIST, '--conf-dir', confDir)).stderr).toContain('is up to date');
    expect(listing(confDir)).toEqual(['10-flannel.conflist']);
  });

  it('refuses a conf that is not a CNI configuration before changing anything', async () => {
    const bin = tempDir('weft-cnibin-');
    const dir = tempDir('weft-conf-');
    const cases: Array<[string, string]> = [
      ['not json {', 'is not JSON'],
      ['{"cniVersion":"1.0.0","plugins":[{"type":"flannel"}]}', 'no network "name"'],
      ['{"name":"cbr0","plugins":[]}', 'neither a "type" nor a non-empty "plugins" list'],
    ];
    for (const [text, words] of cases) {
      const conf = path.join(dir, 'cni-conf.json');
      fs.writeFileSync(conf, text);
      const r = await install('--bin-dir', bin, '--conf', conf, '--conf-dir', path.join(dir, 'net.d'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`weft-install: --conf ${conf}`);
      expect(r.stderr).toContain(words);
      expect(r.stdout).toBe('');
    }
    expect(listing(bin)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'net.d'))).toBe(false);
  });

  it('--restore puts other packages\' plugins back and unlinks its own names, so a later cp -f changes one name only', async () => {
    const bin = tempDir('weft-cnibin-');
    for (const p of ['bridge', 'host-local', 'portmap']) fs.copyFileSync(`/usr/lib/cni/${p}`, path.join(bin, p));
    expect((await install('--bin-dir', bin)).code).toBe(0);
    const r = await install('--restore', '--bin-dir', bin);
    expect(r.code, r.stderr).toBe(0);
    for (const p of ['bridge', 'host-local', 'portmap']) expect(fs.readFileSync(path.join(bin, p)).equals(fs.readFileSync(`/usr/lib/cni/${p}`)), p).toBe(true);
    expect(listing(bin).filter((f) => f.endsWith('.distrib') || f.startsWith('.'))).toEqual([]);
    expect(fs.statSync(path.join(bin, 'flannel')).nlink).toBe(1);
    expect(fs.statSync(path.join(bin, 'cnitool')).nlink).toBe(1);
    // kube-flannel's install-cni-plugin: cp -f writes into the existing file.
    execFileSync('cp', ['-f', '/usr/lib/cni/loopback', path.join(bin, 'flannel')]);
    const v = await run(path.join(bin, 'cnitool'), [], { env: { CNI_COMMAND: 'VERSION' } });
    expect(v.code).toBe(0);
    expect(fs.readFileSync(path.join(bin, 'bridge')).equals(fs.readFileSync('/usr/lib/cni/bridge'))).toBe(true);

    const again = await install('--restore', '--bin-dir', bin);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('weft installed nothing here');
  });

  it('names a bad argument and prints its usage on stderr', async () => {
    for (const [args, words] of [
      [['--bin-dir'], '--bin-dir needs a value'],
      [['--frobnicate'], 'unknown argument "--frobnicate"'],
      [['--conf-name', '../x.conflist'], '--conf-name must be a file name'],
    ] as const) {
      const r = await install(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(words);
      expect(r.stderr).toContain('usage: <weft> --weft-install');
      expect(r.stdout).toBe('');
    }
  });
});
