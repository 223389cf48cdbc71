import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseResolvConf, parseResolvConfText } from '../../../src/ipam/host-local/dns.ts';
import { tempDir } from '../../helpers/tmp.ts';

// reference-plugins.md §5.4 dns_test.go (cases 41-43).

describe('parseResolvConf', () => {
  it('reads nameservers, indented or not (case 41)', () =>
    expect(parseResolvConfText('nameserver 192.0.2.0\n  nameserver 192.0.2.1\n')).toEqual({ nameservers: ['192.0.2.0', '192.0.2.1'] }));

  it('skips a ;-commented nameserver (case 42)', () =>
    expect(parseResolvConfText('nameserver 192.0.2.0\n;nameserver 192.0.2.1\n')).toEqual({ nameservers: ['192.0.2.0'] }));

  it('reads domain, accumulates search lines and options, skips # and ; comments (case 43)', () => {
    const text = [
      'nameserver 192.0.2.0',
      'domain example.com',
      ';nameserver comment',
      '#nameserver comment',
      'search example.net example.org',
      'search example.gov',
      'options one two three',
      'options four',
      'nameserver 192.0.2.2',
      'sortlist 10.0.0.0',
      'nameserver',
    ].join('\n');
    expect(parseResolvConfText(text)).toEqual({
      nameservers: ['192.0.2.0', '192.0.2.2'],
      domain: 'example.com',
      search: ['example.net', 'example.org', 'example.gov'],
      options: ['one', 'two', 'three', 'four'],
    });
  });

  it('reads a file, and reports a missing one with the OS error and code 5', () => {
    const dir = tempDir();
    const file = path.join(dir, 'resolv.conf');
    fs.writeFileSync(file, 'nameserver 192.0.2.3\r\ndomain a.example\r\n');
    expect(parseResolvConf(file)).toEqual({ nameservers: ['192.0.2.3'], domain: 'a.example' });
    expect(() => parseResolvConf(path.join(dir, 'nope'))).toThrow(`open ${path.join(dir, 'nope')}: no such file or directory`);
    try {
      parseResolvConf(path.join(dir, 'nope'));
    } catch (e) {
      expect((e as { code: number }).code).toBe(5);
    }
  });

  it('refuses a directory, a device and a file over 64 KiB, naming the file (code 5)', () => {
    const dir = tempDir();
    const big = path.join(dir, 'big');
    fs.writeFileSync(big, `nameserver 192.0.2.3\n${'#'.repeat(64 * 1024)}`);
    for (const [file, msg] of [
      [dir, `read ${dir}: is a directory`],
      ['/dev/null', 'read /dev/null: a character device, not a regular file'],
      [big, `read ${big}: file too large: weft reads at most 64 KiB of a resolv.conf`],
    ]) {
      expect(() => parseResolvConf(file!)).toThrow(expect.objectContaining({ code: 5, message: msg }));
    }
  });
});
