import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.ts';
import { REFERENCE, WEFT, exec, leases, resultIPs } from './harness.ts';

// weft against the reference plugin it replaces (/usr/lib/cni/host-local,
// v1.1.1, spec versions up to 1.0.0): a store either one wrote keeps
// working under the other, in both directions, and both hand out the same
// addresses in the same order.

const conf = (dataDir: string, version = '1.0.0') => ({
  cniVersion: version,
  name: 'compat',
  type: 'bridge',
  ipam: {
    type: 'host-local',
    dataDir,
    ranges: [[{ subnet: '10.9.0.0/29', rangeEnd: '10.9.0.5' }, { subnet: '10.9.1.0/29', rangeStart: '10.9.1.3' }], [{ subnet: '2001:db8:9::/125' }]],
  },
});

describe('compatibility with the reference host-local', () => {
  it('is installed (CI installs containernetworking-plugins)', () => expect(fs.existsSync(REFERENCE)).toBe(true));

  it('takes over a store the reference wrote (upgrade in place)', async () => {
    const dir = tempDir();
    for (const id of ['r1', 'r2', 'r3']) expect((await exec(REFERENCE, 'ADD', conf(dir), { containerId: id })).exitCode).toBe(0);
    await exec(REFERENCE, 'DEL', conf(dir), { containerId: 'r2' });
    // A repeated ADD answers with the reference's lease; CHECK finds it.
    expect(resultIPs((await exec(WEFT, 'ADD', conf(dir), { containerId: 'r1' })).json)).toEqual(['10.9.0.2', '2001:db8:9::2']);
    expect((await exec(WEFT, 'CHECK', conf(dir), { containerId: 'r3' })).exitCode).toBe(0);
    // Round-robin continues after the reference's last_reserved_ip.
    expect(resultIPs((await exec(WEFT, 'ADD', conf(dir), { containerId: 'w1' })).json)).toEqual(['10.9.0.5', '2001:db8:9::5']);
    expect((await exec(WEFT, 'DEL', conf(dir), { containerId: 'r3' })).exitCode).toBe(0);
    expect(leases(dir, 'compat')).toEqual({
      '10.9.0.2': 'r1\r\neth0',
      '2001:db8:9::2': 'r1\r\neth0',
      '10.9.0.5': 'w1\r\neth0',
      '2001:db8:9::5': 'w1\r\neth0',
    });
  });

  it('leaves a store the reference keeps working with (rollback)', async () => {
    const dir = tempDir();
    for (const id of ['w1', 'w2', 'w3']) expect((await exec(WEFT, 'ADD', conf(dir), { containerId: id })).exitCode).toBe(0);
    await exec(WEFT, 'DEL', conf(dir), { containerId: 'w2' });
    // The reference sees weft's leases as its own: a repeated ADD is its duplicate error.
    const again = await exec(REFERENCE, 'ADD', conf(dir), { containerId: 'w1' });
    expect(again.json?.msg).toBe('failed to allocate for range 0: 10.9.0.2 has been allocated to w1, duplicate allocation is not allowed');
    expect((await exec(REFERENCE, 'CHECK', conf(dir), { containerId: 'w3' })).exitCode).toBe(0);
    expect(resultIPs((await exec(REFERENCE, 'ADD', conf(dir), { containerId: 'r1' })).json)).toEqual(['10.9.0.5', '2001:db8:9::5']);
    expect((await exec(REFERENCE, 'DEL', conf(dir), { containerId: 'w3' })).exitCode).toBe(0);
    expect(Object.keys(leases(dir, 'compat')).sort()).toEqual(['10.9.0.2', '10.9.0.5', '2001:db8:9::2', '2001:db8:9::5']);
    // weft's own files are outside the reference's folder.
    expect(fs.readdirSync(path.join(dir, 'compat')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('fails bad configs with the reference messages (weft adds the right CNI code)', async () => {
    const dir = tempDir();
    const base = { cniVersion: '1.0.0', name: 'n' };
    const ipam = (x: Record<string, unknown>) => ({ ...base, ipam: { dataDir: dir, ...x } });
    const cases: [unknown, string][] = [
      [{ ...base }, ''],
      [ipam({}), ''],
      [ipam({ ranges: [[]] }), ''],
      [ipam({ ranges: [[{}]] }), ''],
      [ipam({ subnet: '10.0.0.0/31' }), ''],
      [ipam({ subnet: '10.0.0.5/24' }), ''],
      [ipam({ subnet: '2001:db8::5/64' }), ''],
      [ipam({ subnet: '10.0.0.0/24', rangeStart: '10.0.1.0' }), ''],
      [ipam({ subnet: '10.0.0.0/24', rangeEnd: '10.0.1.0' }), ''],
      [ipam({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.40' }), ''],
      [ipam({ ranges: [[{ subnet: '10.1.0.0/22' }, { subnet: '2001:db8::/64' }]] }), ''],
      [ipam({ ranges: [[{ subnet: '10.1.0.0/22' }, { subnet: '10.1.2.0/24' }]] }), ''],
      [ipam({ ranges: [[{ subnet: '10.1.0.0/22' }], [{ subnet: '10.1.2.0/24' }]] }), ''],
      [{ ...ipam({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.2.2.0/24' }]] }), cniVersion: '0.2.0' }, ''],
      [ipam({ subnet: '10.0.0.0/24' }), 'IP=10.0.0.1'],
      [ipam({ subnet: '10.0.0.0/24' }), 'IP=10.9.0.1'],
      [ipam({ subnet: '10.0.0.0/24' }), 'IP=x'],
      [ipam({ subnet: '10.0.0.0/24' }), 'foo=bar'],
      [ipam({ subnet: '10.0.0.0/24x' }), ''],
      [ipam({ subnet: '::ffff:10.0.0.0/120' }), ''],
      [ipam({ subnet: '10.0.0.0/24', gateway: 'g' }), ''],
      [ipam({ subnet: '10.0.0.0/24', routes: [{ dst: 'x' }] }), ''],
      [ipam({ subnet: '10.0.0.0/24', resolvConf: path.join(dir, 'none') }), ''],
      [{ ...ipam({ subnet: '10.0.0.0/24' }), runtimeConfig: { ips: ['x'] } }, ''],
      [{ ...ipam({ subnet: '10.0.0.0/24' }), runtimeConfig: { ips: [''] } }, ''],
      [{ ...ipam({ subnet: '10.0.0.0/24' }), runtimeConfig: { ipRanges: [[{ subnet: '10.0.0.0/24' }]] } }, ''],
      [ipam({ ranges: [{ subnet: '10.0.0.0/24' }] }), ''],
      [ipam({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: 7 }]] }), ''],
      [{ ...base, ipam: { dataDir: 7 } }, ''],
    ];
    for (const [c, args] of cases) {
      const [weft, ref] = await Promise.all([exec(WEFT, 'ADD', c, { args }), exec(REFERENCE, 'ADD', c, { args })]);
      expect(ref.exitCode, JSON.stringify(c)).toBe(1);
      expect({ c, msg: weft.json?.msg }).toEqual({ c, msg: ref.json?.msg });
      expect([4, 5, 6, 7]).toContain(weft.json?.code);
    }
  });

  it('hands out the same addresses as the reference for the same ADD/DEL sequence, even taking turns on one store', async () => {
    // A fixed random sequence over small pools, so that allocation wraps around and the IPv6 set runs out.
    const ops = fc.sample(
      fc.array(fc.record({ del: fc.integer({ min: 0, max: 9 }).map((n) => n < 4), id: fc.integer({ min: 0, max: 11 }), weft: fc.boolean() }), { minLength: 50, maxLength: 50 }),
      { numRuns: 1, seed: 20241 },
    )[0]!;
    const refDir = tempDir();
    const weftDir = tempDir();
    const mixedDir = tempDir();
    const held = new Set<number>();
    for (const op of ops) {
      const command = op.del ? 'DEL' : 'ADD';
      if (!op.del && held.has(op.id)) continue; // the reference refuses a repeated ADD; weft answers it
      if (op.del) held.delete(op.id);
      else held.add(op.id);
      const o = { containerId: `c${op.id}` };
      const [ref, weft, mixed] = await Promise.all([
        exec(REFERENCE, command, conf(refDir), o),
        exec(WEFT, command, conf(weftDir), o),
        exec(op.weft ? WEFT : REFERENCE, command, conf(mixedDir), o),
      ]);
      const label = `${command} c${op.id}`;
      expect({ label, ips: resultIPs(weft.json), ok: weft.exitCode === 0 }).toEqual({ label, ips: resultIPs(ref.json), ok: ref.exitCode === 0 });
      expect({ label, ips: resultIPs(mixed.json), ok: mixed.exitCode === 0 }).toEqual({ label, ips: resultIPs(ref.json), ok: ref.exitCode === 0 });
      if (ref.exitCode !== 0) {
        expect(weft.json?.msg).toBe(ref.json?.msg);
        if (!op.del) held.delete(op.id);
      }
    }
    expect(leases(weftDir, 'compat')).toEqual(leases(refDir, 'compat'));
    expect(leases(mixedDir, 'compat')).toEqual(leases(refDir, 'compat'));
  });
});
