import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIP, parseIP } from '../../../src/net/ip.ts';
import {
  createLease,
  goTrimSpace,
  leaseContent,
  leaseFileIP,
  leaseFileName,
  readLastReserved,
  readLease,
  storePaths,
  writeLastReserved,
} from '../../../src/ipam/host-local/store.ts';
import { tempDir } from '../../helpers/tmp.ts';

// The reference's file layout (reference-plugins.md §2.6).

describe('the store layout', () => {
  it('names lease files by the IP, with "_" for ":" on Windows', () => {
    const v6 = parseIP('2001:db8:1::2')!;
    expect(leaseFileName(v6, 'linux')).toBe('2001:db8:1::2');
    expect(leaseFileName(v6, 'win32')).toBe('2001_db8_1__2');
    expect(formatIP(leaseFileIP('2001_db8_1__2', 'win32')!)).toBe('2001:db8:1::2');
    expect(leaseFileIP('2001_db8_1__2', 'linux')).toBeUndefined();
    expect(leaseFileIP('10.1.2.3', 'win32')).toEqual(parseIP('10.1.2.3'));
  });

  it('counts only canonical IP names as leases', () => {
    for (const name of ['lock', 'last_reserved_ip.0', '2001:DB8::2', '2001:db8:0::2', '::ffff:10.0.0.1', 'lease-1-2-x']) {
      expect(leaseFileIP(name), name).toBeUndefined();
    }
  });

  it('writes "<id>\\r\\n<ifname>", ID trimmed as Go trims, mode 0600, no trailing newline', () => {
    expect(leaseContent('  dummy\n\u00a0', 'eth0')).toBe('dummy\r\neth0');
    expect(goTrimSpace('\u0085x\u3000')).toBe('x');
    expect(goTrimSpace('\ufeffx')).toBe('\ufeffx');
    const dataDir = tempDir();
    const paths = storePaths(dataDir, 'net');
    fs.mkdirSync(paths.netDir);
    const ip = parseIP('10.0.0.2')!;
    expect(createLease(paths, ip, leaseContent('dummy', 'eth0'))).toBe(true);
    expect(fs.readFileSync(path.join(paths.netDir, '10.0.0.2'), 'utf8')).toBe('dummy\r\neth0');
    expect(fs.statSync(path.join(paths.netDir, '10.0.0.2')).mode & 0o777).toBe(0o600);
    expect(createLease(paths, ip, leaseContent('other', 'eth0'))).toBe(false);
    expect(readLease(paths, ip)).toBe('dummy\r\neth0');
    // The staging file is gone, and was never in the network folder.
    expect(fs.readdirSync(paths.tmpDir)).toEqual([]);
    expect(fs.readdirSync(paths.netDir)).toEqual(['10.0.0.2']);
  });

  it('keeps last_reserved_ip.<n> as the bare IP, and reads a trailing newline as no IP, like the reference', () => {
    const dataDir = tempDir();
    const paths = storePaths(dataDir, 'net');
    fs.mkdirSync(paths.netDir);
    expect(readLastReserved(paths, 0)).toBeUndefined();
    writeLastReserved(paths, 0, parseIP('2001:db8::5')!);
    expect(fs.readFileSync(path.join(paths.netDir, 'last_reserved_ip.0'), 'utf8')).toBe('2001:db8::5');
    expect(fs.statSync(path.join(paths.netDir, 'last_reserved_ip.0')).mode & 0o777).toBe(0o600);
    expect(readLastReserved(paths, 0)).toEqual(parseIP('2001:db8::5'));
    fs.writeFileSync(path.join(paths.netDir, 'last_reserved_ip.1'), '10.0.0.5\n');
    expect(readLastReserved(paths, 1)).toBeUndefined();
  });
});
