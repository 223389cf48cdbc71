import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { plugin } from '../../../src/plugins/win-bridge/index.ts';
import { tempDir, writeScript } from '../../helpers/tmp.ts';
import { apiCalls, cni, expectFixedCommandLines, hostGwNode, leases } from '../windows-common/harness.ts';

type Node = ReturnType<typeof hostGwNode>;

const conf = (node: Node, apiVersion: number, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: node.name,
  type: 'win-bridge',
  apiVersion,
  ipam: { type: 'host-local', subnet: '10.244.1.0/24', rangeStart: '10.244.1.3', dataDir: node.dataDir },
  ...extra,
});

async function added(api: number) {
  const node = hostGwNode();
  const ns = node.hns.addNamespace();
  const add = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
  if (add.code !== 0) throw new Error(add.stdout);
  return { node, ns, result: add.json };
}

describe.each([1, 2])('win-bridge DEL, apiVersion %i', (api) => {
  it('detaches and deletes the endpoint, then releases the lease', async () => {
    const { node, ns } = await added(api);
    const opsCallsAfterAdd = apiCalls(node.hns).length;
    const out = await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns });
    expect(out).toMatchObject({ code: 0, stdout: '' });
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(node.hns.namespace(ns)!.endpointIds).toEqual([]);
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
    const delCalls = apiCalls(node.hns, ns).slice(opsCallsAfterAdd);
    if (api === 1) {
      expect(delCalls.slice(0, 3)).toEqual(['HcnEnumerateNamespaces', 'GET /endpoints/', 'POST /namespaces/<ns>/removeresource']);
      expect(delCalls[3]).toMatch(/^DELETE \/endpoints\/[0-9A-F]{8}-[0-9A-F-]{27}$/);
      expect(delCalls).toHaveLength(4);
    } else {
      expect(delCalls).toEqual(['HcnEnumerateNamespaces', 'HcnEnumerateEndpoints', 'HcnModifyNamespace', 'HcnDeleteEndpoint']);
    }
    expectFixedCommandLines(node.hns, 2);
  });

  it('succeeds again when everything is already gone', async () => {
    const { node, ns } = await added(api);
    expect((await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns })).code).toBe(0);
    const again = await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns });
    expect(again).toMatchObject({ code: 0, stdout: '' });
  });

  it('succeeds when the namespace is already gone, still deleting the endpoint and the lease', async () => {
    const { node, ns } = await added(api);
    node.hns.update((s) => {
      s.namespaces = [];
      for (const e of s.endpoints) delete e.namespaceId;
    });
    const out = await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns });
    expect(out.code, out.stdout).toBe(0);
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('releases the lease of an endpoint HNS lost (after a reboot)', async () => {
    const { node, ns } = await added(api);
    node.hns.update((s) => {
      s.endpoints = s.endpoints.filter((e) => e.name !== 'c1_cbr0');
      s.namespaces = [];
    });
    expect((await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns })).code).toBe(0);
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('removes the endpoint by name when CNI_NETNS is empty', async () => {
    const { node } = await added(api);
    const out = await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: '' });
    expect(out.code, out.stdout).toBe(0);
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(node.hns.state().namespaces[0]!.endpointIds).toEqual([]);
  });

  it('still releases the lease when HNS fails, and reports the HNS failure', async () => {
    const { node, ns } = await added(api);
    node.hns.update((s) => (s.faults.delete = { hr: 0x80070005, message: 'Access is denied.' }));
    const out = await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns });
    expect(out.code).toBe(1);
    expect(out.json.msg).toMatch(/^deleting HNS endpoint c1_cbr0: .*\(0x80070005\)/);
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
    // The retry the runtime makes finishes the job.
    node.hns.update((s) => delete s.faults.delete);
    expect((await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns })).code).toBe(0);
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
  });

  it.each(['envelope', 'hresult'] as const)('succeeds when another DEL deleted the endpoint first, in German, v1 errors as %s', async (v1Errors) => {
    const { node, ns } = await added(api);
    node.hns.update((s) => {
      s.locale = 'de-DE';
      s.v1Errors = v1Errors;
      s.faults.delete = { hr: 0x80070490, race: true };
    });
    const out = await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns });
    expect(out.code, out.stdout).toBe(0);
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('still releases the lease when PowerShell cannot be started', async () => {
    const { node, ns } = await added(api);
    const out = await cni(plugin, 'DEL', node.hns, conf(node, api), { netns: ns, env: { WEFT_POWERSHELL: '/nonexistent/powershell.exe' } });
    expect(out.json.msg).toContain('cannot start PowerShell /nonexistent/powershell.exe: it does not exist');
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it("leaves a Docker sandbox's shared endpoint alone for a container:<id> netns", async () => {
    const { node } = await added(api);
    const calls = node.hns.calls().length;
    const out = await cni(plugin, 'DEL', node.hns, conf(node, api), { containerId: 'app', netns: 'container:c1' });
    expect(out.code, out.stdout).toBe(0);
    expect(node.hns.endpoint('c1_cbr0')).toBeDefined();
    expect(node.hns.calls()).toHaveLength(calls);
    expect(leases(node.dataDir, 'cbr0')).toEqual(['10.244.1.3']);
  });
});

