import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plugin } from '../../../src/cni/skel.ts';
import { plugin as winBridge } from '../../../src/plugins/win-bridge/index.ts';
import { plugin as winOverlay } from '../../../src/plugins/win-overlay/index.ts';
import { repoRoot } from '../../helpers/tmp.ts';
import { cni, expectFixedCommandLines, hostGwNode, vxlanNode } from './harness.ts';

// Strings that would do damage if any of them ever became PowerShell code:
// they must reach HNS as the very same data and never touch the command line
// or the script.
const HOSTILE = [
  "'; Remove-Item -Recurse -Force C:\\ ; '",
  '"; Stop-Computer -Force; "',
  '$(Remove-Item C:\\Windows -Recurse)',
  '`r`n; Restart-Computer; `"',
  "@'\nInvoke-Expression 'calc'\n'@",
  '@"\n$(calc.exe)\n"@',
  '${env:PATH} & calc.exe | Out-File C:\\pwned; iex $x',
  'line1\nline2\r\n\ttab\u0000nul',
  '\u2028\u2029 ünïcødé 🚀 \ud800 中文',
  '{"kind":"ref","path":["network","ID"]}',
  '\\u0022 "quoted" \\',
];
const MARKERS = ['Remove-Item', 'Stop-Computer', 'Restart-Computer', 'Invoke-Expression', 'calc', 'ünïcødé', 'line1', '"kind":"ref"', 'quoted'];

const scriptHash = crypto
  .createHash('sha256')
  .update(fs.readFileSync(path.join(repoRoot, 'src', 'os', 'windows', 'scripts', 'weft-hns.ps1')))
  .digest('hex');

/** Every string leaf in `value` holding a marker, with the node it sits in. */
function leavesWithMarkers(value: unknown, parent: Record<string, unknown> | undefined, key: string, out: Array<{ parent: unknown; key: string }>): void {
  if (typeof value === 'string') {
    if (MARKERS.some((m) => value.includes(m))) out.push({ parent, key });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => leavesWithMarkers(v, parent, `${key}[${i}]`, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) leavesWithMarkers(v, value as Record<string, unknown>, k, out);
  }
}

const policyValue = (api: number) =>
  api === 2
    ? { Type: 'SDNRoute', Settings: Object.fromEntries([['DestinationPrefix', HOSTILE[0]], ...HOSTILE.map((h, i) => [`${h}${i}`, h])]) }
    : { Type: 'ROUTE', DestinationPrefix: HOSTILE[0], ...Object.fromEntries(HOSTILE.map((h, i) => [`${h}${i}`, h])) };

const cases: Array<[string, Plugin, () => ReturnType<typeof hostGwNode>, string]> = [
  ['win-bridge', winBridge, hostGwNode, '10.244.1.0/24'],
  ['win-overlay', winOverlay, vxlanNode, '10.244.2.0/24'],
];

