import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { PWSH } from '../../scripts/test-deps.mjs';
import { run } from '../helpers/run.ts';
import { repoRoot, tempDir, writeScript } from '../helpers/tmp.ts';
import { watchNames } from './name-watcher.ts';
import { readZip } from './zip-reader.ts';

// The install.ps1 the Windows zip ships, run by real PowerShell 7 on Linux
// from the unpacked zip. What this proves: the order of the steps, the swap
// (a hard link of the complete new file renamed over each name with
// File.Replace, the old file renamed aside and removed), that no name is
// ever missing or partial while it upgrades, the icacls commands it gives,
// the conf rules. What it cannot: Windows itself. .NET's File.Replace is
// link+rename on Linux and ReplaceFileW on Windows; icacls is a recording
// stand-in here (its real effect on an NTFS ACL is not exercised); a running
// .exe that cannot be deleted does not exist on Linux; and #Requires
// -RunAsAdministrator is only read from the script, the tests run as root.
// weft.exe is replaced by the Linux executable so that its code-cache step
// really runs.

const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const zip = path.join(repoRoot, 'dist', 'packages', `weft-${version}-windows-x64.zip`);
const linuxExe = path.join(repoRoot, 'dist', 'sea', 'weft');
const NAMES = ['flannel', 'host-local', 'win-bridge', 'win-overlay', 'cnitool'].map((n) => `${n}.exe`);

let root: string;
let unpacked: string;
let stubs: string;
let icaclsLog: string;
let binDir: string;
let confDir: string;

beforeEach(() => {
  root = tempDir('weft-wininst-');
  unpacked = path.join(root, 'weft');
  for (const e of readZip(zip)) {
    const to = path.join(unpacked, e.name);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(to, e.data);
  }
  fs.copyFileSync(linuxExe, path.join(unpacked, 'weft.exe'));
  fs.chmodSync(path.join(unpacked, 'weft.exe'), 0o755);
  stubs = path.join(root, 'stubs');
  fs.mkdirSync(stubs);
  icaclsLog = path.join(root, 'icacls.log');
  // icacls.exe stand-in: records each call's arguments, one call a line, exits with $ICACLS_EXIT.
  writeScript(path.join(stubs, 'icacls.exe'), `printf '%s|' "$@" >> '${icaclsLog}'; echo >> '${icaclsLog}'; exit "\${ICACLS_EXIT:-0}"`);
  binDir = path.join(root, 'C', 'opt', 'cni', 'bin');
  confDir = path.join(root, 'C', 'etc', 'cni', 'net.d');
  fs.mkdirSync(path.join(root, 'C'));
});

const install = (args: string[] = [], env: Record<string, string> = {}) =>
  run(PWSH, ['-NoProfile', '-NonInteractive', '-File', path.join(unpacked, 'install.ps1'), '-CniBinDir', binDir, '-CniConfDir', confDir, ...args], {
    env: { PATH: `${stubs}:${process.env.PATH}`, HOME: process.env.HOME, DOTNET_CLI_TELEMETRY_OPTOUT: '1', NO_COLOR: '1', TERM: 'dumb', ...env },
  });
