import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIP } from '../../../src/net/ip.ts';
import { cniBin, tempDir } from '../../helpers/tmp.ts';
import { WEFT, exec, leases, resultIPs } from './harness.ts';

// Many host-local processes at once on one store: contention never fails an
// ADD, and processes killed with SIGKILL at random moments leave only
// complete leases, one owner per address, and nothing another process
// cannot clean up.

const conf = (dataDir: string) => ({
  cniVersion: '1.0.0',
  name: 'busy',
  ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.20.0.0/24' }], [{ subnet: 'fd00:20::/64' }]] },
});

const LEASE = /^k\d+\r\neth0$/;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

const live = new Set<ReturnType<typeof spawn>>();

/** Start host-local, and SIGKILL it after `killAfterMs` if it is still running. */
function runKilled(command: string, dataDir: string, containerId: string, killAfterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(WEFT, [], {
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: '/some/where',
        CNI_IFNAME: 'eth0',
        CNI_PATH: cniBin,
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    live.add(child);
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.on('error', reject);
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(conf(dataDir)));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout });
    });
  });
}

/**
 * Kill every running process a few milliseconds after the lock is taken for
 * the n-th time, so that the holder dies inside its critical section.
 */
function killInsideLock(stateDir: string, nth: number, delayMs: number): () => void {
  let seen = 0;
  const watcher = fs.watch(stateDir, (_event, name) => {
    // Each take and each release of the lock is an event; either way a holder is close.
    if (name !== 'lock' || ++seen !== nth) return;
    setTimeout(() => {
      for (const child of live) child.kill('SIGKILL');
    }, delayMs);
  });
  return () => watcher.close();
}

/** Every file of the network folder is the lock, a parsable last_reserved_ip, or a complete lease. */
function expectConsistentStore(dataDir: string): Record<string, string> {
  const dir = path.join(dataDir, 'busy');
  for (const name of fs.readdirSync(dir)) {
    const content = fs.readFileSync(path.join(dir, name), 'utf8');
    if (name === 'lock') continue;
    if (name.startsWith('last_reserved_ip.')) {
      expect(parseIP(content), `${name} holds "${content}"`).toBeDefined();
      continue;
    }
    expect(parseIP(name), `stray file ${name}`).toBeDefined();
    expect(content, `lease ${name}`).toMatch(LEASE);
  }
  return leases(dataDir, 'busy');
}

describe('host-local under concurrency', () => {
  it('lets 64 simultaneous ADD processes all succeed with distinct addresses, then 64 DELs empty the store', async () => {
    const dataDir = tempDir();
    const adds = await Promise.all(Array.from({ length: 64 }, (_, i) => exec(WEFT, 'ADD', conf(dataDir), { containerId: `k${i}` })));
    expect(adds.map((r) => r.exitCode)).toEqual(adds.map(() => 0));
    const ips = adds.flatMap((r) => resultIPs(r.json));
    expect(ips).toHaveLength(128);
    expect(new Set(ips).size).toBe(128);
    const store = expectConsistentStore(dataDir);
    expect(Object.keys(store)).toHaveLength(128);
    adds.forEach((r, i) => {
      for (const ip of resultIPs(r.json)) expect(store[ip]).toBe(`k${i}\r\neth0`);
    });
    const dels = await Promise.all(Array.from({ length: 64 }, (_, i) => exec(WEFT, 'DEL', conf(dataDir), { containerId: `k${i}` })));
    expect(dels.map((r) => r.exitCode)).toEqual(dels.map(() => 0));
    expect(leases(dataDir, 'busy')).toEqual({});
  });

  it('survives ADD and DEL processes killed at random moments: complete leases only, one owner each, all cleanable', async () => {
    const dataDir = tempDir();
    const completed = new Map<string, string[]>();
    let killed = 0;
    let next = 0;
    expect((await exec(WEFT, 'ADD', conf(dataDir), { containerId: `k${next++}` })).exitCode).toBe(0);
    completed.set('k0', Object.keys(leases(dataDir, 'busy')));
    const stateDir = path.join(dataDir, '.weft', 'busy');
    for (let round = 0; round < 3; round++) {
      const stopWatching = killInsideLock(stateDir, 1 + Math.floor(Math.random() * 10), Math.random() * 12);
      const ids = Array.from({ length: 16 }, () => `k${next++}`);
      const earlier = [...completed.keys()].slice(0, 5);
      const runs = await Promise.all([
        ...ids.map((id) => runKilled('ADD', dataDir, id, 100 + Math.random() * 3000).then((r) => ({ id, r, add: true }))),
        ...earlier.map((id) => runKilled('DEL', dataDir, id, 100 + Math.random() * 3000).then((r) => ({ id, r, add: false }))),
      ]);
      stopWatching();
      for (const { id, r, add } of runs) {
        if (r.signal === 'SIGKILL') killed++;
        else expect(r.code, r.stdout).toBe(0);
        if (add && r.code === 0) completed.set(id, resultIPs(JSON.parse(r.stdout)));
        // A DEL killed half-way may have released some, all or none of the leases.
        if (!add) completed.delete(id);
      }
      const store = expectConsistentStore(dataDir);
      // Every finished ADD still holds what it was given.
      for (const [id, ips] of completed) for (const ip of ips) expect(store[ip]).toBe(`${id}\r\neth0`);
      // No container holds two addresses of one family.
      const perOwner = new Map<string, string[]>();
      for (const [ip, owner] of Object.entries(store)) perOwner.set(owner, [...(perOwner.get(owner) ?? []), ip]);
      for (const [owner, owned] of perOwner) {
        expect(owned.filter((ip) => ip.includes(':')).length, owner).toBeLessThanOrEqual(1);
        expect(owned.filter((ip) => !ip.includes(':')).length, owner).toBeLessThanOrEqual(1);
      }
    }
    expect(killed).toBeGreaterThan(0);

    // A killed lock holder delays the next process by a few seconds at most.
    const started = Date.now();
    const after = await exec(WEFT, 'ADD', conf(dataDir), { containerId: 'after' });
    expect(after.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(fs.readdirSync(path.join(dataDir, '.weft', 'busy', 'tmp'))).toEqual([]);

    // The runtime DELs every attachment whose ADD it started: nothing may be left behind.
    const all = [...Array(next).keys()].map((i) => `k${i}`).concat('after');
    const dels = await Promise.all(all.map((id) => exec(WEFT, 'DEL', conf(dataDir), { containerId: id })));
    expect(dels.every((d) => d.exitCode === 0)).toBe(true);
    expect(leases(dataDir, 'busy')).toEqual({});
  });
});