describe.each([1, 2])('win-bridge CHECK, apiVersion %i', (api) => {
  const checkConf = (node: Node, prevResult: unknown) => ({ ...conf(node, api), prevResult });

  it('fails when the endpoint is gone', async () => {
    const { node, ns, result } = await added(api);
    node.hns.update((s) => {
      s.endpoints = s.endpoints.filter((e) => e.name !== 'c1_cbr0');
      s.namespaces[0]!.endpointIds = [];
    });
    const out = await cni(plugin, 'CHECK', node.hns, checkConf(node, result), { netns: ns });
    expect(out.json).toEqual({ code: 3, msg: 'HNS endpoint c1_cbr0 not found' });
  });

  it('fails when the endpoint is not attached to the namespace', async () => {
    const { node, ns, result } = await added(api);
    node.hns.update((s) => {
      s.namespaces[0]!.endpointIds = [];
      for (const e of s.endpoints) delete e.namespaceId;
    });
    const out = await cni(plugin, 'CHECK', node.hns, checkConf(node, result), { netns: ns });
    expect(out.json.msg).toBe(`HNS endpoint c1_cbr0 is not attached to namespace ${ns}`);
  });

  it.each(['en-US', 'de-DE'] as const)('fails when the namespace is gone (HNS speaking %s)', async (locale) => {
    const { node, ns, result } = await added(api);
    node.hns.update((s) => {
      s.namespaces = [];
      s.locale = locale;
    });
    const out = await cni(plugin, 'CHECK', node.hns, checkConf(node, result), { netns: ns });
    expect(out.json).toEqual({ code: 3, msg: `HNS namespace ${ns} not found` });
  });

  it('fails when the address differs from the previous result', async () => {
    const { node, ns, result } = await added(api);
    const out = await cni(plugin, 'CHECK', node.hns, checkConf(node, { ...result, ips: [{ address: '10.244.1.9/24' }] }), { netns: ns });
    expect(out.json.msg).toBe('HNS endpoint c1_cbr0 has address 10.244.1.3, the previous result says 10.244.1.9');
  });

  it('fails when the IPAM lease is gone', async () => {
    const { node, ns, result } = await added(api);
    fs.rmSync(path.join(node.dataDir, 'cbr0', '10.244.1.3'));
    const out = await cni(plugin, 'CHECK', node.hns, checkConf(node, result), { netns: ns });
    expect(out.code).toBe(1);
    expect(out.json.msg).toContain('host-local: Failed to find address added by container c1');
  });

  it('needs a previous result', async () => {
    const { node, ns } = await added(api);
    const out = await cni(plugin, 'CHECK', node.hns, conf(node, api), { netns: ns });
    expect(out.json).toEqual({ code: 7, msg: 'required prevResult missing' });
  });
});

describe('win-bridge STATUS', () => {
  it('asks IPAM, and starts no PowerShell', async () => {
    const node = hostGwNode();
    const dir = tempDir();
    writeScript(path.join(dir, 'fake-ipam'), `echo "$CNI_COMMAND" >> "${dir}/commands"`);
    const out = await cni(plugin, 'STATUS', node.hns, conf(node, 2, { cniVersion: '1.1.0', ipam: { type: 'fake-ipam' } }), {
      netns: '',
      env: { CNI_PATH: dir },
    });
    expect(out).toMatchObject({ code: 0, stdout: '' });
    expect(fs.readFileSync(path.join(dir, 'commands'), 'utf8')).toBe('STATUS\n');
    expect(node.hns.calls()).toHaveLength(0);
    const bare = await cni(plugin, 'STATUS', node.hns, { cniVersion: '1.1.0', name: 'cbr0', type: 'win-bridge' }, { netns: '' });
    expect(bare).toMatchObject({ code: 0, stdout: '' });
  });
});
