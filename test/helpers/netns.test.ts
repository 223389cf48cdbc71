import { describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, ipJson, netnsExists, runIn } from './netns.ts';

// The harness itself: namespaces are real, isolated and cleaned up.

describe('netns harness', () => {
  it('creates an isolated namespace with only lo, and deletes it', async () => {
    const ns = createNetns();
    expect(netnsExists(ns)).toBe(true);
    const links = ipJson<{ ifname: string }[]>(ns, 'link', 'show');
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    const r = await runIn(ns, 'cat', ['/proc/sys/net/ipv4/ip_forward']);
    expect(r.code).toBe(0);
    deleteNetns(ns);
    expect(netnsExists(ns)).toBe(false);
  });
});
