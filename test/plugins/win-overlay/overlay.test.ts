import { describe, expect, it } from 'vitest';
import { plugin } from '../../../src/plugins/win-overlay/index.ts';
import { apiCalls, cni, expectFixedCommandLines, leases, vxlanNode } from '../windows-common/harness.ts';

type Node = ReturnType<typeof vxlanNode>;

const conf = (node: Node, apiVersion: number, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: node.name,
  type: 'win-overlay',
  apiVersion,
  ipam: { type: 'host-local', subnet: '10.244.2.0/24', dataDir: node.dataDir },
  ...extra,
});

const pa = (api: number, ip: string) => (api === 2 ? { Type: 'ProviderAddress', Settings: { ProviderAddress: ip } } : { Type: 'PA', PA: ip });
const masq = (api: number, cidr: string) => (api === 2 ? { Type: 'OutBoundNAT', Settings: { Exceptions: [cidr] } } : { Type: 'OutBoundNAT', ExceptionList: [cidr] });
const dsr = (api: number, ip: string) => (api === 2 ? { Type: 'OutBoundNAT', Settings: { Destinations: [ip] } } : { Type: 'OutBoundNAT', Destinations: [ip] });

describe.each([1, 2])('win-overlay, apiVersion %i', (api) => {
  it('creates the endpoint with the MAC from its address and the network gateway, PA and sNAT exception', async () => {
    const node = vxlanNode();
    const ns = node.hns.addNamespace();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipMasq: true }), { containerId: 'pod', netns: ns });
    expect(out.code, out.stdout).toBe(0);
    expect(out.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'pod_flannel.4096', mac: '0E-2A-0a-f4-02-02' }],
      ips: [{ address: '10.244.2.2/24', gateway: '10.244.2.1' }],
    });
    const ep = node.hns.endpoint('pod_flannel.4096')!;
    expect(ep).toMatchObject({ ip: '10.244.2.2', mac: '0E-2A-0a-f4-02-02', gateway: '10.244.2.1', namespaceId: ns });
    expect(ep.policies).toEqual([pa(api, '192.168.1.20'), masq(api, '10.244.2.0/24')]);
    expect(apiCalls(node.hns, ns)).toEqual(
      api === 1
        ? ['HcnEnumerateNamespaces', 'GET /networks/', 'GET /endpoints/', 'POST /endpoints/', 'POST /namespaces/<ns>/addresource']
        : ['HcnEnumerateNamespaces', 'HcnEnumerateNetworks', 'GET /networks/', 'HcnEnumerateEndpoints', 'HcnCreateEndpoint', 'HcnModifyNamespace'],
    );
    expectFixedCommandLines(node.hns, 1);
  });

  it('orders generated policies as the reference does, and skips what the user policies already hold', async () => {
    const node = vxlanNode();
    const route = api === 2 ? { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } : { Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true };
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipMasq: true, loopbackDSR: true, policies: [{ name: 'EndpointPolicy', value: route }] }), {
      netns: node.hns.addNamespace(),
    });
    expect(out.code, out.stdout).toBe(0);
    const generated = api === 2
      ? [dsr(api, '10.244.2.2'), pa(api, '192.168.1.20'), masq(api, '10.244.2.0/24')]
      : [pa(api, '192.168.1.20'), masq(api, '10.244.2.0/24'), dsr(api, '10.244.2.2')];
    expect(node.hns.endpoint('c1_flannel.4096')!.policies).toEqual([route, ...generated]);

    const again = vxlanNode();
    const user = [pa(api, '192.168.1.20'), masq(api, '10.244.2.0/24')];
    await cni(plugin, 'ADD', again.hns, conf(again, api, { ipMasq: true, policies: user.map((value) => ({ name: 'EndpointPolicy', value })) }), {
      netns: again.hns.addNamespace(),
    });
    expect(again.hns.endpoint('c1_flannel.4096')!.policies).toEqual(user);
  });

  it('takes an endpointMacPrefix, and refuses one not of the form xx-xx', async () => {
    const node = vxlanNode();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { endpointMacPrefix: '0A-0B' }), { netns: node.hns.addNamespace() });
    expect(out.json.interfaces[0].mac).toBe('0A-0B-0a-f4-02-02');
    for (const bad of ['0E2A', '0E-2A-', 'zz-zz', '0E:2A']) {
      const err = await cni(plugin, 'ADD', node.hns, conf(node, api, { endpointMacPrefix: bad }), { netns: node.hns.addNamespace() });
      expect(err.json).toEqual({ code: 7, msg: `endpointMacPrefix [${bad}] is invalid, value must be of the format xx-xx` });
    }
    expect(leases(node.dataDir, 'flannel.4096')).toEqual(['10.244.2.2']);
    // DEL does not judge the prefix: a pod whose ADD failed on it can still be deleted.
    const ns = node.hns.addNamespace();
    expect((await cni(plugin, 'DEL', node.hns, conf(node, api, { endpointMacPrefix: 'zz-zz' }), { netns: ns })).code).toBe(0);
    expect(leases(node.dataDir, 'flannel.4096')).toEqual([]);
  });

  it('refuses an IPv6 lease and releases it', async () => {
    const node = vxlanNode();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipam: { type: 'host-local', subnet: 'fd00::/64', dataDir: node.dataDir } }), {
      netns: node.hns.addNamespace(),
    });
    expect(out.json).toEqual({ code: 7, msg: api === 2 ? 'IPAM plugin return is missing valid IP Address' : "win-overlay doesn't support IPv6 now" });
    expect(leases(node.dataDir, 'flannel.4096')).toEqual([]);
  });

  it('refuses a network that is not an overlay, naming it', async () => {
    const node = vxlanNode();
    node.hns.update((s) => (s.networks[0]!.type = 'L2Bridge'));
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({ code: 7, msg: 'network flannel.4096 is of an unexpected type: L2Bridge' });
    expect(leases(node.dataDir, 'flannel.4096')).toEqual([]);
  });

  it('names the network when it does not appear', async () => {
    const node = vxlanNode();
    node.hns.update((s) => (s.networks = []));
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { networkWaitSeconds: 0.2 }), { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({ code: 11, msg: 'network flannel.4096 not found: no HNS network of that name appeared within 0.2s' });
  });

  it('waits until HNS gives the network its ManagementIP, so the endpoint never lacks its ProviderAddress', async () => {
    const node = vxlanNode();
    node.hns.update((s) => (s.networks[0]!.managementIPHiddenFor = 2));
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { networkWaitSeconds: 5 }), { netns: node.hns.addNamespace() });
    expect(out.code, out.stdout).toBe(0);
    expect(node.hns.endpoint('c1_flannel.4096')!.policies).toEqual([pa(api, '192.168.1.20')]);
    expectFixedCommandLines(node.hns, 1);
  });

  it('fails with code 11, naming the ManagementIP, when the network never gets one', async () => {
    const node = vxlanNode();
    node.hns.update((s) => delete s.networks[0]!.managementIP);
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { networkWaitSeconds: 0.5 }), { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({
      code: 11,
      msg: "network flannel.4096 has no ManagementIP (the endpoints' provider address) after 0.5s: flanneld has not finished setting up the node",
    });
    expect(node.hns.state().endpoints).toEqual([]);
    expect(leases(node.dataDir, 'flannel.4096')).toEqual([]);
  });

  it('waits for a network whose subnet HNS does not report yet', async () => {
    const node = vxlanNode();
    node.hns.update((s) => (s.networks[0]!.subnets = []));
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({ code: 11, msg: 'network flannel.4096 has no subnet with an address prefix and a gateway yet' });
    expect(leases(node.dataDir, 'flannel.4096')).toEqual([]);
  });

  it('fails CHECK when the MAC differs from the previous result (the rest of the cycle: cycle.test.ts)', async () => {
    const node = vxlanNode();
    const ns = node.hns.addNamespace();
    const add = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    const wrongMac = await cni(plugin, 'CHECK', node.hns, { ...conf(node, api), prevResult: { ...add.json, interfaces: [{ name: 'x', mac: '0E-2A-00-00-00-01' }] } }, { netns: ns });
    expect(wrongMac.json.msg).toBe('HNS endpoint c1_flannel.4096 has MAC 0E-2A-0a-f4-02-02, the previous result says 0E-2A-00-00-00-01');
  });
});

