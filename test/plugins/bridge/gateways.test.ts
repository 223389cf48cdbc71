import { describe, expect, it } from 'vitest';
import type { Result100 } from '../../../src/cni/result/types.ts';
import { formatCIDR, networkOf, parseCIDR } from '../../../src/net/ip.ts';
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

const none = () => false;
const all = () => true;
const inUseIn = (...subnets: string[]) => (a: { ip: unknown; prefix: number }) =>
  subnets.some((s) => formatCIDR(networkOf(a as never)) === s);

describe('planEnsureAddr (54)', () => {
  it('does nothing when the exact address is there', () => {
    expect(planEnsureAddr([cidr('10.1.2.1/24')], cidr('10.1.2.1/24'), { forceAddress: false, inUse: all })).toEqual({ remove: [] });
  });

  it('with forceAddress, replaces any other IPv4 address whether pods use it or not, as the reference', () => {
    const ch = planEnsureAddr([cidr('10.0.0.1/8')], cidr('10.1.2.3/16'), { forceAddress: true, inUse: all });
    expect(texts(ch.remove)).toEqual(['10.0.0.1/8']);
    expect(formatCIDR(ch.add!)).toBe('10.1.2.3/16');
  });

  it('with forceAddress, replaces an overlapping IPv6 address and lets others coexist, as the reference', () => {
    const ch = planEnsureAddr([cidr('2001:db8:1::1/48'), cidr('fd00:9::1/64')], cidr('2001:db8:1:2::1/64'), { forceAddress: true, inUse: none });
    expect(texts(ch.remove)).toEqual(['2001:db8:1::1/48']);
  });

  it('without forceAddress, removes an old gateway whose subnet no lease lies in and adds the new one (subnet.env changed)', () => {
    const ch = planEnsureAddr([cidr('10.244.1.1/24')], cidr('10.244.7.1/24'), { forceAddress: false, inUse: none });
    expect(texts(ch.remove)).toEqual(['10.244.1.1/24']);
    expect(formatCIDR(ch.add!)).toBe('10.244.7.1/24');
  });

  it('without forceAddress, keeps an address pods still use and adds the gateway beside it', () => {
    const ch = planEnsureAddr([cidr('10.244.1.1/24'), cidr('10.9.0.1/16')], cidr('10.244.7.1/24'), { forceAddress: false, inUse: inUseIn('10.244.1.0/24') });
    expect(texts(ch.remove)).toEqual(['10.9.0.1/16']);
    expect(formatCIDR(ch.add!)).toBe('10.244.7.1/24');
  });

  it('cleans up an old gateway also when the new one is there already', () => {
    const ch = planEnsureAddr([cidr('10.244.1.1/24'), cidr('10.244.7.1/24')], cidr('10.244.7.1/24'), { forceAddress: false, inUse: inUseIn('10.244.7.0/24') });
    expect(ch).toEqual({ remove: [cidr('10.244.1.1/24')] });
  });

  it('treats IPv6 the same, and never touches a link-local address', () => {
    const ch = planEnsureAddr([cidr('fe80::1/64'), cidr('2001:db8:1:2::1/64'), cidr('fd00:1::1/64')], cidr('fd00:1234::1/64'), {
      forceAddress: false,
      inUse: inUseIn('fd00:1::/64'),
    });
    expect(texts(ch.remove)).toEqual(['2001:db8:1:2::1/64']);
    expect(formatCIDR(ch.add!)).toBe('fd00:1234::1/64');
  });

  it('sees the gateways it added before: a second IPv4 gateway joins the first, which this ADD\'s lease uses', () => {
    const both = planGatewayAddrs([], [cidr('10.1.0.1/24'), cidr('10.2.0.1/24'), cidr('fd00::1/64')], { forceAddress: false, inUse: inUseIn('10.1.0.0/24', '10.2.0.0/24') });
    expect(both).toEqual([{ remove: [], add: cidr('10.1.0.1/24') }, { remove: [], add: cidr('10.2.0.1/24') }, { remove: [], add: cidr('fd00::1/64') }]);
  });
});
