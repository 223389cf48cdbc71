import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_VERSIONS } from '../../../src/cni/version.ts';
import { plugin } from '../../../src/plugins/host-local/index.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { WEFT, cni, exec, leases, resultIPs } from './harness.ts';

// The reference's host_local_test.go cases (reference-plugins.md §5.1,
// cases 1-11) at every spec version, translated where weft deliberately
// differs (a repeated ADD returns the lease it holds), then weft's own
// behaviour: CHECK against prevResult, GC, STATUS, rollback of failed ADDs.

const atLeast = (v: string, min: string) => ALL_VERSIONS.indexOf(v as never) >= ALL_VERSIONS.indexOf(min as never);

function resolvConf(dir: string): string {
  const file = path.join(dir, 'resolv.conf');
  fs.writeFileSync(file, 'nameserver 192.0.2.3\n');
  return file;
}

describe.each(ALL_VERSIONS)('host-local at cniVersion %s', (version) => {
  it('allocates from two range sets with routes and DNS, then releases (case 1)', async () => {
    const dir = tempDir();
    const conf = {
      cniVersion: version,
      name: 'mynet',
      type: 'ipvlan',
      master: 'foo0',
      ipam: {
        type: 'host-local',
        dataDir: dir,
        resolvConf: resolvConf(dir),
        ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '2001:db8:1::0/64' }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }, { dst: '192.168.0.0/16', gw: '1.1.1.1' }, { dst: '2001:db8:2::0/64', gw: '2001:db8:3::1' }],
      },
    };
    const r = await cni('ADD', conf);
    expect(r.exitCode).toBe(0);
    expect(resultIPs(r.json)).toEqual(['10.1.2.2', '2001:db8:1::2']);
    if (atLeast(version, '0.3.0')) {
      expect(r.json!.ips).toEqual(
        atLeast(version, '1.0.0')
          ? [
              { address: '10.1.2.2/24', gateway: '10.1.2.1' },
              { address: '2001:db8:1::2/64', gateway: '2001:db8:1::1' },
            ]
          : [
              { version: '4', address: '10.1.2.2/24', gateway: '10.1.2.1' },
              { version: '6', address: '2001:db8:1::2/64', gateway: '2001:db8:1::1' },
            ],
      );
      expect(r.json!.routes).toEqual([
        { dst: '0.0.0.0/0' },
        { dst: '::/0' },
        { dst: '192.168.0.0/16', gw: '1.1.1.1' },
        { dst: '2001:db8:2::/64', gw: '2001:db8:3::1' },
      ]);
      expect(r.json!.dns).toEqual({ nameservers: ['192.0.2.3'] });
      expect(r.stdout.includes('"version":')).toBe(!atLeast(version, '1.0.0'));
    } else {
      expect(r.json!.ip4).toEqual({ ip: '10.1.2.2/24', gateway: '10.1.2.1', routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '1.1.1.1' }] });
      expect(r.json!.ip6).toEqual({ ip: '2001:db8:1::2/64', gateway: '2001:db8:1::1', routes: [{ dst: '::/0' }, { dst: '2001:db8:2::/64', gw: '2001:db8:3::1' }] });
    }
    expect(leases(dir, 'mynet')).toEqual({ '10.1.2.2': 'dummy\r\neth0', '2001:db8:1::2': 'dummy\r\neth0' });
    expect(fs.readFileSync(path.join(dir, 'mynet', 'last_reserved_ip.0'), 'utf8')).toBe('10.1.2.2');
    expect(fs.readFileSync(path.join(dir, 'mynet', 'last_reserved_ip.1'), 'utf8')).toBe('2001:db8:1::2');
    expect(fs.statSync(path.join(dir, 'mynet', '10.1.2.2')).mode & 0o777).toBe(0o600);
    expect((await cni('DEL', conf)).exitCode).toBe(0);
    expect(leases(dir, 'mynet')).toEqual({});
  });

  it('keeps two networks of one container apart by interface (case 2)', async () => {
    const dir = tempDir();
    const net = (n: number) => ({ cniVersion: version, name: `mynet${n}`, ipam: { type: 'host-local', dataDir: dir, subnet: `10.${n + 1}.2.0/24` } });
    expect(resultIPs((await cni('ADD', net(0), { ifName: 'eth0' })).json)).toEqual(['10.1.2.2']);
    expect(resultIPs((await cni('ADD', net(1), { ifName: 'eth1' })).json)).toEqual(['10.2.2.2']);
    expect(leases(dir, 'mynet0')).toEqual({ '10.1.2.2': 'dummy\r\neth0' });
    expect(leases(dir, 'mynet1')).toEqual({ '10.2.2.2': 'dummy\r\neth1' });
    await cni('DEL', net(0), { ifName: 'eth0' });
    expect(leases(dir, 'mynet0')).toEqual({});
    expect(leases(dir, 'mynet1')).toEqual({ '10.2.2.2': 'dummy\r\neth1' });
    await cni('DEL', net(1), { ifName: 'eth1' });
    expect(leases(dir, 'mynet1')).toEqual({});
  });

  it('answers a repeated ADD with the lease the attachment holds (case 3, weft returns instead of failing)', async () => {
    const dir = tempDir();
    const conf = { cniVersion: version, name: 'mynet', ipam: { type: 'host-local', dataDir: dir, subnet: '10.1.2.0/24' } };
    const first = await cni('ADD', conf);
    expect(resultIPs(first.json)).toEqual(['10.1.2.2']);
    expect((await cni('ADD', conf)).stdout).toBe(first.stdout);
    expect(resultIPs((await cni('ADD', conf, { containerId: 'dummy1' })).json)).toEqual(['10.1.2.3']);
    expect(resultIPs((await cni('ADD', conf)).json)).toEqual(['10.1.2.2']);
    expect(Object.keys(leases(dir, 'mynet')).sort()).toEqual(['10.1.2.2', '10.1.2.3']);
    expect((await cni('DEL', conf)).exitCode).toBe(0);
    expect((await cni('DEL', conf, { containerId: 'dummy1' })).exitCode).toBe(0);
    expect(leases(dir, 'mynet')).toEqual({});
  });

  it('releases a lease in the old ID-only format (case 4)', async () => {
    const dir = tempDir();
    const conf = { cniVersion: version, name: 'mynet', ipam: { type: 'host-local', dataDir: dir, subnet: '10.1.2.0/24' } };
    await cni('ADD', conf);
    fs.writeFileSync(path.join(dir, 'mynet', '10.1.2.2'), 'dummy');
    expect((await cni('DEL', conf)).exitCode).toBe(0);
    expect(leases(dir, 'mynet')).toEqual({});
  });

  it('succeeds deleting an attachment it never saw (case 5)', async () => {
    const dir = tempDir();
    const conf = { cniVersion: version, name: 'mynet', ipam: { type: 'host-local', dataDir: dir, subnet: '10.1.2.0/24' } };
    expect((await cni('DEL', conf, { containerId: 'unknown' })).exitCode).toBe(0);
    await cni('ADD', conf);
    expect((await cni('DEL', conf, { containerId: 'unknown' })).exitCode).toBe(0);
    expect(leases(dir, 'mynet')).toEqual({ '10.1.2.2': 'dummy\r\neth0' });
  });

  it('trims whitespace around a container ID (case 6)', async () => {
    const dir = tempDir();
    const conf = { cniVersion: version, name: 'mynet', ipam: { type: 'host-local', dataDir: dir, subnet: '10.1.2.0/24' } };
    // Called directly, as the reference test does: skel would refuse this ID.
    const args = {
      containerId: '   dummy\n ',
      netns: '/some/where',
      ifName: 'eth0',
      args: '',
      path: '',
      netnsOverride: '1',
      stdinData: Buffer.from(JSON.stringify(conf)),
      env: {},
    };
    await plugin.add!(args);
    expect(leases(dir, 'mynet')).toEqual({ '10.1.2.2': 'dummy\r\neth0' });
    await plugin.del!(args);
    expect(leases(dir, 'mynet')).toEqual({});
  });

  it('gives the requested IP from args.cni.ips (case 8)', async () => {
    const dir = tempDir();
    const conf = { cniVersion: version, name: 'mynet', args: { cni: { ips: ['10.1.2.88'] } }, ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.1.2.0/24' }]] } };
    expect(resultIPs((await cni('ADD', conf)).json)).toEqual(['10.1.2.88']);
    expect(fs.readFileSync(path.join(dir, 'mynet', 'last_reserved_ip.0'), 'utf8')).toBe('10.1.2.88');
  });

  it('gives two requested IPs from two IPv4 range sets in order, or the version error (case 9)', async () => {
    const dir = tempDir();
    const conf = {
      cniVersion: version,
      name: 'mynet',
      args: { cni: { ips: ['10.1.2.88', '10.1.3.77'] } },
      ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.3.0/24' }]] },
    };
    const r = await cni('ADD', conf);
    if (atLeast(version, '0.3.0')) expect(resultIPs(r.json)).toEqual(['10.1.2.88', '10.1.3.77']);
    else expect(r.json).toEqual({ code: 7, msg: `CNI version ${version} does not support more than 1 address per family` });
  });

  it('gives requested IPs of both families (case 10)', async () => {
    const dir = tempDir();
    const conf = {
      cniVersion: version,
      name: 'mynet',
      args: { cni: { ips: ['10.1.2.88', '2001:db8:1::999'] } },
      ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '172.16.1.0/24' }, { subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8:1::/48' }]] },
    };
    expect(resultIPs((await cni('ADD', conf)).json)).toEqual(['10.1.2.88', '2001:db8:1::999']);
  });

  it('fails when a requested IP has no range set left for it, leasing nothing (case 11)', async () => {
    const dir = tempDir();
    const conf = {
      cniVersion: version,
      name: 'mynet',
      args: { cni: { ips: ['10.1.2.88', '10.1.2.77'] } },
      ipam: { type: 'host-local', dataDir: dir, ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.3.0/24' }]] },
    };
    const r = await cni('ADD', conf);
    if (atLeast(version, '0.3.0')) {
      expect(r.json).toEqual({ code: 7, msg: 'failed to allocate all requested IPs: 10.1.2.77' });
    } else {
      expect((r.json as { msg: string }).msg).toBe(`CNI version ${version} does not support more than 1 address per family`);
    }
    expect(leases(dir, 'mynet')).toEqual({});
  });
});

