import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../helpers/netns.ts';
import { run } from '../helpers/run.ts';
import { repoRoot } from '../helpers/tmp.ts';

// The README's first command: the demo wires two pods, they reach each
// other, and nothing is left behind.

const demo = path.join(repoRoot, 'scripts', 'demo.mjs');
const demoNamespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('weft-demo-'));
const demoDirs = () => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('weft-demo-'));

describe('npm run demo', () => {
  it('connects two pods through flannel, bridge and host-local and cleans up', async () => {
    requireRoot();
    const dirsBefore = demoDirs();
    const r = await run(process.execPath, [demo]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/weft-demo-a-\w+: 10\.244\.1\.\d+\/24 via 10\.244\.1\.1 on cni0, veth[0-9a-f]{8}, eth0/);
    expect(r.stdout).toMatch(/3 packets transmitted, 3 received/);
    expect(r.stdout).toMatch(/10\.244\.1\.\d+: "cnitool-[0-9a-f]{20}\\r\\neth0"/);
    expect(r.stdout).toContain('no lease left');
    expect(r.stdout).toContain('demo finished: nothing left behind');
    expect(demoNamespaces()).toEqual([]);
    expect(demoDirs()).toEqual(dirsBefore);
  });

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
