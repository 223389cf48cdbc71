import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { formatCIDR } from '../../../src/net/ip.ts';
import { type SubnetEnv, parseSubnetEnv, readSubnetEnv } from '../../../src/plugins/flannel/subnet-env.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { SUBNET_DUAL, SUBNET_V4, SUBNET_V4_TWO_NETWORKS, SUBNET_V6 } from './helpers.ts';

// subnet.env as flanneld writes it (and as people break it).

const F = '/run/flannel/subnet.env';

function shape(env: SubnetEnv) {
  return {
    networks: env.networks.map(formatCIDR),
    subnet: env.subnet && formatCIDR(env.subnet),
    ipv6Networks: env.ipv6Networks.map(formatCIDR),
    ipv6Subnet: env.ipv6Subnet && formatCIDR(env.ipv6Subnet),
    mtu: env.mtu,
    ipMasq: env.ipMasq,
  };
}

function parseError(text: string): CniError {
  try {
    parseSubnetEnv(text, F);
  } catch (e) {
    return e as CniError;
  }
  throw new Error('expected a parse error');
}

describe('parseSubnetEnv', () => {
  // Reference case 10: IPv4, IPv6 and dual stack.
  it('reads an IPv4 file, normalising the subnet to its network address', () => {
    expect(shape(parseSubnetEnv(SUBNET_V4, F))).toEqual({
      networks: ['10.1.0.0/16'],
      subnet: '10.1.17.0/24',
      ipv6Networks: [],
      ipv6Subnet: undefined,
      mtu: 1472,
      ipMasq: true,
    });
  });

  it('reads an IPv6-only file', () => {
    expect(shape(parseSubnetEnv(SUBNET_V6, F))).toMatchObject({
      networks: [],
      subnet: undefined,
      ipv6Networks: ['fc00::/48'],
      ipv6Subnet: 'fc00::/64',
      mtu: 1472,
      ipMasq: true,
    });
  });

  it('reads a dual-stack file', () => {
    expect(shape(parseSubnetEnv(SUBNET_DUAL, F))).toMatchObject({
      networks: ['10.1.0.0/16'],
      subnet: '10.1.17.0/24',
      ipv6Networks: ['fc00::/48'],
      ipv6Subnet: 'fc00::/64',
    });
  });

  it('reads a comma list of networks, dropping duplicates and keeping order', () => {
    expect(shape(parseSubnetEnv(SUBNET_V4_TWO_NETWORKS, F)).networks).toEqual(['10.1.0.0/16', '192.168.0.0/16']);
    const dup = SUBNET_V4.replace('FLANNEL_NETWORK=10.1.0.0/16', 'FLANNEL_NETWORK=10.1.0.0/16,192.168.0.0/16,10.1.2.3/16,10.1.0.0/17');
    expect(shape(parseSubnetEnv(dup, F)).networks).toEqual(['10.1.0.0/16', '192.168.0.0/16', '10.1.0.0/17']);
  });

  it('takes FLANNEL_IPMASQ as true only when it says exactly "true"', () => {
    for (const v of ['false', 'True', 'TRUE', '1', '']) {
      expect(parseSubnetEnv(SUBNET_V4.replace('FLANNEL_IPMASQ=true', `FLANNEL_IPMASQ=${v}`), F).ipMasq).toBe(false);
    }
  });

  it('tolerates CRLF line endings (a file edited on Windows)', () => {
    expect(shape(parseSubnetEnv(SUBNET_DUAL.replaceAll('\n', '\r\n'), F))).toEqual(shape(parseSubnetEnv(SUBNET_DUAL, F)));
  });

  it('ignores unknown keys, comments and blank lines, and lets a later line win', () => {
    const text = `# written by hand\nFOO=bar\n\nexport FLANNEL_MTU=9000\n${SUBNET_V4}FLANNEL_MTU=1400\n`;
    expect(parseSubnetEnv(text, F).mtu).toBe(1400);
  });

  // Reference case 11.
  it('names all six keys when none is there', () => {
    const err = parseError('foo=bar');
    expect(err.msg).toBe(
      `${F} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ`,
    );
    expect(err.code).toBe(11);
  });

  it('names only the missing keys', () => {
    expect(parseError('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\n').msg).toBe(`${F} is missing FLANNEL_MTU, FLANNEL_IPMASQ`);
    // Like the reference, any one network and any one subnet will do.
    expect(() => parseSubnetEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_IPV6_SUBNET=fc00::/64\nFLANNEL_MTU=1\nFLANNEL_IPMASQ=false\n', F)).not.toThrow();
  });

  it('treats a known key without "=" as an error, not a crash', () => {
    const err = parseError(`${SUBNET_V4}FLANNEL_MTU\n`);
    expect(err.msg).toBe(`${F}: line 5: FLANNEL_MTU has no '=' and no value`);
    expect(err.code).toBe(6);
  });

  it('reports a bad CIDR or MTU with the file, the key and Go\'s parse error', () => {
    expect(parseError(SUBNET_V4.replace('10.1.17.1/24', '10.1.17.1')).msg).toBe(`${F}: FLANNEL_SUBNET: invalid CIDR address: 10.1.17.1`);
    expect(parseError(SUBNET_V4.replace('10.1.0.0/16', '10.1.0.0/16,')).msg).toBe(`${F}: FLANNEL_NETWORK: invalid CIDR address: `);
    expect(parseError(SUBNET_V4.replace('1472', '-1')).msg).toBe(`${F}: FLANNEL_MTU: strconv.ParseUint: parsing "-1": invalid syntax`);
    expect(parseError(SUBNET_V4.replace('1472', '4294967296')).msg).toBe(
      `${F}: FLANNEL_MTU: strconv.ParseUint: parsing "4294967296": value out of range`,
    );
    expect(parseSubnetEnv(SUBNET_V4.replace('1472', '4294967295'), F).mtu).toBe(4294967295);
  });
});

describe('readSubnetEnv', () => {
  it('reports a missing file the way Go does, naming it', async () => {
    const file = path.join(tempDir(), 'subnet.env');
    const err = (await readSubnetEnv(file, 0).catch((e: unknown) => e)) as CniError;
    expect(err.msg).toBe(`open ${file}: no such file or directory`);
    expect(err.code).toBe(11);
  });

  it('waits for a file that flanneld writes a moment later', async () => {
    const file = path.join(tempDir(), 'subnet.env');
    setTimeout(() => fs.writeFileSync(file, SUBNET_V4), 150);
    expect((await readSubnetEnv(file, 2000)).mtu).toBe(1472);
  });

  it('waits for a half-written file to be completed (flanneld on Windows writes in place)', async () => {
    const file = path.join(tempDir(), 'subnet.env');
    // Cut inside the last value: "FLANNEL_IPMASQ=tr" would read as false.
    fs.writeFileSync(file, SUBNET_V4.slice(0, SUBNET_V4.length - 3));
    setTimeout(() => fs.writeFileSync(file, SUBNET_V4), 150);
    expect((await readSubnetEnv(file, 2000)).ipMasq).toBe(true);
  });

  it('waits when keys are still missing, then gives up with the last error within the budget', async () => {
    const file = path.join(tempDir(), 'subnet.env');
    fs.writeFileSync(file, 'FLANNEL_NETWORK=10.1.0.0/16\n');
    const start = Date.now();
    const err = (await readSubnetEnv(file, 300).catch((e: unknown) => e)) as CniError;
    const took = Date.now() - start;
    expect(err.msg).toBe(`${file} is missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ`);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1500);
  });

  it('accepts a complete file without a final newline once it is not fresh', async () => {
    const file = path.join(tempDir(), 'subnet.env');
    fs.writeFileSync(file, SUBNET_V4.trimEnd());
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const start = Date.now();
    expect((await readSubnetEnv(file, 5000)).ipMasq).toBe(true);
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it('reports an unreadable path as an IO failure naming it', async () => {
    const dir = tempDir();
    const err = (await readSubnetEnv(dir, 0).catch((e: unknown) => e)) as CniError;
    expect(err.msg).toBe(`read ${dir}: is a directory`);
    expect(err.code).toBe(5);
  });
});