describe('host-local ADD', () => {
  const conf = (dir: string, ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.0.0',
    name: 'net',
    ...extra,
    ipam: { type: 'host-local', dataDir: dir, subnet: '10.0.0.0/29', ...ipam },
  });

  it('prints nothing about a missing last_reserved_ip on a fresh store (case 7)', async () => {
    const dir = tempDir();
    const r = await exec(WEFT, 'ADD', conf(dir));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toContain('Error retrieving last reserved ip');
  });

  it('runs out with code 11 and the reference message, then recovers after a DEL', async () => {
    const dir = tempDir();
    for (let i = 0; i < 5; i++) expect((await cni('ADD', conf(dir), { containerId: `c${i}` })).exitCode).toBe(0);
    const r = await cni('ADD', conf(dir), { containerId: 'c5' });
    expect(r.json).toEqual({ code: 11, msg: 'failed to allocate for range 0: no IP addresses available in range set: 10.0.0.1-10.0.0.6' });
    await cni('DEL', conf(dir), { containerId: 'c2' });
    expect(resultIPs((await cni('ADD', conf(dir), { containerId: 'c5' })).json)).toEqual(['10.0.0.4']);
  });

  it('refuses a requested gateway, and a requested IP someone holds with code 11', async () => {
    const dir = tempDir();
    expect((await cni('ADD', conf(dir), { args: 'IP=10.0.0.1' })).json).toEqual({
      code: 7,
      msg: "failed to allocate for range 0: requested ip 10.0.0.1 is subnet's gateway",
    });
    expect(resultIPs((await cni('ADD', conf(dir), { args: 'IP=10.0.0.5', containerId: 'a' })).json)).toEqual(['10.0.0.5']);
    expect((await cni('ADD', conf(dir), { args: 'IP=10.0.0.5', containerId: 'b' })).json).toEqual({
      code: 11,
      msg: 'failed to allocate for range 0: requested IP address 10.0.0.5 is not available in range set 10.0.0.1-10.0.0.6',
    });
    // The holder asking again gets it again.
    expect(resultIPs((await cni('ADD', conf(dir), { args: 'IP=10.0.0.5', containerId: 'a' })).json)).toEqual(['10.0.0.5']);
    expect((await cni('ADD', conf(dir), { args: 'IP=10.0.0.6', containerId: 'a' })).json).toEqual({
      code: 7,
      msg: 'failed to allocate for range 0: 10.0.0.5 has been allocated to a, duplicate allocation is not allowed',
    });
  });

  it('grants a requested IP once, and refuses it again with the reference message (case 18)', async () => {
    const dir = tempDir();
    const c = conf(dir, { subnet: '192.168.1.0/29' });
    expect(resultIPs((await cni('ADD', c, { containerId: 'a', args: 'IP=192.168.1.5' })).json)).toEqual(['192.168.1.5']);
    expect(((await cni('ADD', c, { containerId: 'b', args: 'IP=192.168.1.5' })).json as { msg: string }).msg).toBe(
      'failed to allocate for range 0: requested IP address 192.168.1.5 is not available in range set 192.168.1.1-192.168.1.6',
    );
  });

  it('refuses a requested IP after rangeEnd or before rangeStart (case 19)', async () => {
    const dir = tempDir();
    expect((await cni('ADD', conf(dir, { subnet: '192.168.1.0/29', rangeEnd: '192.168.1.4' }), { args: 'IP=192.168.1.5' })).json).toEqual({
      code: 7,
      msg: 'failed to allocate all requested IPs: 192.168.1.5',
    });
    expect((await cni('ADD', conf(dir, { subnet: '192.168.1.0/29', rangeStart: '192.168.1.3' }), { args: 'IP=192.168.1.2' })).json).toEqual({
      code: 7,
      msg: 'failed to allocate all requested IPs: 192.168.1.2',
    });
    expect(leases(dir, 'net')).toEqual({});
  });

  it('gives back only what a failed ADD took, keeping what the attachment held before', async () => {
    const dir = tempDir();
    const old = conf(dir, { subnet: undefined, ranges: [[{ subnet: '10.0.2.0/29' }]] });
    const two = conf(dir, { subnet: undefined, ranges: [[{ subnet: '10.0.0.0/29' }], [{ subnet: '10.0.1.0/30' }]] });
    expect(resultIPs((await cni('ADD', old)).json)).toEqual(['10.0.2.2']);
    expect(resultIPs((await cni('ADD', two, { containerId: 'other' })).json)).toEqual(['10.0.0.2', '10.0.1.2']);
    // dummy gets 10.0.0.3, then finds the second set full: 10.0.0.3 goes back, 10.0.2.2 stays.
    const r = await cni('ADD', two);
    expect(r.json).toEqual({ code: 11, msg: 'failed to allocate for range 1: no IP addresses available in range set: 10.0.1.1-10.0.1.2' });
    expect(leases(dir, 'net')).toEqual({ '10.0.2.2': 'dummy\r\neth0', '10.0.0.2': 'other\r\neth0', '10.0.1.2': 'other\r\neth0' });
  });

  it('fills a new range set for an attachment that already holds the others', async () => {
    const dir = tempDir();
    const v4 = conf(dir, { subnet: undefined, ranges: [[{ subnet: '10.0.0.0/29' }]] });
    const dual = conf(dir, { subnet: undefined, ranges: [[{ subnet: '10.0.0.0/29' }], [{ subnet: '2001:db8::/64' }]] });
    await cni('ADD', v4, { containerId: 'x' });
    expect(resultIPs((await cni('ADD', v4)).json)).toEqual(['10.0.0.3']);
    expect(resultIPs((await cni('ADD', dual)).json)).toEqual(['10.0.0.3', '2001:db8::2']);
  });

  it('fails on an unreadable resolvConf before leasing anything', async () => {
    const dir = tempDir();
    const r = await cni('ADD', conf(dir, { resolvConf: path.join(dir, 'missing') }));
    expect(r.json).toEqual({ code: 5, msg: `open ${path.join(dir, 'missing')}: no such file or directory` });
    expect(leases(dir, 'net')).toEqual({});
  });
});

