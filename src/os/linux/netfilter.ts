import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { execTool } from './exec.ts';

// iptables and nftables, each changed in one transaction per call:
// `iptables-restore --noflush` per address family, `nft -j -f -` with a JSON
// document (no rule text to quote). Reading the current state for DEL and GC
// is one process for every table needed.

export type Family = 4 | 6;

/** Is `tool` an executable file on PATH? (Cheaper than running it to find out.) */
export function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

const restoreTool = (family: Family): string => (family === 4 ? 'iptables-restore' : 'ip6tables-restore');

/** Apply an iptables-restore document without flushing anything it does not name. */
export async function iptablesRestore(family: Family, text: string): Promise<void> {
  const out = await execTool(restoreTool(family), ['--noflush', '-w'], text);
  if (out.code !== 0) {
    throw new CniError(ErrorCode.Internal, `${restoreTool(family)} failed: ${out.stderr.trim() || `exit status ${out.code}`}`);
  }
}

/** Run one nftables JSON transaction. */
export async function nftApply(commands: readonly unknown[]): Promise<void> {
  if (commands.length === 0) return;
  // As an argument: `nft -f -` opens /dev/stdin, which fails on the socket Node gives a child.
  const out = await execTool('nft', ['-j', JSON.stringify({ nftables: commands })]);
  if (out.code !== 0) throw new CniError(ErrorCode.Internal, `nft failed: ${out.stderr.trim() || `exit status ${out.code}`}`);
}

export interface NetfilterSnapshot {
  /** iptables-save -t nat per family; undefined when the tool failed or was not asked for. */
  nat4?: string;
  nat6?: string;
  /** `nft -j list` outputs, parsed; undefined when the chain or table does not exist. */
  nftMasq?: NftListing;
  nftBridge?: NftListing;
}

export interface NftListing {
  chains: string[];
  rules: NftRule[];
}

export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr?: unknown[];
}

// Fixed command texts only: nothing from a config reaches this shell.
const SECTIONS = {
  nat4: 'iptables-save -t nat',
  nat6: 'ip6tables-save -t nat',
  nftMasq: 'nft -j list chain inet cni_plugins_masquerade masq_checks',
  nftBridge: 'nft -j list table bridge nat',
} as const;

type Section = keyof typeof SECTIONS;

const MARK = '#weft-section ';
const FAILED = '#weft-failed';

/** Read the asked-for tables in one process. */
export async function netfilterSnapshot(want: readonly Section[]): Promise<NetfilterSnapshot> {
  if (want.length === 0) return {};
  const script = want.map((s) => `echo '${MARK}${s}'; ${SECTIONS[s]} 2>/dev/null || echo '${FAILED}'`).join('\n');
  const out = await execTool('sh', ['-c', script]);
  const snap: NetfilterSnapshot = {};
  const parts = out.stdout.split(MARK).slice(1);
  for (const part of parts) {
    const nl = part.indexOf('\n');
    const name = part.slice(0, nl) as Section;
    const body = part.slice(nl + 1);
    if (!Object.hasOwn(SECTIONS, name) || body.includes(FAILED)) continue;
    if (name === 'nat4' || name === 'nat6') snap[name] = body;
    else snap[name] = nftListing(body);
  }
  return snap;
}

function nftListing(text: string): NftListing {
  let doc: { nftables?: Record<string, unknown>[] };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return { chains: [], rules: [] };
  }
  const items = doc.nftables ?? [];
  return {
    chains: items.flatMap((o) => (o.chain ? [(o.chain as { name: string }).name] : [])),
    rules: items.flatMap((o) => (o.rule ? [o.rule as NftRule] : [])),
  };
}
