import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { delegateAdd } from '../../../src/cni/delegate.ts';
import { plugin } from '../../../src/plugins/win-bridge/index.ts';
import { run } from '../../helpers/run.ts';
import { cniBin } from '../../helpers/tmp.ts';
import { IPAM_CNI_PATH, apiCalls, cni, expectFixedCommandLines, hostGwNode, leases } from '../windows-common/harness.ts';

type Node = ReturnType<typeof hostGwNode>;

const conf = (node: Node, apiVersion: number, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: node.name,
  type: 'win-bridge',
  apiVersion,
  ipam: { type: 'host-local', subnet: '10.244.1.0/24', rangeStart: '10.244.1.3', dataDir: node.dataDir },
  ...extra,
});

describe.each([1, 2])('win-bridge ADD, apiVersion %i', (api) => {
  it('creates the endpoint, attaches it to the namespace in one PowerShell run and returns the reference result', async () => {
    const node = hostGwNode();
    const ns = node.hns.addNamespace();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipMasqNetwork: '10.244.0.0/16' }), { containerId: 'pod1', netns: ns });
    expect(out.code, out.stdout).toBe(0);

    const ep = node.hns.endpoint('pod1_cbr0')!;
    expect(ep).toMatchObject({ ip: '10.244.1.3', gateway: '10.244.1.2', networkId: node.networkId, namespaceId: ns, api });
    expect(node.hns.namespace(ns)!.endpointIds).toEqual([ep.id]);
    expect(leases(node.dataDir, 'cbr0')).toEqual(['10.244.1.3']);
    expect(out.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'pod1_cbr0', mac: ep.mac }],
      ips: [{ address: '10.244.1.3/24', gateway: '10.244.1.2' }],
    });
    expect(apiCalls(node.hns, ns)).toEqual(
      api === 1
        ? ['HcnEnumerateNamespaces', 'GET /networks/', 'GET /endpoints/', 'GET /endpoints/', 'POST /endpoints/', 'POST /namespaces/<ns>/addresource']
        : ['HcnEnumerateNamespaces', 'HcnEnumerateNetworks', 'HcnEnumerateEndpoints', 'HcnEnumerateEndpoints', 'HcnCreateEndpoint', 'HcnModifyNamespace'],
    );
    expectFixedCommandLines(node.hns, 1);
  });

  it('gives the endpoint the user policies, then the ipMasqNetwork exception and the port mappings', async () => {
    const node = hostGwNode();
    const ns = node.hns.addNamespace();
    const route = api === 2 ? { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } : { Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true };
    const out = await cni(
      plugin,
      'ADD',
      node.hns,
      conf(node, api, {
        ipMasqNetwork: '10.244.0.0/16',
        policies: [
          { name: 'EndpointPolicy', value: route },
          { name: 'NetworkPolicy', value: { Type: 'ignored' } },
        ],
        runtimeConfig: {
          portMappings: [
            { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '192.168.1.10' },
            { hostPort: 5353, containerPort: 53, protocol: 'sctp' },
          ],
        },
      }),
      { netns: ns },
    );
    expect(out.code, out.stdout).toBe(0);
    expect(node.hns.endpoint('c1_cbr0')!.policies).toEqual(
      api === 2
        ? [
            route,
            { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } },
            { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '192.168.1.10' } },
          ]
        : [
            route,
            { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16'] },
            { Type: 'NAT', InternalPort: 80, ExternalPort: 8080, Protocol: 'tcp' },
          ],
    );
  });

  it('does not repeat an OutBoundNAT exception the user policies already hold', async () => {
    const node = hostGwNode();
    const nat = api === 2 ? { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } } : { Type: 'OutBoundNAT', ExceptionList: ['10.96.0.0/12', '10.244.0.0/16'] };
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipMasqNetwork: '10.244.0.0/16', Policies: [{ Name: 'EndpointPolicy', Value: nat }] }), {
      netns: node.hns.addNamespace(),
    });
    expect(out.code, out.stdout).toBe(0);
    expect(node.hns.endpoint('c1_cbr0')!.policies).toEqual([nat]);
  });

  it('merges DNS with the runtime dns capability and returns it without empty entries', async () => {
    const node = hostGwNode();
    const out = await cni(
      plugin,
      'ADD',
      node.hns,
      conf(node, api, {
        dns: { nameservers: ['1.1.1.1'], search: ['example.org'], domain: 'cluster.local', options: ['ndots:5'] },
        runtimeConfig: { dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'] } },
      }),
      { netns: node.hns.addNamespace() },
    );
    expect(out.code, out.stdout).toBe(0);
    const ep = node.hns.endpoint('c1_cbr0')!;
    expect(ep.dns.servers).toEqual(['10.96.0.10']);
    expect(ep.dns.search).toEqual(['default.svc.cluster.local', 'svc.cluster.local']);
    // v1 keeps only servers and suffixes (comma-joined); HCN keeps domain and options too.
    expect(out.json.dns).toEqual(
      api === 2
        ? { nameservers: ['10.96.0.10'], domain: 'cluster.local', search: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] }
        : { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local'] },
    );

    const bare = hostGwNode();
    const plain = await cni(plugin, 'ADD', bare.hns, conf(bare, api, { cniVersion: '0.3.1' }), { netns: bare.hns.addNamespace() });
    expect(plain.json.dns).toEqual({});
  });

  it("prints the result in the conf's version, as flannel's 0.2.0 default needs", async () => {
    const node = hostGwNode();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { cniVersion: '0.2.0' }), { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({ cniVersion: '0.2.0', ip4: { ip: '10.244.1.3/24', gateway: '10.244.1.2' }, dns: {} });
  });

  it('adds the loopback DSR policy only when HNS supports DSR', async () => {
    const dsr = api === 2 ? { Type: 'OutBoundNAT', Settings: { Destinations: ['10.244.1.3'] } } : { Type: 'OutBoundNAT', Destinations: ['10.244.1.3'] };
    const supported = hostGwNode();
    await cni(plugin, 'ADD', supported.hns, conf(supported, api, { loopbackDSR: true }), { netns: supported.hns.addNamespace() });
    expect(supported.hns.endpoint('c1_cbr0')!.policies).toEqual([dsr]);
    expect(apiCalls(supported.hns)).toContain('GET /globals/version');

    const old = hostGwNode();
    old.hns.update((s) => (s.globals.version = { Major: 9, Minor: 2 }));
    await cni(plugin, 'ADD', old.hns, conf(old, api, { loopbackDSR: true }), { netns: old.hns.addNamespace() });
    expect(old.hns.endpoint('c1_cbr0')!.policies).toEqual([]);

    // The version query fails: DSR counts as unsupported, the ADD goes on.
    const broken = hostGwNode();
    broken.hns.update((s) => (s.faults.hnsCall = { hr: 0x80004005, path: '/globals/version' }));
    const out = await cni(plugin, 'ADD', broken.hns, conf(broken, api, { loopbackDSR: true }), { netns: broken.hns.addNamespace() });
    expect(out.code, out.stdout).toBe(0);
    expect(broken.hns.endpoint('c1_cbr0')!.policies).toEqual([]);

    // An address the user policies already send back is not added again.
    const given = hostGwNode();
    await cni(plugin, 'ADD', given.hns, conf(given, api, { loopbackDSR: true, policies: [{ name: 'EndpointPolicy', value: dsr }] }), {
      netns: given.hns.addNamespace(),
    });
    expect(given.hns.endpoint('c1_cbr0')!.policies).toEqual([dsr]);
  });

  it('reuses its own endpoint on a repeated ADD, without a second lease', async () => {
    const node = hostGwNode();
    const ns = node.hns.addNamespace();
    const first = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    const second = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    expect(second.code, second.stdout).toBe(0);
    expect(second.json).toEqual(first.json);
    expect(node.hns.state().endpoints.filter((e) => e.name === 'c1_cbr0')).toHaveLength(1);
    expect(leases(node.dataDir, 'cbr0')).toEqual(['10.244.1.3']);
    expect(node.hns.state().ops.filter((o) => o.op === 'createEndpoint')).toHaveLength(1);
    // HNS says it is in the namespace already: no second attach.
    expect(node.hns.state().ops.filter((o) => o.op === 'attach')).toHaveLength(1);
    expect(apiCalls(node.hns, ns).filter((c) => c === 'HcnModifyNamespace' || c.endsWith('/addresource'))).toHaveLength(1);
    expectFixedCommandLines(node.hns, 2);
  });

  it('takes a repeated attach that HNS refuses with HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS as done when the namespace holds the endpoint', async () => {
    const node = hostGwNode();
    // HNS does not say which namespace the endpoint is in, so weft attaches again.
    node.hns.update((s) => (s.hideEndpointNamespace = true));
    const ns = node.hns.addNamespace();
    const first = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    const second = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    expect(second.code, second.stdout).toBe(0);
    expect(second.json).toEqual(first.json);
    expect(apiCalls(node.hns, ns).filter((c) => c === 'HcnModifyNamespace' || c.endsWith('/addresource'))).toHaveLength(2);
    expect(node.hns.state().ops.filter((o) => o.op === 'attach')).toHaveLength(1);
    expect(node.hns.endpoint('c1_cbr0')).toBeDefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual(['10.244.1.3']);
  });

  it('fails a repeated attach, naming both namespaces, when the endpoint is in another one', async () => {
    const node = hostGwNode();
    node.hns.update((s) => (s.hideEndpointNamespace = true));
    const ns = node.hns.addNamespace();
    const other = node.hns.addNamespace();
    expect((await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: other })).code).toBe(0);
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    expect(out.json).toEqual({ code: 999, msg: `HNS endpoint c1_cbr0 is in HNS namespace ${other}, not in namespace ${ns}` });
    expect(node.hns.namespace(other)!.endpointIds).toHaveLength(1);
  });

  it('replaces a stale endpoint of the same name on another network or in another namespace', async () => {
    const node = hostGwNode();
    const other = node.hns.addNetwork({ name: 'old', type: 'L2Bridge', subnets: [{ prefix: '10.9.0.0/24', gateway: '10.9.0.1' }] });
    const oldNs = node.hns.addNamespace();
    node.hns.update((s) => {
      s.endpoints.push({ id: '11111111-1111-4111-8111-111111111111', name: 'c1_cbr0', networkId: other, ip: '10.9.0.5', prefixLength: 24, mac: 'm', dns: { servers: [], search: [], options: [] }, policies: [], api: 1, namespaceId: oldNs });
      s.namespaces.find((n) => n.id === oldNs)!.endpointIds.push('11111111-1111-4111-8111-111111111111');
    });
    const ns = node.hns.addNamespace();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    expect(out.code, out.stdout).toBe(0);
    const eps = node.hns.state().endpoints.filter((e) => e.name === 'c1_cbr0');
    expect(eps).toHaveLength(1);
    expect(eps[0]).toMatchObject({ networkId: node.networkId, ip: '10.244.1.3', namespaceId: ns });
    expect(node.hns.namespace(oldNs)!.endpointIds).toEqual([]);
  });

  it('waits with back-off for flanneld to create the network, in the same PowerShell run', async () => {
    const node = hostGwNode({ hidden: 3 });
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { networkWaitSeconds: 5 }), { netns: node.hns.addNamespace() });
    expect(out.code, out.stdout).toBe(0);
    const lookups = apiCalls(node.hns).filter((c) => c === 'GET /networks/' || c === 'HcnEnumerateNetworks');
    expect(lookups).toHaveLength(4);
    expectFixedCommandLines(node.hns, 1);
  });

  it('waits for flanneld to create the host endpoint (the gateway), and fails naming it when it does not come', async () => {
    const late = hostGwNode();
    late.hns.update((s) => (s.endpoints[0]!.hiddenForLookups = 2));
    const ok = await cni(plugin, 'ADD', late.hns, conf(late, api, { networkWaitSeconds: 5 }), { netns: late.hns.addNamespace() });
    expect(ok.code, ok.stdout).toBe(0);
    expectFixedCommandLines(late.hns, 1);

    const node = hostGwNode({ hostEndpoint: false });
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { networkWaitSeconds: 0.5 }), { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({
      code: 11,
      msg: "network cbr0 has no host endpoint cbr0_ep (the pods' gateway) after 0.5s: flanneld has not finished setting up the node",
    });
    expect(node.hns.state().endpoints).toEqual([]);
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('gives up after the wait, naming the network, and releases the lease', async () => {
    const node = hostGwNode({ hidden: 1000 });
    const started = Date.now();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { networkWaitSeconds: 0.6 }), { netns: node.hns.addNamespace() });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(out.code).toBe(1);
    expect(out.json).toEqual({ code: 11, msg: 'network cbr0 is not found: no HNS network of that name appeared within 0.6s' });
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
  });

  it('refuses a network of another type and releases the lease', async () => {
    const hns = hostGwNode();
    hns.hns.update((s) => (s.networks[0]!.type = 'NAT'));
    const out = await cni(plugin, 'ADD', hns.hns, conf(hns, api), { netns: hns.hns.addNamespace() });
    expect(out.json).toEqual({ code: 7, msg: 'network cbr0 is of unexpected type: NAT' });
    expect(leases(hns.dataDir, 'cbr0')).toEqual([]);
  });

  it('deletes the new endpoint and releases the lease when the attach fails', async () => {
    const node = hostGwNode();
    node.hns.update((s) => (s.faults.attach = { hr: 0x803b002e, message: 'The requested operation for attach namespace failed.' }));
    const ns = node.hns.addNamespace();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: ns });
    expect(out.code).toBe(1);
    expect(out.json.code).toBe(999);
    expect(out.json.msg).toContain(`attaching HNS endpoint c1_cbr0 to namespace ${ns}: `);
    expect(out.json.msg).toContain('(0x803b002e)');
    expect(out.json.details).toBeUndefined();
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(node.hns.state().ops.map((o) => o.op)).toContain('deleteEndpoint');
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
    expectFixedCommandLines(node.hns, 1);
  });

  it('fails, rolling back, when the namespace does not exist', async () => {
    const node = hostGwNode();
    const missing = '0badc0de-0000-4000-8000-000000000000';
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: missing });
    expect(out.json.msg).toMatch(new RegExp(`^attaching HNS endpoint c1_cbr0 to namespace ${missing}: .*Element not found\\.`));
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('says so when the rollback fails too', async () => {
    const node = hostGwNode();
    node.hns.update((s) => {
      s.faults.attach = { hr: 0x803b002e };
      s.faults.delete = { hr: 0x80070005, message: 'Access is denied.' };
    });
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace() });
    expect(out.json.details).toContain('rollback failed, deleting the new HNS endpoint c1_cbr0');
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it("releases the lease when HNS refuses the endpoint, keeping HNS's own words", async () => {
    const node = hostGwNode();
    // Someone else's endpoint already holds the address host-local hands out.
    node.hns.addEndpoint({ name: 'intruder', networkId: node.networkId, ip: '10.244.1.3' });
    // German texts, and v1 failures as HRESULTs with the envelope beside them: the text must come from HNS.
    node.hns.update((s) => {
      s.locale = 'de-DE';
      s.v1Errors = 'hresult';
    });
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace() });
    expect(out.json.msg).toMatch(/^creating HNS endpoint c1_cbr0: .*\(0x80071392\): Das Objekt ist bereits vorhanden\.$/);
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('deletes the endpoint and releases the lease when PowerShell dies after HNS created it', async () => {
    const node = hostGwNode();
    node.hns.update((s) => (s.lostAnswer = { op: 'create', how: 'kill', times: 1 }));
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace() });
    // (pwsh as a .NET tool is a launcher and a dotnet child: the child is what died.)
    expect(out.json.msg).toMatch(/running weft-hns\.ps1 gave no answer \((signal SIGKILL|exit status \d+)\)$/);
    expect(out.json.details).toContain('endpoint c1_cbr0 is not in HNS');
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
    // The lost ADD, then the cleanup.
    expectFixedCommandLines(node.hns, 2);
  });

  it('keeps the lease when the endpoint may still exist: the answer was lost and the cleanup failed', async () => {
    const node = hostGwNode();
    node.hns.update((s) => {
      s.lostAnswer = { op: 'create', how: 'kill', times: 1 };
      s.faults.delete = { hr: 0x80070005 };
    });
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace() });
    expect(out.json.code).toBe(999);
    expect(out.json.details).toContain('HNS may hold endpoint c1_cbr0 with 10.244.1.3, so that address stays leased');
    expect(node.hns.endpoint('c1_cbr0')).toBeDefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual(['10.244.1.3']);
    // The next pod does not get the address; the runtime's DEL later frees both.
    node.hns.update((s) => delete s.faults.delete);
    const next = await cni(plugin, 'ADD', node.hns, conf(node, api), { containerId: 'c2', netns: node.hns.addNamespace() });
    expect(next.json.ips[0].address).toBe('10.244.1.4/24');
  });

  it('never hands out the l2bridge gateway (.2), releasing such a lease', async () => {
    const node = hostGwNode();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipam: { type: 'host-local', subnet: '10.244.1.0/24', dataDir: node.dataDir } }), {
      netns: node.hns.addNamespace(),
    });
    expect(out.json.code).toBe(7);
    expect(out.json.msg).toContain('IPAM gave 10.244.1.2, the l2bridge gateway of 10.244.1.0/24');
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
    expect(node.hns.calls()).toHaveLength(0);
    // host-local moves on: the retry gets .3.
    const retry = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipam: { type: 'host-local', subnet: '10.244.1.0/24', dataDir: node.dataDir } }), {
      netns: node.hns.addNamespace(),
    });
    expect(retry.json.ips?.[0]?.address).toBe('10.244.1.3/24');
  });

  it("hands HNS the policies of this API's shape, and reports HNS refusing the other API's", async () => {
    const node = hostGwNode();
    // A v2 policy under apiVersion 1, a v1 one under apiVersion 2: what a conf written for the other API holds.
    const other = api === 1 ? { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } : { Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true };
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { policies: [{ name: 'EndpointPolicy', value: other }] }), { netns: node.hns.addNamespace() });
    expect(out.json.code).toBe(999);
    expect(out.json.msg).toMatch(/^creating HNS endpoint c1_cbr0: .*\(0x803b000e\)/);
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('lets HNS pick the address when no IPAM is configured', async () => {
    const node = hostGwNode();
    const out = await cni(plugin, 'ADD', node.hns, { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge', apiVersion: api }, { netns: node.hns.addNamespace() });
    expect(out.code, out.stdout).toBe(0);
    const ep = node.hns.endpoint('c1_cbr0')!;
    expect(out.json.ips).toEqual([{ address: `${ep.ip}/24` }]);
  });

  it('deletes an endpoint HNS created without an address, in the same run', async () => {
    const node = hostGwNode();
    node.hns.update((s) => (s.noAddress = true));
    const out = await cni(plugin, 'ADD', node.hns, { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge', apiVersion: api }, { netns: node.hns.addNamespace() });
    expect(out.json).toEqual({ code: 999, msg: 'HNS endpoint c1_cbr0 has no IP address' });
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expectFixedCommandLines(node.hns, 1);
  });

  it('releases the lease when PowerShell cannot be started', async () => {
    const node = hostGwNode();
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace(), env: { WEFT_POWERSHELL: '/nonexistent/powershell.exe' } });
    expect(out.json.msg).toMatch(/^cannot start PowerShell \/nonexistent\/powershell.exe: it does not exist; .* unless WEFT_POWERSHELL names another$/);
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });

  it('returns the IPAM error when IPAM fails and there is no endpoint to reuse', async () => {
    const node = hostGwNode();
    const full = { type: 'host-local', subnet: '10.244.1.0/24', rangeStart: '10.244.1.3', rangeEnd: '10.244.1.3', dataDir: node.dataDir };
    expect((await cni(plugin, 'ADD', node.hns, conf(node, api, { ipam: full }), { containerId: 'a', netns: node.hns.addNamespace() })).code).toBe(0);
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api, { ipam: full }), { containerId: 'b', netns: node.hns.addNamespace() });
    expect(out.json.msg).toMatch(/^error while executing IPAM addition: .*no IP addresses available in range set/);
    expect(node.hns.endpoint('b_cbr0')).toBeUndefined();
    expect(leases(node.dataDir, 'cbr0')).toEqual(['10.244.1.3']);
  });

  it('needs CNI_NETNS to be an HNS namespace GUID, and touches nothing otherwise', async () => {
    const node = hostGwNode();
    for (const netns of ['none', 'container:abc', '/var/run/netns/x']) {
      const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns });
      expect(out.json.code).toBe(4);
      expect(out.json.msg).toContain('CNI_NETNS must be the GUID of an HNS namespace');
    }
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
    expect(node.hns.calls()).toHaveLength(0);
  });

  it('handles parallel ADDs, one PowerShell process each', async () => {
    const node = hostGwNode();
    const outs = await Promise.all(
      ['a', 'b', 'c', 'd'].map((id) => cni(plugin, 'ADD', node.hns, conf(node, api), { containerId: id, netns: node.hns.addNamespace() })),
    );
    expect(outs.map((o) => o.code)).toEqual([0, 0, 0, 0]);
    const ips = outs.map((o) => o.json.ips[0].address).sort();
    expect(new Set(ips).size).toBe(4);
    expect(leases(node.dataDir, 'cbr0')).toHaveLength(4);
    expectFixedCommandLines(node.hns, 4);
  });
});

