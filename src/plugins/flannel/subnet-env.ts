import fs from 'node:fs';
import { CniError, ErrorCode, asCniError } from '../../cni/errors.ts';
import { type CIDR, networkOf, parseCIDR } from '../../net/ip.ts';
import { goPathError } from '../../cni/oserror.ts';
import { FileReadError, readRegularFile } from '../../cni/regular-file.ts';

// flanneld's subnet.env, read the way the reference reads it (line by line,
// exact keys, unknown keys ignored, CRLF tolerated), but retried for a short
// while: flanneld may still be starting, and on Windows it writes the file in
// place, so a reader can catch it half-written.

export interface SubnetEnv {
  /** The file it came from, for messages. */
  file: string;
  /** FLANNEL_NETWORK: network addresses, de-duplicated, in file order. */
  networks: CIDR[];
  /** FLANNEL_SUBNET as a network address (10.1.17.1/24 → 10.1.17.0/24). */
  subnet?: CIDR;
  ipv6Networks: CIDR[];
  ipv6Subnet?: CIDR;
  mtu: number;
  ipMasq: boolean;
}

const MAX_UINT32 = 4294967295;

/** A subnet.env problem that may clear up on its own (file absent or incomplete). */
const notReady = (msg: string) => new CniError(ErrorCode.TryAgainLater, msg);
const malformed = (msg: string) => new CniError(ErrorCode.DecodingFailure, msg);

function parseCidrValue(file: string, key: string, value: string): CIDR {
  const c = parseCIDR(value);
  if (!c) throw malformed(`${file}: ${key}: invalid CIDR address: ${value}`);
  return networkOf(c);
}

function parseCidrList(file: string, key: string, value: string): CIDR[] {
  const out: CIDR[] = [];
  for (const part of value.split(',')) {
    const c = parseCidrValue(file, key, part);
    if (!out.some((o) => o.prefix === c.prefix && o.ip.family === c.ip.family && o.ip.value === c.ip.value)) out.push(c);
  }
  return out;
}

/** strconv.ParseUint(s, 10, 32), with Go's messages. */
function parseMtu(file: string, value: string): number {
  if (!/^[0-9]+$/.test(value)) throw malformed(`${file}: FLANNEL_MTU: strconv.ParseUint: parsing ${JSON.stringify(value)}: invalid syntax`);
  const n = Number(value);
  if (n > MAX_UINT32) throw malformed(`${file}: FLANNEL_MTU: strconv.ParseUint: parsing ${JSON.stringify(value)}: value out of range`);
  return n;
}

const KNOWN_KEYS = new Set(['FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ']);

/** Parse the text of a subnet.env file. Pure; errors name the file. */
export function parseSubnetEnv(text: string, file: string): SubnetEnv {
  let networks: CIDR[] = [];
  let ipv6Networks: CIDR[] = [];
  let subnet: CIDR | undefined;
  let ipv6Subnet: CIDR | undefined;
  let mtu: number | undefined;
  let ipMasq: boolean | undefined;

  const lines = text.split('\n');
  lines.forEach((rawLine, idx) => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (!KNOWN_KEYS.has(key)) return;
    if (eq < 0) throw malformed(`${file}: line ${idx + 1}: ${key} has no '=' and no value`);
    const value = line.slice(eq + 1);
    switch (key) {
      case 'FLANNEL_NETWORK':
        networks = parseCidrList(file, key, value);
        break;
      case 'FLANNEL_SUBNET':
        subnet = parseCidrValue(file, key, value);
        break;
      case 'FLANNEL_IPV6_NETWORK':
        ipv6Networks = parseCidrList(file, key, value);
        break;
      case 'FLANNEL_IPV6_SUBNET':
        ipv6Subnet = parseCidrValue(file, key, value);
        break;
      case 'FLANNEL_MTU':
        mtu = parseMtu(file, value);
        break;
      case 'FLANNEL_IPMASQ':
        ipMasq = value === 'true';
        break;
    }
  });

  const missing: string[] = [];
  if (networks.length === 0 && ipv6Networks.length === 0) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (!subnet && !ipv6Subnet) missing.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === undefined) missing.push('FLANNEL_MTU');
  if (ipMasq === undefined) missing.push('FLANNEL_IPMASQ');
  if (missing.length > 0) throw notReady(`${file} is missing ${missing.join(', ')}`);

  const env: SubnetEnv = { file, networks, ipv6Networks, mtu: mtu!, ipMasq: ipMasq! };
  if (subnet) env.subnet = subnet;
  if (ipv6Subnet) env.ipv6Subnet = ipv6Subnet;
  return env;
}

// flanneld ends every line with "\n". A file without one that changed this
// recently is most likely still being written (its last value may be cut).
const STILL_WRITING_MS = 2000;

/** The most of a subnet.env weft reads: flanneld writes six short lines. */
export const SUBNET_ENV_LIMIT = 64 * 1024;

function readOnce(file: string, lastChance: boolean): SubnetEnv {
  let text: string;
  try {
    text = readRegularFile(file, SUBNET_ENV_LIMIT, 'subnet.env').toString('utf8');
    if (!lastChance && text !== '' && !text.endsWith('\n')) {
      const age = Date.now() - fs.statSync(file).mtimeMs;
      if (age < STILL_WRITING_MS) throw notReady(`${file} is being written (no newline at its end yet)`);
    }
  } catch (e) {
    if (e instanceof CniError) throw e;
    if (e instanceof FileReadError) throw e.code === 'ENOENT' ? notReady(e.message) : new CniError(ErrorCode.IOFailure, e.message);
    throw new CniError(ErrorCode.IOFailure, goPathError('stat', file, e));
  }
  return parseSubnetEnv(text, file);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Read subnet.env, retrying any failure until `waitMs` has passed; the last
 * error is thrown (it names the file).
 */
export async function readSubnetEnv(file: string, waitMs: number): Promise<SubnetEnv> {
  const deadline = Date.now() + waitMs;
  let delay = 20;
  for (;;) {
    const remaining = deadline - Date.now();
    const lastChance = remaining <= 0;
    try {
      return readOnce(file, lastChance);
    } catch (e) {
      if (lastChance) throw e;
    }
    await sleep(Math.min(delay, remaining));
    delay = Math.min(delay * 2, 200);
  }
}

/** How the reference words a subnet.env failure; STATUS passes its own code. */
export function subnetEnvFailure(e: unknown, code?: number): CniError {
  const err = asCniError(e);
  return new CniError(
    code ?? err.code,
    `failed to load flannel 'subnet.env' file: ${err.msg}. Check the flannel pod log for this node.`,
    err.details,
  );
}
