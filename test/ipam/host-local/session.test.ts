import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureLog } from '../../../src/cni/log.ts';
import { type IP, parseIP } from '../../../src/net/ip.ts';
import { readIndex } from '../../../src/ipam/host-local/index-file.ts';
import { NetworkSession, withNetwork } from '../../../src/ipam/host-local/session.ts';
import { leaseContent, storePaths } from '../../../src/ipam/host-local/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

// The index is a cache of the store: rebuilt when anything else touched the
// network folder, repaired from the intent after a job died half-way, and
// corrected whenever a lease file says something else.

const ip = (s: string): IP => parseIP(s)!;
const NET = 'net';

const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'weft-session-log-')), 'log');
beforeAll(() => configureLog({ file: logFile, level: 'debug' }));
const logSince = (mark: number) => fs.readFileSync(logFile, 'utf8').slice(mark);
const logMark = () => (fs.existsSync(logFile) ? fs.statSync(logFile).size : 0);

function writeLease(dataDir: string, addr: string, content: string): void {
  fs.mkdirSync(path.join(dataDir, NET), { recursive: true });
  fs.writeFileSync(path.join(dataDir, NET, addr), content, { mode: 0o600 });
}

const known = async (dataDir: string) =>
  (await withNetwork(dataDir, NET, { create: true }, (s) => [...s.index.entries()].map((e) => e.ip.value)))!;

describe('NetworkSession', () => {
  it('builds its index from a store it has never seen', async () => {
    const dataDir = tempDir();
    writeLease(dataDir, '10.0.0.5', 'a\r\neth0');
    writeLease(dataDir, '2001:db8::5', 'a\r\neth0');
    writeLease(dataDir, 'last_reserved_ip.0', '10.0.0.5');
    writeLease(dataDir, '010.0.0.6', 'not canonical');
    const found = await withNetwork(dataDir, NET, { create: false }, (s) => s.leasesOf('a', 'eth0'));
    expect(found).toEqual([ip('10.0.0.5'), ip('2001:db8::5')]);
    expect([...readIndex(storePaths(dataDir, NET).stateDir)!.entries()]).toHaveLength(2);
  });

  it('uses its saved index while nobody else touches the folder', async () => {
    const dataDir = tempDir();
    writeLease(dataDir, '10.0.0.5', 'a\r\neth0');
    await known(dataDir);
    const mark = logMark();
    expect(await known(dataDir)).toEqual([ip('10.0.0.5').value]);
    expect(logSince(mark)).not.toContain('rebuilt');
  });

  it('rebuilds at once when another program adds or removes a lease file', async () => {
    const dataDir = tempDir();
    writeLease(dataDir, '10.0.0.5', 'a\r\neth0');
    await known(dataDir);
    writeLease(dataDir, '10.0.0.6', 'b\r\neth0');
    expect(await known(dataDir)).toEqual([ip('10.0.0.5').value, ip('10.0.0.6').value]);
    fs.rmSync(path.join(dataDir, NET, '10.0.0.5'));
    expect(await known(dataDir)).toEqual([ip('10.0.0.6').value]);
  });

  it('repairs the index from the intent of a job that died between its change and its save', async () => {
    const dataDir = tempDir();
    writeLease(dataDir, '10.0.0.5', 'a\r\neth0');
    await known(dataDir);
    const s = (await NetworkSession.open(dataDir, NET, { create: true }))!;
    expect(s.reserve(ip('10.0.0.7'), leaseContent('b', 'eth0'))).toBe(true);
    s.setLastReserved(0, ip('10.0.0.7'));
    // Killed here: no index save, the lock directory left behind (gone stale).
    fs.rmdirSync(storePaths(dataDir, NET).lockDir);
    const mark = logMark();
    expect(await known(dataDir)).toEqual([ip('10.0.0.5').value, ip('10.0.0.7').value]);
    expect(logSince(mark)).toContain('index repaired from an unfinished job');
    expect(logSince(mark)).not.toContain('rebuilt');
  });

  it('rebuilds when the folder changed beyond an intent it cannot vouch for', async () => {
    const dataDir = tempDir();
    await known(dataDir);
    const s = (await NetworkSession.open(dataDir, NET, { create: true }))!;
    s.reserve(ip('10.0.0.7'), leaseContent('b', 'eth0'));
    await s.close();
    writeLease(dataDir, '10.0.0.8', 'c\r\neth0');
    const mark = logMark();
    expect(await known(dataDir)).toEqual([ip('10.0.0.7').value, ip('10.0.0.8').value]);
    expect(logSince(mark)).toContain('rebuilt');
  });

  it('learns a lease it did not know when the reservation finds the name taken', async () => {
    const dataDir = tempDir();
    writeLease(dataDir, '10.0.0.5', 'a\r\neth0');
    const s = (await NetworkSession.open(dataDir, NET, { create: true }))!;
    s.index.delete(ip('10.0.0.5'));
    expect(s.reserve(ip('10.0.0.5'), leaseContent('b', 'eth0'))).toBe(false);
    expect(s.index.has(ip('10.0.0.5'))).toBe(true);
    await s.close();
    expect(fs.readFileSync(path.join(dataDir, NET, '10.0.0.5'), 'utf8')).toBe('a\r\neth0');
  });

  it('corrects the owner of a lease file rewritten in place when it reads it', async () => {
    const dataDir = tempDir();
    writeLease(dataDir, '10.0.0.5', 'a\r\neth0');
    await known(dataDir);
    // Rewritten in the format of an old version: found through what the index knew...
    fs.writeFileSync(path.join(dataDir, NET, '10.0.0.5'), 'a\n');
    expect(await withNetwork(dataDir, NET, { create: false }, (s) => s.leasesOf('a', 'eth0'))).toEqual([ip('10.0.0.5')]);
    // ...and from then on known as the ID-only lease it is, which any interface of "a" owns.
    expect(await withNetwork(dataDir, NET, { create: false }, (s) => s.leasesOf('a', 'eth1'))).toEqual([ip('10.0.0.5')]);
  });

  it('leaves nothing of a killed job in its temporary folder', async () => {
    const dataDir = tempDir();
    await known(dataDir);
    const tmp = storePaths(dataDir, NET).tmpDir;
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'lease-1-1-abc'), 'half');
    await known(dataDir);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
