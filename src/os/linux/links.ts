import fs from 'node:fs';

// Reading links of this process's namespace from /sys/class/net instead of
// spawning `ip`: existence, kind, MAC, operstate, MTU. (A runtime gives a
// plugin a /sys of its own namespace; `ip netns exec` does the same.)

const sysPath = (name: string, attr = ''): string => `/sys/class/net/${name}${attr ? `/${attr}` : ''}`;

function readAttr(name: string, attr: string): string | undefined {
  try {
    return fs.readFileSync(sysPath(name, attr), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export const linkExists = (name: string): boolean => fs.existsSync(sysPath(name));

export const isBridge = (name: string): boolean => fs.existsSync(sysPath(name, 'bridge'));

/** The MAC as the kernel prints it (lowercase, colons), if the link exists. */
export const linkMac = (name: string): string | undefined => readAttr(name, 'address');

export const operState = (name: string): string | undefined => readAttr(name, 'operstate');

export const linkMtu = (name: string): number | undefined => {
  const v = readAttr(name, 'mtu');
  return v === undefined ? undefined : Number(v);
};

/** How the link's MAC was assigned; 3 (NET_ADDR_SET) means it no longer follows its ports. */
export const macAssignType = (name: string): number | undefined => {
  const v = readAttr(name, 'addr_assign_type');
  return v === undefined ? undefined : Number(v);
};
