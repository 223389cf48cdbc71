import { describe, expect, it } from 'vitest';
import type { Result100 } from '../../../src/cni/result/types.ts';
import { formatCIDR, parseCIDR } from '../../../src/net/ip.ts';
import { calcGateways, planEnsureAddr, planGatewayAddrs } from '../../../src/plugins/bridge/gateways.ts';

// calcGateways and ensureAddr's decisions (§3.2 6.2, 6.5; §5.5 54).

const cidr = (s: string) => parseCIDR(s)!;
const texts = (cs: { ip: unknown; prefix: number }[]) => cs.map((c) => formatCIDR(c as never));

describe('calcGateways', () => {
  it('points IPs at the container, fills gateways and adds one default route per family', () => {
    const r: Result100 = {
      cniVersion: '1.1.0',
      ips: [{ address: '10.1.2.5/24' }, { address: '10.3.0.9/16', gateway: '10.3.0.254' }, { address: 'fd00::5/64' }],
    };
    const gws = calcGateways(r, { isGW: true, isDefaultGW: true });
    expect(r.ips).toEqual([
      { address: '10.1.2.5/24', gateway: '10.1.2.1', interface: 2 },
      { address: '10.3.0.9/16', gateway: '10.3.0.254', interface: 2 },
      { address: 'fd00::5/64', gateway: 'fd00::1', interface: 2 },
    ]);
    expect(r.routes).toEqual([
      { dst: '0.0.0.0/0', gw: '10.1.2.1' },
      { dst: '::/0', gw: 'fd00::1' },
    ]);
    expect(texts(gws[4])).toEqual(['10.1.2.1/24', '10.3.0.254/16']);
    expect(texts(gws[6])).toEqual(['fd00::1/64']);
  });

  it('keeps an IPAM default route that has a gateway, but not one without', () => {
    const withGw: Result100 = { cniVersion: '1.1.0', ips: [{ address: '10.1.2.5/24' }], routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.9' }] };
    calcGateways(withGw, { isGW: true, isDefaultGW: true });
    expect(withGw.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.2.9' }]);
    const noGw: Result100 = { cniVersion: '1.1.0', ips: [{ address: '10.1.2.5/24' }], routes: [{ dst: '0.0.0.0/0' }] };
    calcGateways(noGw, { isGW: true, isDefaultGW: true });
    expect(noGw.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
  });

  it('leaves gateways and routes alone when the bridge is no gateway', () => {
    const r: Result100 = { cniVersion: '1.1.0', ips: [{ address: '10.1.2.5/24' }] };
    const gws = calcGateways(r, { isGW: false, isDefaultGW: false });
    expect(r).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.1.2.5/24', interface: 2 }] });
    expect(gws).toEqual({ 4: [], 6: [] });
  });
});

describe('planEnsureAddr (54)', () => {
  it('does nothing when the exact address is there', () => {
    expect(planEnsureAddr('br', [cidr('10.1.2.1/24')], cidr('10.1.2.1/24'), false)).toEqual({ remove: [] });
  });

  it('refuses any other IPv4 address without forceAddress, and replaces it with', () => {
    expect(() => planEnsureAddr('br', [cidr('10.0.0.1/8')], cidr('10.1.2.3/16'), false)).toThrow(
      '"br" already has an IP address different from 10.1.2.3/16',
    );
    const ch = planEnsureAddr('br', [cidr('10.0.0.1/8')], cidr('10.1.2.3/16'), true);
    expect(texts(ch.remove)).toEqual(['10.0.0.1/8']);
    expect(formatCIDR(ch.add!)).toBe('10.1.2.3/16');
  });

  it('treats overlapping IPv6 subnets like IPv4, and lets others coexist', () => {
    expect(() => planEnsureAddr('br', [cidr('2001:db8:1::1/48')], cidr('2001:db8:1:2::1/64'), false)).toThrow('already has an IP address');
    const coexist = planEnsureAddr('br', [cidr('fe80::1/64'), cidr('2001:db8:1:2::1/64')], cidr('fd00:1234::1/64'), false);
    expect(coexist.remove).toEqual([]);
    expect(formatCIDR(coexist.add!)).toBe('fd00:1234::1/64');
  });

  it('sees the gateways it added before: a second IPv4 gateway conflicts with the first', () => {
    expect(() => planGatewayAddrs('br', [], [cidr('10.1.0.1/24'), cidr('10.2.0.1/24')], false)).toThrow(
      '"br" already has an IP address different from 10.2.0.1/24',
    );
    const both = planGatewayAddrs('br', [], [cidr('10.1.0.1/24'), cidr('fd00::1/64')], false);
    expect(both.map((c) => formatCIDR(c.add!))).toEqual(['10.1.0.1/24', 'fd00::1/64']);
  });
});