describe.each(cases)('%s with hostile strings', (type, plugin, makeNode, subnet) => {
  it.each([1, 2])('passes them to HNS as data only (apiVersion %i)', async (api) => {
    const node = makeNode();
    const ns = node.hns.addNamespace();
    const conf = {
      cniVersion: '1.0.0',
      name: node.name,
      type,
      apiVersion: api,
      ipam: { type: 'host-local', subnet, rangeStart: subnet.replace('0/24', '3'), dataDir: node.dataDir },
      policies: [{ name: 'EndpointPolicy', value: policyValue(api) }],
      dns: { nameservers: HOSTILE.slice(0, 3), domain: HOSTILE[4], search: HOSTILE.slice(3, 6), options: HOSTILE.slice(6) },
      runtimeConfig: {
        dns: { servers: [HOSTILE[1]!, HOSTILE[8]!] },
        portMappings: [
          { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: HOSTILE[2] },
          { hostPort: 8081, containerPort: 81, protocol: HOSTILE[0] },
        ],
      },
    };
    const add = await cni(plugin, 'ADD', node.hns, conf, { containerId: 'evil', netns: ns });
    expect(add.code, add.stdout).toBe(0);
    const ep = node.hns.endpoint(`evil_${node.name}`)!;

    // HNS got the values exactly.
    expect(ep.policies[0]).toEqual(policyValue(api));
    expect(ep.dns.servers).toEqual([HOSTILE[1], HOSTILE[8]]);
    expect(ep.dns.search).toEqual(api === 1 ? HOSTILE.slice(3, 6).join(',').split(',') : HOSTILE.slice(3, 6));
    if (api === 2) expect(ep.dns.domain).toBe(HOSTILE[4]);
    if (type === 'win-bridge') {
      // The mapping with a hostile protocol is skipped; the hostIP travels as data.
      const mappings = ep.policies.filter((p) => /NAT$|PortMapping/.test(String((p as { Type: string }).Type)) && (p as { Type: string }).Type !== 'OutBoundNAT');
      expect(mappings).toEqual(
        api === 2 ? [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: HOSTILE[2] } }] : [{ Type: 'NAT', InternalPort: 80, ExternalPort: 8080, Protocol: 'tcp' }],
      );
    }

    // CHECK and DEL work with the same conf.
    expect((await cni(plugin, 'CHECK', node.hns, { ...conf, prevResult: add.json }, { containerId: 'evil', netns: ns })).code).toBe(0);
    expect((await cni(plugin, 'DEL', node.hns, conf, { containerId: 'evil', netns: ns })).code).toBe(0);
    expect(node.hns.state().endpoints.filter((e) => e.name.startsWith('evil'))).toEqual([]);

    // One fixed command line and the shipped script for all three commands.
    expectFixedCommandLines(node.hns, 3);
    const calls = node.hns.calls();
    for (const call of calls) {
      expect(call.scriptSha256).toBe(scriptHash);
      expect(call.argv.slice(0, 5)).toEqual(['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File']);
      expect(MARKERS.some((m) => call.argv.join(' ').includes(m))).toBe(false);
      expect(call.cniVarsSeen).toEqual([]);
      // In the request, the hostile text lives only inside raw JSON texts.
      const request = JSON.parse(call.request!);
      const found: Array<{ parent: unknown; key: string }> = [];
      leavesWithMarkers(request, undefined, '', found);
      for (const f of found) {
        expect(f.key).toBe('text');
        expect((f.parent as { kind: string }).kind).toBe('raw');
      }
    }
    expect(calls.some((c) => c.request!.includes('Remove-Item'))).toBe(true);
  });
});

describe('hostile strings that weft can refuse outright', () => {
  it('are refused in fields with a known form, before any PowerShell or IPAM', async () => {
    const node = hostGwNode();
    const bridge = await cni(winBridge, 'ADD', node.hns, { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge', ipMasqNetwork: HOSTILE[2] }, { netns: node.hns.addNamespace() });
    expect(bridge.json).toEqual({ code: 7, msg: `ipMasqNetwork: invalid CIDR address: ${HOSTILE[2]}` });
    const overlay = await cni(winOverlay, 'ADD', node.hns, { cniVersion: '1.0.0', name: 'cbr0', type: 'win-overlay', endpointMacPrefix: '$(x)' }, { netns: node.hns.addNamespace() });
    expect(overlay.json.code).toBe(7);
    const netns = await cni(winBridge, 'ADD', node.hns, { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge' }, { netns: `${node.hns.addNamespace()}'; Remove-Item C:\\` });
    expect(netns.json.code).toBe(4);
    expect(node.hns.calls()).toHaveLength(0);
    // DEL goes through regardless (ADD-only checks).
    const del = await cni(winBridge, 'DEL', node.hns, { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge', ipMasqNetwork: HOSTILE[2] }, { netns: '' });
    expect(del.code, del.stdout).toBe(0);
  });
});