describe('win-bridge ADD, apiVersion 2 only', () => {
  it('deletes the endpoint when the query after HcnCreateEndpoint fails (HCN only: v1 answers the POST with the endpoint)', async () => {
    const api = 2;
    const node = hostGwNode();
    node.hns.update((s) => (s.faults.queryCreated = { hr: 0x80004005, times: 1 }));
    const out = await cni(plugin, 'ADD', node.hns, conf(node, api), { netns: node.hns.addNamespace() });
    expect(out.json.msg).toMatch(/^creating HNS endpoint c1_cbr0: HcnQueryEndpointProperties: .*\(0x80004005\)/);
    expect(node.hns.endpoint('c1_cbr0')).toBeUndefined();
    expect(node.hns.state().ops.filter((o) => o.op === 'deleteEndpoint')).toHaveLength(1);
    expect(leases(node.dataDir, 'cbr0')).toEqual([]);
  });
});

describe('win-bridge as flannel Windows delegate', () => {
  it("accepts exactly what flannel's host-gw delegate sends, run in process by delegation", async () => {
    const node = hostGwNode();
    const ns = node.hns.addNamespace();
    // flannel_windows.go: name, type, cniVersion (default 0.2.0), ipMasq, ipMasqNetwork, ipam {host-local, subnet}, plus user keys.
    const delegateConf = {
      name: 'cbr0',
      type: 'win-bridge',
      cniVersion: '0.2.0',
      ipMasq: true,
      ipMasqNetwork: '10.244.0.0/16',
      ipam: { type: 'host-local', subnet: '10.244.1.0/24', rangeStart: '10.244.1.3', dataDir: node.dataDir },
      apiVersion: 2,
      capabilities: { portMappings: true, dns: true },
      runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'TCP' }] },
      policies: [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } } }],
    };
    const env = {
      PATH: process.env.PATH,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'sandbox1',
      CNI_NETNS: ns,
      CNI_IFNAME: 'eth0',
      // host-local and win-bridge both resolve to weft itself: the whole chain runs in process.
      CNI_PATH: `${IPAM_CNI_PATH}:${cniBin}`,
      ...node.hns.env,
    };
    const result = await delegateAdd('win-bridge', delegateConf, { env });
    expect(result).toEqual({ cniVersion: '0.2.0', ip4: { ip: '10.244.1.3/24', gateway: '10.244.1.2' }, dns: {} });
    expect(node.hns.endpoint('sandbox1_cbr0')!.policies).toEqual([
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } },
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } },
      { Type: 'PortMapping', Settings: { InternalPort: 8080, ExternalPort: 80, Protocol: 6, VIP: '' } },
    ]);
  });

  it('works as the built executable, finding weft-hns.ps1 beside itself', async () => {
    const node = hostGwNode();
    const ns = node.hns.addNamespace();
    const res = await run(path.join(cniBin, 'win-bridge'), [], {
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'exec1',
        CNI_NETNS: ns,
        CNI_IFNAME: 'eth0',
        CNI_PATH: IPAM_CNI_PATH,
        ...node.hns.env,
      },
      stdin: JSON.stringify(conf(node, 2)),
    });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).ips).toEqual([{ address: '10.244.1.3/24', gateway: '10.244.1.2' }]);
    expect(node.hns.calls()[0]!.argv[5]).toBe(path.join(fs.realpathSync(cniBin), 'weft-hns.ps1'));
  });
});