describe('host-local DEL', () => {
  it('fails on a config that does not load, and removes nothing', async () => {
    const dir = tempDir();
    const good = { cniVersion: '1.0.0', name: 'net', ipam: { dataDir: dir, subnet: '10.0.0.0/24' } };
    await cni('ADD', good);
    const r = await cni('DEL', { ...good, ipam: { dataDir: dir, subnet: '10.0.0.0/33' } });
    expect(r.json).toEqual({ code: 6, msg: 'invalid CIDR address: 10.0.0.0/33' });
    expect(leases(dir, 'net')).toEqual({ '10.0.0.2': 'dummy\r\neth0' });
  });

  it('releases the leases of the attachment in ranges no longer configured', async () => {
    const dir = tempDir();
    await cni('ADD', { cniVersion: '1.0.0', name: 'net', ipam: { dataDir: dir, subnet: '10.0.0.0/24' } });
    await cni('DEL', { cniVersion: '1.0.0', name: 'net', ipam: { dataDir: dir, subnet: '10.9.0.0/24' } });
    expect(leases(dir, 'net')).toEqual({});
  });

  it('takes exact leases first and ID-only leases only when there are none, as the reference does', async () => {
    const dir = tempDir();
    const conf = { cniVersion: '1.0.0', name: 'net', ipam: { dataDir: dir, subnet: '10.0.0.0/24' } };
    await cni('ADD', conf);
    fs.writeFileSync(path.join(dir, 'net', '10.0.0.9'), 'dummy');
    await cni('DEL', conf);
    expect(leases(dir, 'net')).toEqual({ '10.0.0.9': 'dummy' });
    await cni('DEL', conf, { ifName: 'eth7' });
    expect(leases(dir, 'net')).toEqual({});
  });
});

