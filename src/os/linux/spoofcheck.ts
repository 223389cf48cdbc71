import { CniError, ErrorCode } from '../../cni/errors.ts';
import { type NftRule, netfilterSnapshot, nftApply } from './netfilter.ts';

// MAC spoof-check (pkg/link/spoofcheck.go): in the nftables bridge family,
// table nat, frames entering from the pod's host veth must carry the pod's
// MAC. Same table, chain names and comments as the reference plugin.

const TABLE = { family: 'bridge', table: 'nat' } as const;
const PREROUTING = 'PREROUTING';

/** `<containerID>-<ifname>`: the reference's uniqueID. */
export const spoofCheckId = (containerId: string, ifName: string): string => `${containerId}-${ifName}`;

const ifaceChain = (id: string): string => `cni-br-iface-${id}`;
const macChain = (id: string): string => `${ifaceChain(id)}-mac`;
const comment = (id: string): string => `macspoofchk-${id}`;

export function spoofCheckRules(hostVeth: string, mac: string, id: string): unknown[] {
  const rule = (chain: string, expr: unknown[]) => ({ add: { rule: { ...TABLE, chain, comment: comment(id), expr } } });
  return [
    { add: { table: { family: 'bridge', name: 'nat' } } },
    { add: { chain: { ...TABLE, name: PREROUTING, type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept' } } },
    { add: { chain: { ...TABLE, name: ifaceChain(id) } } },
    { add: { chain: { ...TABLE, name: macChain(id) } } },
    { flush: { chain: { ...TABLE, name: ifaceChain(id) } } },
    { flush: { chain: { ...TABLE, name: macChain(id) } } },
    rule(PREROUTING, [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: hostVeth } }, { jump: { target: ifaceChain(id) } }]),
    rule(ifaceChain(id), [{ jump: { target: macChain(id) } }]),
    rule(macChain(id), [{ match: { op: '==', left: { payload: { protocol: 'ether', field: 'saddr' } }, right: mac } }, { return: null }]),
    rule(macChain(id), [{ drop: null }]),
  ];
}

export async function setupSpoofCheck(hostVeth: string, mac: string, id: string): Promise<void> {
  try {
    await nftApply(spoofCheckRules(hostVeth, mac, id));
  } catch (e) {
    throw new CniError(ErrorCode.Internal, `failed to setup spoof-check: ${(e as Error).message}`);
  }
}

/** The PREROUTING rules that jump to this attachment's chain. */
function jumpsTo(rules: readonly NftRule[], id: string): NftRule[] {
  const target = `"target":${JSON.stringify(ifaceChain(id))}`;
  return rules.filter((r) => r.chain === PREROUTING && r.comment === comment(id) && JSON.stringify(r.expr ?? []).includes(target));
}

/** Remove this attachment's rules and chains; nothing there is not an error. */
export async function teardownSpoofCheck(id: string): Promise<void> {
  const table = (await netfilterSnapshot(['nftBridge'])).nftBridge;
  if (table === undefined) return;
  const jumps = jumpsTo(table.rules, id);
  const chains = [ifaceChain(id), macChain(id)].filter((c) => table.chains.includes(c));
  try {
    await nftApply([
      ...jumps.map((r) => ({ delete: { rule: { ...TABLE, chain: PREROUTING, handle: r.handle } } })),
      ...chains.map((name) => ({ delete: { chain: { ...TABLE, name } } })),
    ]);
  } catch (e) {
    throw new CniError(ErrorCode.Internal, `failed to teardown spoof-check: ${(e as Error).message}`);
  }
}
