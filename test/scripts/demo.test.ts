import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns.ts';
import { run } from '../helpers/run.ts';
import { repoRoot } from '../helpers/tmp.ts';

// The README's first command: the demo wires two pods, they reach each
// other, and nothing is left behind: no namespace, no directory, no process.

const demo = path.join(repoRoot, 'scripts', 'demo.mjs');
const demoNamespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('weft-demo-'));
const demoDirs = () => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('weft-demo-'));
const demoProcesses = () =>
  execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('weft-demo-') || l.includes(demo));
const which = (cmd: string) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => path.join(d, cmd)).find((f) => fs.existsSync(f));

/** The demo may take up to 90 s by its own bound; a hang is caught here, and killed with what it started. */
const DEMO_TIMEOUT_MS = 100_000;

afterEach(() => {
  // A failed run must not leave namespaces for the next one.
  for (const ns of demoNamespaces()) execFileSync('ip', ['netns', 'del', ns.split(' ')[0]!]);
});

function expectNothingLeft(dirsBefore: string[]): void {
  expect(demoNamespaces()).toEqual([]);
  expect(demoDirs()).toEqual(dirsBefore);
  expect(demoProcesses()).toEqual([]);
}

describe('npm run demo', () => {
  it('connects two pods through flannel, bridge and host-local and cleans up', async () => {
    requireRoot();
    const dirsBefore = demoDirs();
    const r = await run(process.execPath, [demo], { timeoutMs: DEMO_TIMEOUT_MS });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/weft-demo-a-\w+: 10\.244\.1\.\d+\/24 via 10\.244\.1\.1 on cni0, veth[0-9a-f]{8}, eth0/);
    expect(r.stdout).toMatch(which('ping') ? /3 packets transmitted, 3 received/ : /a TCP round trip instead: reply: pong/);
    expect(r.stdout).toMatch(/10\.244\.1\.\d+: "cnitool-[0-9a-f]{20}\\r\\neth0"/);
    expect(r.stdout).toContain('no lease left');
    expect(r.stdout).toContain('demo finished: nothing left behind');
    expectNothingLeft(dirsBefore);
  }, DEMO_TIMEOUT_MS + 10_000);

  it('without ping, checks reachability over TCP, finishes, and leaves no namespace or process', async () => {
    requireRoot();
    const dirsBefore = demoDirs();
    // ping hidden in a mount namespace of the demo's own: the file is there, but not a program.
    const ping = which('ping');
    const hide = ping ? `mount --bind /dev/null ${ping} && ` : '';
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${hide}exec "$0" "$1"`, process.execPath, demo], {
      timeoutMs: DEMO_TIMEOUT_MS,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('ping is not installed (Debian: apt-get install -y iputils-ping); a TCP round trip instead: reply: pong');
    expect(r.stdout).toContain('demo finished: nothing left behind');
    expectNothingLeft(dirsBefore);
  }, DEMO_TIMEOUT_MS + 10_000);

  it('cleans up everything when interrupted with Ctrl-C', async () => {
    requireRoot();
    const dirsBefore = demoDirs();
    const pending = run(process.execPath, [demo], { timeoutMs: DEMO_TIMEOUT_MS });
    // Interrupt once the first pod has its network.
    for (let i = 0; i < 400 && !demoProcesses().length; i++) await new Promise((r) => setTimeout(r, 25));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const dir = demoDirs().find((d) => !dirsBefore.includes(d));
      const leases = dir ? path.join(os.tmpdir(), dir, 'lib', 'networks', 'cbr0') : '';
      if (leases && fs.existsSync(leases) && fs.readdirSync(leases).some((f) => f.startsWith('10.'))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.trim().endsWith(` ${demo}`) && !l.includes('unshare'))
      ?.trim()
      .split(' ')[0];
    expect(pid).toBeDefined();
    process.kill(Number(pid), 'SIGINT');
    const r = await pending;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAILED: interrupted (SIGINT)');
    expect(r.stdout).toContain('no lease left');
    expect(r.stdout).toContain('everything it created was removed');
    expectNothingLeft(dirsBefore);
  }, DEMO_TIMEOUT_MS + 10_000);

  it('says in one sentence why it needs root', async () => {
    // A copy nobody can read, wherever the checkout lives (the root check comes first).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-nobody-'));
    fs.chmodSync(dir, 0o755);
    fs.copyFileSync(demo, path.join(dir, 'demo.mjs'));
    fs.chmodSync(path.join(dir, 'demo.mjs'), 0o644);
    const r = await run('su', ['nobody', '-s', '/bin/sh', '-c', `${process.execPath} ${path.join(dir, 'demo.mjs')}`]);
    fs.rmSync(dir, { recursive: true });
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toContain('needs root');
  });
});