describe('host-local CHECK', () => {
  const conf = (dir: string, prevResult?: unknown) => ({
    cniVersion: '1.0.0',
    name: 'net',
    ipam: { dataDir: dir, ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '2001:db8::/64' }]] },
    ...(prevResult ? { prevResult } : {}),
  });

  it('passes while the attachment holds its leases, matching prevResult', async () => {
    const dir = tempDir();
    const added = await cni('ADD', conf(dir));
    expect((await cni('CHECK', conf(dir))).exitCode).toBe(0);
    expect((await cni('CHECK', conf(dir, added.json))).exitCode).toBe(0);
    // Addresses outside host-local's ranges (another plugin's) are not its business.
    const extra = { ...added.json, ips: [...(added.json!.ips as object[]), { address: '192.168.9.9/24' }] };
    expect((await cni('CHECK', conf(dir, extra))).exitCode).toBe(0);
  });

  it('fails with the reference message once the leases are gone', async () => {
    const dir = tempDir();
    await cni('ADD', conf(dir));
    await cni('DEL', conf(dir));
    expect((await cni('CHECK', conf(dir))).json).toEqual({ code: 999, msg: 'host-local: Failed to find address added by container dummy' });
    expect((await cni('CHECK', conf(tempDir()))).json).toEqual({ code: 999, msg: 'host-local: Failed to find address added by container dummy' });
  });

  it('names an address of prevResult that is not the attachment lease, and a lease prevResult lacks', async () => {
    const dir = tempDir();
    const added = await cni('ADD', conf(dir));
    const ips = added.json!.ips as { address: string }[];
    const wrong = { ...added.json, ips: [{ address: '10.0.0.77/24' }, ips[1]] };
    expect((await cni('CHECK', conf(dir, wrong))).json).toEqual({
      code: 999,
      msg: 'host-local: address 10.0.0.77 of prevResult is not leased to container dummy interface eth0',
    });
    const missing = { ...added.json, ips: [ips[0]] };
    expect((await cni('CHECK', conf(dir, missing))).json).toEqual({
      code: 999,
      msg: 'host-local: lease 2001:db8::2 of container dummy interface eth0 is missing from prevResult',
    });
  });
});

