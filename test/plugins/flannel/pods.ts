import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { containerIdFor } from '../../../src/cnitool/cli.ts';
import { type Netns, createNetns, deleteNetns, ipJson } from '../../helpers/netns.ts';
import { repoRoot } from '../../helpers/tmp.ts';
import { type CnitoolCall, cnitool, makeNode, netDir } from './chain.ts';
import { cniPathDir } from './cni-path.ts';

// A node running kube-flannel's conflist, unchanged, with any number of
// pods, driven by cnitool as a runtime drives it (see chain.ts), and what a
// test looks at: leases, attachment records, saved configs.

const CONFLIST = fs.readFileSync(path.join(repoRoot, 'conf', 'linux', '10-flannel.conflist'), 'utf8');

export interface Pod {
  ns: Netns;
  /** The netns path the plugins see. */
  netns: string;
  id: string;
  ip?: string;
}

export function kubeFlannelNode(subnetEnv: string) {
  const host = createNetns('wrh');
  // makeNode's own pod slot is not used here: every pod is bound under <node>/pods.
  const node = makeNode(host, createNetns('wra'));
  const writeSubnetEnv = (text: string) => fs.writeFileSync(path.join(node.runFlannel, 'subnet.env'), text);
  writeSubnetEnv(subnetEnv);
  const call: CnitoolCall = {
    confDir: netDir('10-flannel.conflist', CONFLIST),
    cniPath: cniPathDir(['flannel', 'bridge', 'host-local', 'portmap', 'cnitool']),
    network: 'cbr0',
  };
  const leaseDir = path.join(node.varLibCni, 'networks', 'cbr0');
  const recordDir = path.join(node.varLibCni, 'networks', '.weft', 'cbr0', 'attachments');
  const pod = (): Pod => {
    const ns = createNetns('wrp');
    const netns = node.addPod(ns);
    return { ns, netns, id: containerIdFor(netns) };
  };
  const add = async (p: Pod) => {
    const r = await cnitool(node, 'add', call, p.netns);
    expect(r.code, r.stderr).toBe(0);
    p.ip = JSON.parse(r.stdout).ips[0].address.split('/')[0];
    return r;
  };
  const del = async (p: Pod) => {
    const r = await cnitool(node, 'del', call, p.netns);
    expect(r.code, r.stderr).toBe(0);
  };
  const leases = (): Map<string, string> =>
    new Map(
      fs
        .readdirSync(leaseDir)
        .filter((n) => /^10\./.test(n))
        .map((n) => [n, fs.readFileSync(path.join(leaseDir, n), 'utf8')]),
    );
  const records = (): string[] => (fs.existsSync(recordDir) ? fs.readdirSync(recordDir).filter((n) => !n.startsWith('.')).sort() : []);
  const saved = (p: Pod) => fs.existsSync(path.join(node.varLibCni, 'flannel', p.id));
  /** The pod is gone without a DEL: its namespace and the path it was bound at. */
  const vanish = (p: Pod) => {
    deleteNetns(p.ns);
    fs.rmSync(p.netns);
  };
  return { host, node, call, pod, add, del, leases, records, recordDir, saved, vanish, writeSubnetEnv };
}

export type KubeFlannelNode = ReturnType<typeof kubeFlannelNode>;

/** The global addresses of a pod's eth0. */
export const podAddr = (ns: Netns): string[] =>
  ipJson<{ addr_info: { local: string; scope: string }[] }[]>(ns, 'addr', 'show', 'dev', 'eth0')[0]!.addr_info.filter((a) => a.scope === 'global').map((a) => a.local);
