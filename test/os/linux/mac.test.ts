import { describe, expect, it } from 'vitest';
import { parseMac, randomMac, randomVethName } from '../../../src/os/linux/mac.ts';

describe('MAC addresses', () => {
  it('parses the 6-byte forms Go accepts, lowercased with colons', () => {
    expect(parseMac('02:00:00:00:00:0A')).toBe('02:00:00:00:00:0a');
    expect(parseMac('02-00-00-00-00-0a')).toBe('02:00:00:00:00:0a');
    expect(parseMac('0200.0000.000a')).toBe('02:00:00:00:00:0a');
    for (const bad of ['zz', '02:00:00:00:00', '02:00-00:00:00:00', '2:0:0:0:0:a', '02:00:00:00:00:00:00']) expect(parseMac(bad)).toBeUndefined();
  });

  it('chooses unicast, locally administered MACs and veth<8 hex> names', () => {
    for (let i = 0; i < 50; i++) {
      const first = Number.parseInt(randomMac().slice(0, 2), 16);
      expect(first & 1).toBe(0);
      expect(first & 2).toBe(2);
    }
    expect(randomVethName()).toMatch(/^veth[0-9a-f]{8}$/);
  });
});