describe('host-local GC (1.1.0)', () => {
  const conf = (dir: string, extra: Record<string, unknown> = {}) => ({
    cniVersion: '1.1.0',
    name: 'net',
    ipam: { dataDir: dir, subnet: '10.0.0.0/24' },
    ...extra,
  });

  it('releases every lease whose attachment is not valid, and nothing else', async () => {
    const dir = tempDir();
    for (const [id, ifName] of [['a', 'eth0'], ['a', 'eth1'], ['b', 'eth0'], ['dummy', 'eth0']]) {
      await cni('ADD', conf(dir), { containerId: id, ifName });
    }
    fs.writeFileSync(path.join(dir, 'net', '10.0.0.99'), 'c');
    fs.writeFileSync(path.join(dir, 'net', '10.0.0.98'), 'd\n');
    const before = fs.readFileSync(path.join(dir, 'net', 'last_reserved_ip.0'), 'utf8');
    const r = await cni(
      'GC',
      conf(dir, { 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth1' }, { containerID: 'd', ifname: 'eth3' }] }),
    );
    expect(r.exitCode).toBe(0);
    // An ID-only lease belongs to every interface of its container.
    expect(leases(dir, 'net')).toEqual({ '10.0.0.3': 'a\r\neth1', '10.0.0.98': 'd\n' });
    expect(fs.readFileSync(path.join(dir, 'net', 'last_reserved_ip.0'), 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(dir, 'net', 'lock'))).toBe(true);
    // The index follows: the released addresses are handed out again.
    expect(resultIPs((await cni('ADD', conf(dir), { containerId: 'e' })).json)).toEqual(['10.0.0.6']);
  });

  it('takes the older key cni.dev/attachments, and null or no list as "none valid"', async () => {
    const dir = tempDir();
    await cni('ADD', conf(dir), { containerId: 'a' });
    await cni('ADD', conf(dir), { containerId: 'b' });
    await cni('GC', conf(dir, { 'cni.dev/attachments': [{ containerID: 'b', ifname: 'eth0' }] }));
    expect(Object.values(leases(dir, 'net'))).toEqual(['b\r\neth0']);
    await cni('GC', conf(dir, { 'cni.dev/valid-attachments': null }));
    expect(leases(dir, 'net')).toEqual({});
    await cni('ADD', conf(dir), { containerId: 'c' });
    await cni('GC', conf(dir));
    expect(leases(dir, 'net')).toEqual({});
  });

  it('leaves a lease named "dummy" to the same rules as any other', async () => {
    const dir = tempDir();
    await cni('ADD', conf(dir), { containerId: 'dummy' });
    await cni('GC', conf(dir, { 'cni.dev/valid-attachments': [{ containerID: 'dummy', ifname: 'eth0' }] }));
    expect(Object.values(leases(dir, 'net'))).toEqual(['dummy\r\neth0']);
    await cni('GC', conf(dir, { 'cni.dev/valid-attachments': [] }));
    expect(leases(dir, 'net')).toEqual({});
  });

  it('is refused below 1.1.0 and rejects a malformed list', async () => {
    const dir = tempDir();
    expect((await cni('GC', { ...conf(dir), cniVersion: '1.0.0' })).json).toEqual({ code: 1, msg: 'config version does not allow GC' });
    expect(((await cni('GC', conf(dir, { 'cni.dev/valid-attachments': 'x' }))).json as { code: number }).code).toBe(6);
  });
});

describe('host-local STATUS (1.1.0)', () => {
  const conf = (dir: string, subnet = '10.0.0.0/30') => ({ cniVersion: '1.1.0', name: 'net', ipam: { dataDir: dir, ranges: [[{ subnet }], [{ subnet: '2001:db8::/64' }]] } });

  it('succeeds while every range set has an address left, fails with 50 when one has none', async () => {
    const dir = tempDir();
    expect((await cni('STATUS', conf(dir))).exitCode).toBe(0);
    await cni('ADD', conf(dir));
    expect((await cni('STATUS', conf(dir))).json).toEqual({ code: 50, msg: 'no IP addresses available in range set: 10.0.0.1-10.0.0.2' });
    await cni('DEL', conf(dir));
    expect((await cni('STATUS', conf(dir))).exitCode).toBe(0);
  });

  it('fails with 50 when the data dir cannot be used', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, '');
    const r = await cni('STATUS', conf(path.join(file, 'sub')));
    expect((r.json as { code: number }).code).toBe(50);
    expect((r.json as { msg: string }).msg).toContain(`host-local data dir ${path.join(file, 'sub', 'net')} is not usable`);
  });
});
