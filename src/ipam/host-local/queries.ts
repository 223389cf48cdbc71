import fs from 'node:fs';
import path from 'node:path';
import { type CIDR, type IP, cidrContains } from '../../net/ip.ts';
import { leaseFileIP, scanLeases, storePaths } from './store.ts';

// Read-only views of host-local's store for other plugins. They take no lock:
// a lease file is linked into place whole, so what they see is true, if
// perhaps a moment old.

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** The leases of `network`, by owner: "<containerID>\r\n<ifname>" (or a bare ID, from an old version). */
export async function leasesByOwner(dataDir: string, network: string): Promise<Map<string, IP[]>> {
  const out = new Map<string, IP[]>();
  for (const lease of await scanLeases(storePaths(dataDir, network), async () => {})) {
    out.set(lease.content, [...(out.get(lease.content) ?? []), lease.ip]);
  }
  return out;
}

/**
 * Does any lease of any network kept in `dataDir` lie in `subnet`? A folder
 * that cannot be read counts as yes: an address is never judged unused
 * because its users could not be seen.
 */
export function anyLeaseIn(dataDir: string, subnet: CIDR): boolean {
  let networks: fs.Dirent[];
  try {
    networks = fs.readdirSync(dataDir, { withFileTypes: true });
  } catch (e) {
    return errno(e) !== 'ENOENT';
  }
  for (const net of networks) {
    // weft's own folder (.weft) and files are not networks.
    if (!net.isDirectory() || net.name.startsWith('.')) continue;
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dataDir, net.name));
    } catch (e) {
      if (errno(e) === 'ENOENT') continue;
      return true;
    }
    for (const name of names) {
      const ip = leaseFileIP(name);
      if (ip && cidrContains(subnet, ip)) return true;
    }
  }
  return false;
}