/** Everything the script said, as one line of plain text. */
const said = (r: { stdout: string; stderr: string }) => `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '').replace(/\s*\n\s*/g, ' ');
const icaclsCalls = () => fs.readFileSync(icaclsLog, 'utf8').trim().split('\n').map((l) => l.replace(/\|$/, '').split('|'));
const leftovers = () => fs.readdirSync(binDir).filter((f) => /\.weft-(old|new|staged)-/.test(f));

describe('install.ps1 (the shipped script, under pwsh)', () => {
  it('gives the one executable all five names as hard links, with the HNS script and the code cache', async () => {
    const r = await install();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`weft installed in ${binDir}`);
    const inodes = new Set(NAMES.map((n) => fs.statSync(path.join(binDir, n)).ino));
    expect(inodes.size).toBe(1);
    expect(fs.statSync(path.join(binDir, 'flannel.exe')).nlink).toBe(5);
    expect(fs.readFileSync(path.join(binDir, 'weft-hns.ps1'))).toEqual(fs.readFileSync(path.join(unpacked, 'weft-hns.ps1')));
    expect(fs.readdirSync(binDir).filter((f) => f.endsWith('.codecache'))).toHaveLength(1);
    expect(fs.existsSync(path.join(binDir, 'install.ps1'))).toBe(false);
    expect(leftovers()).toEqual([]);
    expect(fs.existsSync(confDir)).toBe(false);
  });

  it('locks every folder it creates to SYSTEM and Administrators before putting anything in it', async () => {
    expect((await install(['-WriteConf', 'vxlan'])).code).toBe(0);
    const protect = (dir: string) => [
      [dir, '/setowner', '*S-1-5-32-544', '/T', '/C', '/Q'],
      [dir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F', '*S-1-5-32-545:(OI)(CI)RX', '/Q'],
    ];
    const created = (leaf: string) => [path.dirname(path.dirname(leaf)), path.dirname(leaf), leaf];
    expect(icaclsCalls()).toEqual([...created(binDir).flatMap(protect), ...created(confDir).flatMap(protect)]);
  });

  it('installs nothing when the ACL cannot be set, and says which folder', async () => {
    const r = await install([], { ICACLS_EXIT: '5' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`install.ps1: icacls could not make Administrators the owner of ${path.join(root, 'C', 'opt')} (exit code 5)`);
    expect(fs.readdirSync(binDir)).toEqual([]);
  });

  it('upgrades on a live node: no name is ever missing or partial, old files go, another run cleans up', async () => {
    expect((await install()).code).toBe(0);
    const size = fs.statSync(path.join(unpacked, 'weft.exe')).size;
    const watcher = await watchNames(binDir, NAMES, size);
    for (let i = 0; i < 3; i++) {
      const r = await install();
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const report = await watcher.stop();
    expect({ missing: report.missing, partial: report.partial }).toEqual({ missing: 0, partial: 0 });
    expect(report.looks).toBeGreaterThan(1000);
    // The names went through new files (inode numbers of freed files may come back, so at least two).
    expect(report.inodes).toBeGreaterThanOrEqual(2);
    expect(new Set(NAMES.map((n) => fs.statSync(path.join(binDir, n)).ino)).size).toBe(1);
    expect(leftovers()).toEqual([]);

    // An old executable left aside by a run (on Windows: still running then) goes on the next.
    fs.writeFileSync(path.join(binDir, 'flannel.exe.weft-old-20250101000000000-1'), 'old');
    expect((await install()).code).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  it('writes 10-flannel.conf only when asked, and never over an existing one without -Force', async () => {
    const conf = path.join(confDir, '10-flannel.conf');
    expect((await install(['-WriteConf', 'vxlan'])).code).toBe(0);
    expect(fs.readFileSync(conf, 'utf8')).toBe(fs.readFileSync(path.join(unpacked, 'conf', '10-flannel-vxlan.conf'), 'utf8'));
    const refused = await install(['-WriteConf', 'host-gw']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`install.ps1: ${conf} exists; use -Force to replace it`);
    expect(fs.readFileSync(conf, 'utf8')).toBe(fs.readFileSync(path.join(unpacked, 'conf', '10-flannel-vxlan.conf'), 'utf8'));
    expect((await install(['-WriteConf', 'host-gw', '-Force'])).code).toBe(0);
    expect(fs.readFileSync(conf, 'utf8')).toBe(fs.readFileSync(path.join(unpacked, 'conf', '10-flannel-host-gw.conf'), 'utf8'));
    expect(fs.readdirSync(confDir)).toEqual(['10-flannel.conf']);
  });

  it('warns when another configuration sorts before 10-flannel.conf', async () => {
    fs.mkdirSync(confDir, { recursive: true });
    fs.writeFileSync(path.join(confDir, '0-containerd-nat.json'), '{}');
    const r = await install(['-WriteConf', 'vxlan']);
    expect(r.code).toBe(0);
    expect(said(r)).toMatch(/0-containerd-nat\.json sorts before 10-flannel\.conf/);
  });

  it('declares that it needs an elevated PowerShell 5.1 or later, as PowerShell reads it', async () => {
    const script = path.join(unpacked, 'install.ps1');
    const r = await run(PWSH, ['-NoProfile', '-NonInteractive', '-Command', `$r = (Get-Command '${script}').ScriptBlock.Ast.ScriptRequirements; "$($r.IsElevationRequired) $($r.RequiredPSVersion)"`]);
    expect(r.stdout.trim(), r.stderr).toBe('True 5.1');
  });
});