describe('win-overlay IPAM', () => {
  it('is required with the v1 API', async () => {
    const node = vxlanNode();
    const out = await cni(plugin, 'ADD', node.hns, { cniVersion: '1.0.0', name: 'flannel.4096', type: 'win-overlay' }, { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({ code: 7, msg: 'win-overlay with apiVersion 1 needs an IPAM plugin: ipam.type is empty' });
    expect(node.hns.calls()).toHaveLength(0);
  });

  it('is optional with HCN, where HNS picks the address', async () => {
    const node = vxlanNode();
    const out = await cni(plugin, 'ADD', node.hns, { cniVersion: '1.0.0', name: 'flannel.4096', type: 'win-overlay', apiVersion: 2 }, { netns: node.hns.addNamespace() });
    expect(out.code, out.stdout).toBe(0);
    const ep = node.hns.endpoint('c1_flannel.4096')!;
    expect(out.json.ips).toEqual([{ address: `${ep.ip}/24`, gateway: '10.244.2.1' }]);
  });
});

describe('win-overlay as flannel Windows delegate', () => {
  it("accepts what flannel's vxlan delegate sends (ipMasqNetwork is not its key and is ignored)", async () => {
    const node = vxlanNode();
    const out = await cni(
      plugin,
      'ADD',
      node.hns,
      {
        name: 'flannel.4096',
        type: 'win-overlay',
        cniVersion: '0.3.0',
        ipMasq: true,
        ipMasqNetwork: '10.244.0.0/16',
        ipam: { type: 'host-local', subnet: '10.244.2.0/24', dataDir: node.dataDir },
        apiVersion: 2,
        policies: [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } } }],
      },
      { netns: node.hns.addNamespace() },
    );
    expect(out.json).toEqual({
      cniVersion: '0.3.0',
      interfaces: [{ name: 'c1_flannel.4096', mac: '0E-2A-0a-f4-02-02' }],
      ips: [{ version: '4', address: '10.244.2.2/24', gateway: '10.244.2.1' }],
      dns: {},
    });
    expect(node.hns.endpoint('c1_flannel.4096')!.policies).toEqual([
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } },
      pa(2, '192.168.1.20'),
      masq(2, '10.244.2.0/24'),
    ]);
  });
});
