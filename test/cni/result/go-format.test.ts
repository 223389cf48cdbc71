import { describe, expect, it } from 'vitest';
import { goIPConfig, goRoute } from '../../../src/cni/result/go-format.ts';

describe('Go formatting of CNI types', () => {
  it('prints a route like types.Route.String()', () => {
    expect(goRoute({ dst: '10.244.0.0/16' })).toBe('{Dst:{IP:10.244.0.0 Mask:ffff0000} GW:<nil> MTU:0 AdvMSS:0 Priority:0 Table:<nil> Scope:<nil>}');
    expect(goRoute({ dst: '::/0', gw: 'fd00::1', table: 100, scope: 0 })).toBe(
      '{Dst:{IP::: Mask:00000000000000000000000000000000} GW:fd00::1 MTU:0 AdvMSS:0 Priority:0 Table:100 Scope:0}',
    );
  });

  it('prints an IPConfig like %+v, with the interface index as a value', () => {
    expect(goIPConfig({ interface: 2, address: '10.1.2.3/24', gateway: '10.1.2.1' })).toBe(
      '{Interface:2 Address:{IP:10.1.2.3 Mask:ffffff00} Gateway:10.1.2.1}',
    );
    expect(goIPConfig({ address: '10.1.2.3/24' })).toBe('{Interface:<nil> Address:{IP:10.1.2.3 Mask:ffffff00} Gateway:<nil>}');
  });
});
