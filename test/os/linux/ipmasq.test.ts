import { describe, expect, it } from 'vitest';
import { parseCIDR } from '../../../src/net/ip.ts';
import { iptablesMasqRules, iptablesMasqTeardown, masqChainName, masqChainsOf, masqComment, nftMasqComment } from '../../../src/os/linux/ipmasq.ts';

// Masquerade rule texts (§3.4). The chain name is also compared with the
// reference plugin's own in test/plugins/bridge/del.test.ts.

const cidrs = (...s: string[]) => s.map((x) => parseCIDR(x)!);

describe('masquerade names', () => {
  it('builds CNI-<24 hex> chains and Go-quoted comments', () => {
    expect(masqChainName('testConfig', 'dummy-0')).toMatch(/^CNI-[0-9a-f]{24}$/);
    expect(masqChainName('a', 'bc')).toBe(masqChainName('ab', 'c'));
    expect(masqChainName('n', 'c1')).not.toBe(masqChainName('n', 'c2'));
    expect(masqComment('net', 'cid')).toBe('name: "net" id: "cid"');
  });

  it('builds the nftables comment with both hashes, truncated to 128 characters', () => {
    expect(nftMasqComment('net', 'eth0', 'cid')).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}, net: net, if: eth0, id: cid$/);
    expect(nftMasqComment('n', 'eth0', 'c'.repeat(200))).toHaveLength(128);
  });
});

describe('iptables masquerade documents', () => {
  const chain = masqChainName('net', 'cid');
  const c = '-m comment --comment "name: \\"net\\" id: \\"cid\\""';

  it('exempts every subnet before the catch-all and jumps from POSTROUTING per address', () => {
    expect(iptablesMasqRules(4, cidrs('10.1.2.3/24', '10.5.0.3/16'), 'net', 'cid')).toBe(
      [
        '*nat',
        `:${chain} - [0:0]`,
        `-A ${chain} -d 10.1.2.0/24 -j ACCEPT ${c}`,
        `-A ${chain} -d 10.5.0.0/16 -j ACCEPT ${c}`,
        `-A ${chain} ! -d 224.0.0.0/4 -j MASQUERADE ${c}`,
        `-A POSTROUTING -s 10.1.2.3/32 -j ${chain} ${c}`,
        `-A POSTROUTING -s 10.5.0.3/32 -j ${chain} ${c}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(iptablesMasqRules(6, cidrs('fd00::5/64'), 'net', 'cid')).toContain(`! -d ff00::/8 -j MASQUERADE`);
  });

  it('finds the jumps and the chain in iptables-save output, also the legacy -s ip/prefix form', () => {
    const other = masqChainName('net', 'other');
    const save = [
      '*nat',
      ':POSTROUTING ACCEPT [0:0]',
      `:${chain} - [0:0]`,
      `:${other} - [0:0]`,
      `-A POSTROUTING -s 10.1.2.3/32 ${c} -j ${chain}`,
      `-A POSTROUTING -s 10.1.2.3/24 ${c} -j ${chain}`,
      `-A POSTROUTING -s 10.1.2.4/32 -j ${other}`,
      `-A ${chain} -d 10.1.2.0/24 ${c} -j ACCEPT`,
      'COMMIT',
    ].join('\n');
    expect(iptablesMasqTeardown(save, chain)).toEqual([
      `-D POSTROUTING -s 10.1.2.3/32 ${c} -j ${chain}`,
      `-D POSTROUTING -s 10.1.2.3/24 ${c} -j ${chain}`,
      `-F ${chain}`,
      `-X ${chain}`,
    ]);
    expect(iptablesMasqTeardown(save, masqChainName('net', 'gone'))).toEqual([]);
  });

  it('tells which chains belong to which container of a network, by comment and hash', () => {
    const forged = 'CNI-000000000000000000000000';
    const save = [
      `-A ${chain} -d 10.1.2.0/24 ${c} -j ACCEPT`,
      `-A ${forged} -d 10.1.2.0/24 ${c} -j ACCEPT`,
      `-A ${masqChainName('other-net', 'x')} -d 10.9.0.0/24 -m comment --comment "name: \\"other-net\\" id: \\"x\\"" -j ACCEPT`,
    ].join('\n');
    expect([...masqChainsOf(save, 'net')]).toEqual([[chain, 'cid']]);
  });
});
