import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../helpers/run.ts';
import { cniBin } from '../../helpers/tmp.ts';
import { CYCLE_TIMEOUT_MS, IPAM_CNI_PATH, fullCycle, hostGwNode, leases, vxlanNode } from './harness.ts';

// The whole life of a pod's network through weft's built executables:
// weft -> PowerShell -> weft-hns.ps1 -> the native HNS stand-in, for both
// plugins and both HNS APIs. (flannel's Windows delegate runs the same cycle
// in test/e2e/flannel-windows.test.ts.)

const cases = [
  { type: 'win-bridge', node: hostGwNode, subnet: '10.244.1.0/24', rangeStart: '10.244.1.3', gateway: '10.244.1.2' },
  { type: 'win-overlay', node: vxlanNode, subnet: '10.244.2.0/24', rangeStart: '10.244.2.2', gateway: '10.244.2.1' },
] as const;

describe.each(cases)('$type executable', ({ type, node: makeNode, subnet, rangeStart, gateway }) => {
  it.each([1, 2])('ADD, CHECK, repeated ADD, DEL, ADD, DEL after the namespace is gone (apiVersion %i)', async (apiVersion) => {
    const node = makeNode();
    const conf = { cniVersion: '1.0.0', name: node.name, type, apiVersion, ipMasq: true, ipam: { type: 'host-local', subnet, rangeStart, dataDir: node.dataDir } };
    const first = await fullCycle(node.hns, `pod_${node.name}`, () => leases(node.dataDir, node.name), (command, netns, prevResult) =>
      run(path.join(cniBin, type), [], {
        env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: 'pod', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: IPAM_CNI_PATH, ...node.hns.env },
        stdin: JSON.stringify(prevResult ? { ...conf, prevResult } : conf),
      }),
    );
    expect(first.ips).toEqual([{ address: `${rangeStart}/24`, gateway }]);
  }, CYCLE_TIMEOUT_MS);
});
