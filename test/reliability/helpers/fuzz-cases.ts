import fc from 'fast-check';

// The fuzzed cases: configs, environments and the files around them, for
// every plugin type and for cnitool. The generators reach for what broke
// before: JSON nested to and past Go's 10,000 levels, numbers at and past
// what Go's int and float64 take, resolv.conf, subnet.env, saved configs,
// leases, cache files and conflists that are FIFOs, devices, directories or
// huge files, and the plugin's own network namespace. Placeholders (the
// case's directory, the special files, raw JSON) are filled in by the runner.

export const TYPES = ['flannel', 'host-local', 'bridge', 'win-bridge', 'win-overlay'] as const;
export type CaseType = (typeof TYPES)[number] | 'cnitool';
const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
/** Go's encoding/json maxNestingDepth. */
export const GO_MAX_DEPTH = 10_000;

// Placeholders the runner replaces: the case's directory, the shared special
// files, the CNI_PATH variants, and raw JSON the generators cannot write as
// values (numbers as written, nesting deeper than JSON.stringify can go).
export const ROOT = '@ROOT@';
export const SPECIAL = '@SPECIAL@';
export const OWN_NETNS = '/proc/self/ns/net';

/** The nested JSON text a deep placeholder stands for. */
const nested = (kind: string, n: number) => (kind === 'arr' ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n - 1)}{}${'}'.repeat(n - 1)}`);

/** A case's text (its conf as JSON, an environment value) with every placeholder filled in. */
export const fillPlaceholders = (text: string, at: { caseDir: string; binDir: string; specialDir: string }): string =>
  text
    .replace(/"@NUM:([^@"]+)@"/g, '$1')
    .replace(/"@DEEP:(arr|obj):(\d+)@"/g, (_, kind: string, depth: string) => nested(kind, Number(depth)))
    .replaceAll('@BIN@', at.binDir)
    .replaceAll(SPECIAL, at.specialDir)
    .replaceAll(ROOT, at.caseDir);

/** A number placed in the JSON text exactly as written. */
const rawNumber = (text: string) => `@NUM:${text}@`;
/** A value nested `n` levels deep (arrays or objects). */
const deepValue = (kind: 'arr' | 'obj', n: number) => `@DEEP:${kind}:${n}@`;

/** Numbers at and beyond what Go's int and float64 fields take, and the forms JavaScript reads as other numbers. */
const GO_NUMBERS = [
  '0', '-0', '1.0', '1e2', '1E2', '0.5', '-0.0', '9007199254740991', '9007199254740993', '-9007199254740993',
  '9223372036854775807', '9223372036854775808', '-9223372036854775809', '1e20', '100000000000000000000',
  '1e308', '1e309', '1e400', '-1e400', '1e-400',
];
const goNumber = fc.constantFrom(...GO_NUMBERS).map(rawNumber);
/** A number field: usually a plain value, sometimes one of Go's edge cases. */
const num = (arb: fc.Arbitrary<unknown>, edgeWeight = 1) => fc.oneof({ weight: 30, arbitrary: arb }, { weight: edgeWeight, arbitrary: goNumber });

/** Nesting: mostly shallow, some deep, many right around Go's limit (the runner counts the real depth). */
const deep = fc
  .oneof(
    { weight: 3, arbitrary: fc.integer({ min: 2, max: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom(3000, 6000) },
    { weight: 3, arbitrary: fc.integer({ min: GO_MAX_DEPTH - 8, max: GO_MAX_DEPTH + 4 }) },
  )
  .chain((n) => fc.constantFrom('arr' as const, 'obj' as const).map((k) => deepValue(k, n)));
/** Absent in most cases (JSON.stringify drops undefined), a deep value in some. */
const rarelyDeep = fc.oneof({ weight: 60, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: deep });

/** Files a config may name that are no regular file of a sane size. */
const SPECIAL_FILES = [`${SPECIAL}/fifo`, '/dev/zero', `${SPECIAL}/zero-link`, `${SPECIAL}/big`, SPECIAL, `${SPECIAL}/fifo-link`];
const specialFile = fc.constantFrom(...SPECIAL_FILES);

/** What a case may plant where weft keeps or finds its files, before it runs. */
export type Plant = 'none' | 'fifo' | 'zero' | 'big' | 'dir' | 'garbage';
const plant = fc.oneof({ weight: 24, arbitrary: fc.constant<Plant>('none') }, { weight: 1, arbitrary: fc.constantFrom<Plant>('fifo', 'zero', 'big', 'dir', 'garbage') });

const hostile = fc.constantFrom(
  '../x', '../../etc/passwd', '/abs/path', '.', '..', '', ' ', 'a b', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', '$(touch pwned)',
  '`id`', "';rm -rf x'", '%s%n', 'ä', '\u{1F642}', 'x'.repeat(300), '-rf', 'eth0:1', '.hidden', 'a..b', 'CON', '\ufeffnet',
);
const anyJson = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }), goNumber);
const sometimes = <T>(arb: fc.Arbitrary<T>, junkRatio = 40) => fc.oneof({ weight: junkRatio, arbitrary: arb }, { weight: 1, arbitrary: anyJson as fc.Arbitrary<unknown> });

const netName = fc.oneof({ weight: 30, arbitrary: fc.constantFrom('net', 'cbr0', 'my-net.1', 'a') }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
const containerId = fc.oneof({ weight: 30, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,24}$/) }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: fc.string() });
const ifName = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('eth0', 'eth0', 'eth0', 'net1', 'e'.repeat(15), 'eth-0', 'ä') },
  { weight: 2, arbitrary: fc.oneof(hostile, fc.constant('e'.repeat(16))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const cidr4 = fc.constantFrom('10.1.17.0/24', '10.1.17.0/30', '10.1.17.4/31', '10.1.17.9/32', '10.1.0.0/16', '0.0.0.0/0', '10.1.17.1/24', '192.168.0.0/16');
const cidr6 = fc.constantFrom('fc00::/64', 'fc00::/127', 'fc00::1/128', '::/0', 'fc00:0:0:1::/64');
const badCidr = fc.constantFrom('junk', '', '10.1.17.0/33', '256.1.1.1/24', '10.1.17.0', '::/129', ' 10.1.17.0/24', '10.1.17.0/24 ');
const subnet = fc.oneof({ weight: 4, arbitrary: cidr4 }, { weight: 2, arbitrary: cidr6 }, { weight: 1, arbitrary: badCidr });
const ip = fc.constantFrom('10.1.17.5', '10.1.17.1', '10.1.17.0', '10.1.17.255', '10.1.18.5', 'fc00::5', 'fc00::', 'junk', '', '10.1.17.5/24');

/** Data directories: always inside the case directory (absolute or relative to its cwd), never absent. */
const dataDir = fc.constantFrom(
  `${ROOT}/data`, `${ROOT}/data/`, `${ROOT}/data/./a/../b`, `${ROOT}/data/deep/er`, 'rel/data', './rel2', `${ROOT}/data/with space/ünï`,
  `${ROOT}/plainfile`, `${ROOT}/plainfile/sub`,
);

const range = fc.record({ subnet, rangeStart: ip, rangeEnd: ip, gateway: ip }, { requiredKeys: ['subnet'] });
const route = fc.record({ dst: sometimes(subnet), gw: sometimes(ip), mtu: sometimes(num(fc.integer({ min: -1, max: 70000 }), 2)), table: num(fc.integer({ min: 0, max: 300 })) }, { requiredKeys: [] });

const resolvConf = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(`${ROOT}/resolv.conf`, `${ROOT}/missing-resolv.conf`, `${ROOT}/data`) },
  { weight: 2, arbitrary: specialFile },
);

const hostLocalIpam = fc.record(
  {
    type: fc.oneof({ weight: 8, arbitrary: fc.constant('host-local') }, { weight: 1, arbitrary: fc.constantFrom(...TYPES, 'dhcp', '', '../host-local') }),
    dataDir,
    subnet: sometimes(subnet),
    rangeStart: sometimes(ip),
    rangeEnd: sometimes(ip),
    gateway: sometimes(ip),
    ranges: sometimes(fc.array(fc.array(range, { minLength: 0, maxLength: 2 }), { maxLength: 3 })),
    routes: sometimes(fc.array(route, { maxLength: 3 })),
    resolvConf,
    deep: rarelyDeep,
  },
  { requiredKeys: ['type', 'dataDir', 'deep'] },
);

const runtimeConfig = fc.record(
  {
    ips: sometimes(fc.array(ip, { maxLength: 3 })),
    ipRanges: sometimes(fc.array(fc.array(range, { maxLength: 2 }), { maxLength: 2 })),
    portMappings: sometimes(fc.array(fc.record({ hostPort: num(fc.integer({ min: -1, max: 70000 })), containerPort: num(fc.integer({ min: 0, max: 70000 })), protocol: fc.constantFrom('tcp', 'udp', 'sctp', 'x') }), { maxLength: 2 })),
    mac: sometimes(fc.constantFrom('00:11:22:33:44:55', 'ff:ff:ff:ff:ff:ff', 'junk', '')),
    dns: sometimes(fc.record({ servers: fc.array(ip, { maxLength: 2 }), searches: fc.array(fc.string(), { maxLength: 2 }) })),
    deep: rarelyDeep,
  },
  { requiredKeys: ['deep'] },
);

const prevResult = fc.record(
  {
    cniVersion: fc.constantFrom(...VERSIONS, 'junk'),
    interfaces: sometimes(fc.array(fc.record({ name: ifName, mac: fc.string(), sandbox: fc.string(), mtu: num(fc.integer({ min: 0, max: 9000 })) }, { requiredKeys: ['name'] }), { maxLength: 3 })),
    ips: sometimes(fc.array(fc.record({ address: sometimes(subnet), gateway: sometimes(ip), interface: sometimes(num(fc.integer({ min: -2, max: 5 }), 2)), version: fc.constantFrom('4', '6', '5') }, { requiredKeys: ['address'] }), { maxLength: 3 })),
    routes: sometimes(fc.array(route, { maxLength: 2 })),
    dns: sometimes(fc.record({ nameservers: fc.array(ip, { maxLength: 2 }) })),
    deep: rarelyDeep,
  },
  { requiredKeys: ['cniVersion', 'deep'] },
);

const attachments = sometimes(fc.array(fc.record({ containerID: containerId, ifname: ifName }), { maxLength: 3 }));

/** Keys every config may carry. */
const common = {
  cniVersion: fc.oneof({ weight: 40, arbitrary: fc.constantFrom(...VERSIONS, '1.1.0', '1.1.0', '1.1.0', '1.0.0') }, { weight: 2, arbitrary: fc.constantFrom('', '2.0.0', '0.3', '1.1.0.0', 'x') }, { weight: 1, arbitrary: anyJson }),
  name: sometimes(netName, 20),
  runtimeConfig: sometimes(runtimeConfig),
  prevResult: sometimes(prevResult),
  args: sometimes(fc.record({ cni: fc.record({ ips: fc.array(ip, { maxLength: 2 }), mac: fc.string(), deep: rarelyDeep }, { requiredKeys: [] }) })),
  capabilities: sometimes(fc.dictionary(fc.constantFrom('portMappings', 'ips', 'mac', 'dns', 'ipRanges'), fc.boolean())),
  'cni.dev/valid-attachments': attachments,
  dns: sometimes(fc.record({ nameservers: fc.array(ip, { maxLength: 2 }), domain: fc.string(), search: fc.array(fc.string(), { maxLength: 2 }) }, { requiredKeys: [] })),
  // An unknown key: Go skips it, nesting and all (but not past its depth limit).
  'x-unknown': rarelyDeep,
  'x-number': fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: goNumber }),
};
const commonRequired = ['cniVersion', 'name', 'x-unknown', 'x-number'] as const;

const bridgeKeys = {
  bridge: sometimes(fc.oneof(fc.constantFrom('cni0', 'br-x', 'b'.repeat(16)), hostile)),
  isGateway: sometimes(fc.boolean()),
  isDefaultGateway: sometimes(fc.boolean()),
  forceAddress: sometimes(fc.boolean()),
  ipMasq: sometimes(fc.boolean()),
  ipMasqBackend: sometimes(fc.constantFrom('iptables', 'nftables', 'x')),
  mtu: sometimes(num(fc.integer({ min: -5, max: 100000 }), 3)),
  hairpinMode: sometimes(fc.boolean()),
  promiscMode: sometimes(fc.boolean()),
  vlan: sometimes(num(fc.integer({ min: -1, max: 5000 }))),
  vlanTrunk: sometimes(fc.array(fc.record({ minID: num(fc.integer({ min: -1, max: 5000 })), maxID: fc.integer({ min: -1, max: 5000 }), id: num(fc.integer({ min: -1, max: 5000 })) }, { requiredKeys: [] }), { maxLength: 2 })),
  macspoofchk: sometimes(fc.boolean()),
  enabledad: sometimes(fc.boolean()),
  disableContainerInterface: sometimes(fc.boolean()),
  portIsolation: sometimes(fc.boolean()),
  ipam: hostLocalIpam,
};

const policy = fc.record({ Name: fc.constantFrom('EndpointPolicy', 'NetworkPolicy', 'x'), Value: fc.oneof(fc.record({ Type: fc.constantFrom('OutBoundNAT', 'ROUTE', 'ACL', 'PortMapping', 'x'), ExceptionList: fc.array(fc.string(), { maxLength: 2 }), DestinationPrefix: subnet, NeedEncap: fc.boolean(), Settings: fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }), deep: rarelyDeep }, { requiredKeys: ['Type', 'deep'] }), anyJson) }, { requiredKeys: [] });
const windowsKeys = {
  ApiVersion: sometimes(num(fc.constantFrom(1, 2, 3))),
  Policies: sometimes(fc.array(policy, { maxLength: 3 })),
  loopbackDSR: sometimes(fc.boolean()),
  networkWaitSeconds: sometimes(num(fc.constantFrom(0, 0, 0, -1, 601, 0.001))),
  ipMasq: sometimes(fc.boolean()),
  ipMasqNetwork: sometimes(subnet),
  endpointMacPrefix: sometimes(fc.constantFrom('0E-2A', '0e-2a', 'zz-zz', '0E-2A-3B', '')),
  ipam: sometimes(hostLocalIpam),
};

const flannelKeys = {
  subnetFile: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(`${ROOT}/subnet.env`, `${ROOT}/subnet.env`, `${ROOT}/missing.env`, `${ROOT}/data`, 'rel/subnet.env') },
    { weight: 2, arbitrary: specialFile },
  ),
  dataDir,
  // Mostly no waiting for a missing subnet.env; sometimes values that must be refused.
  subnetFileWaitSeconds: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 61, 1e9, 0.01, rawNumber('1e400'), rawNumber('0.0'), rawNumber('0e5')) }),
  delegate: sometimes(
    fc.record(
      {
        type: sometimes(fc.constantFrom(...TYPES, 'portmap', '')),
        hairpinMode: sometimes(fc.boolean()),
        isDefaultGateway: sometimes(fc.boolean()),
        ipMasq: sometimes(fc.boolean()),
        mtu: sometimes(num(fc.integer({ min: -1, max: 70000 }), 2)),
        bridge: sometimes(fc.oneof(fc.constantFrom('cni0', 'cbr0'), hostile)),
        deep: rarelyDeep,
      },
      { requiredKeys: ['deep'] },
    ),
  ).chain((d) =>
    // Rarely the keys flannel refuses to take from the user.
    fc.constantFrom<Record<string, unknown>>({}, {}, {}, {}, {}, {}, {}, {}, { name: 'x' }, { ipam: { type: 'host-local' } }).map((extra) =>
      d && typeof d === 'object' && !Array.isArray(d) ? { ...d, ...extra } : d,
    ),
  ),
  // Always there: without it the delegate's host-local would use its default dataDir.
  ipam: fc.record({ dataDir, type: sometimes(fc.constantFrom(...TYPES, 'dhcp')), routes: sometimes(fc.array(route, { maxLength: 2 })), subnet: sometimes(subnet), deep: rarelyDeep }, { requiredKeys: ['dataDir', 'deep'] }),
};

const SUBNET_ENVS = [
  'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
  'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
  'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
  'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/30\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
  'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=junk\nFLANNEL_MTU=99999999999\nFLANNEL_IPMASQ=true\n',
  'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_MTU=1450\n',
  '',
  '\u0000\u00ff garbage',
];

export interface FuzzCase {
  type: CaseType;
  /** The plugin the conf is for: the case's type, or for cnitool the one plugin in its list. */
  pluginType: (typeof TYPES)[number];
  command: string | undefined;
  env: Record<string, string>;
  conf: Record<string, unknown>;
  /** Instead of the conf: raw bytes (junk, cut short). */
  raw?: string;
  subnetEnv: string;
  /** Run through the built executable instead of in process. */
  exec: boolean;
  /** Things put where weft keeps its files: flannel's saved config, host-local's lease, lock and index, cnitool's cache and a conflist. */
  plant: { saved: Plant; lease: Plant; cache: Plant; conflist: Plant };
}

const confFor = (type: (typeof TYPES)[number]): fc.Arbitrary<Record<string, unknown>> => {
  const keys: Record<string, fc.Arbitrary<unknown>> =
    type === 'flannel' ? flannelKeys : type === 'bridge' ? bridgeKeys : type === 'host-local' ? { ipam: hostLocalIpam } : windowsKeys;
  const required = [...commonRequired, ...(type === 'flannel' ? ['subnetFile', 'subnetFileWaitSeconds', 'dataDir', 'ipam'] : []), ...(type === 'host-local' ? ['ipam'] : [])];
  return fc
    .record({ ...common, ...keys, type: fc.oneof({ weight: 10, arbitrary: fc.constant(type) }, { weight: 1, arbitrary: fc.string() }) }, { requiredKeys: required as never[] })
    .map((c) => c as Record<string, unknown>);
};

const CNITOOL_VERBS = ['add', 'add', 'del', 'check', 'gc', 'status', 'junk'];

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .oneof({ weight: 40, arbitrary: fc.constantFrom<CaseType>(...TYPES) }, { weight: 1, arbitrary: fc.constant<CaseType>('cnitool') })
  .chain((type) =>
    (type === 'cnitool' ? fc.constantFrom(...TYPES) : fc.constant(type)).chain((pluginType) =>
      fc.record({
        type: fc.constant(type),
        pluginType: fc.constant(pluginType),
        command:
          type === 'cnitool'
            ? fc.constantFrom(...CNITOOL_VERBS)
            : fc.oneof({ weight: 12, arbitrary: fc.constantFrom('ADD', 'ADD', 'DEL', 'CHECK', 'GC', 'STATUS') }, { weight: 1, arbitrary: fc.constantFrom('VERSION', undefined, '', 'add', 'JUNK') }),
        env: fc.record(
          {
            CNI_CONTAINERID: containerId,
            CNI_NETNS: fc.oneof(
              { weight: 20, arbitrary: fc.constantFrom(`${ROOT}/no-such-netns`, 'container:abc123', 'relative/netns', '5b7e2c1a-3f4d-4e5b-8a6c-7d8e9f0a1b2c') },
              { weight: 2, arbitrary: fc.constantFrom(`${ROOT}/plainfile`, `${ROOT}/plainfile/x`, `${ROOT}/data`, '', 'none', 'container:../x', `${ROOT}/a b`, `${ROOT}/q"uote`, `${ROOT}/h#sh`) },
              { weight: 1, arbitrary: fc.constant(OWN_NETNS) },
            ),
            CNI_IFNAME: ifName,
            CNI_ARGS: fc.oneof(
              { weight: 20, arbitrary: fc.constantFrom('', '', '', 'IgnoreUnknown=1;K8S_POD_NAME=x;K8S_POD_NAMESPACE=y', 'IP=10.1.17.5', 'IP=fc00::5', 'MAC=00:11:22:33:44:55') },
              { weight: 2, arbitrary: fc.constantFrom('IP=junk', 'a=b=c;;', '=', 'IgnoreUnknown=true;X=1') },
              { weight: 1, arbitrary: fc.string() },
            ),
            CNI_PATH: fc.oneof({ weight: 20, arbitrary: fc.constant('@BIN@') }, { weight: 1, arbitrary: fc.constantFrom('@BIN@:@ROOT@/nobin', '@ROOT@/nobin', '') }),
            CNI_NETNS_OVERRIDE: fc.constantFrom('', '1', 'true', 'junk'),
          },
          { requiredKeys: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'] },
        ),
        conf: confFor(pluginType),
        raw: fc.oneof(
          { weight: 40, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constantFrom('', 'null', '[]', '"x"', '{', '1e999', '{"name":"n","cniVersion":"1.0.0"', '\u0000\u0001', '\ufeff{"name":"n"}', '{"name":"n","mtu":1e400}')) },
        ),
        subnetEnv: fc.constantFrom(...SUBNET_ENVS),
        exec: type === 'cnitool' ? fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) : fc.oneof({ weight: 19, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        plant: fc.record({ saved: plant, lease: plant, cache: plant, conflist: plant }),
      }),
    ),
  )
  // A plugin told its own namespace is fine (CNI_NETNS_OVERRIDE) would work on this process's: never.
  .map((c) => (c.env.CNI_NETNS === OWN_NETNS ? { ...c, env: { ...c.env, CNI_NETNS_OVERRIDE: '' } } : c))
  // No runtime can put a NUL byte into a process's environment: such cases run in process only.
  .map((c) => (c.exec && Object.values(c.env).some((v) => v.includes('\u0000')) ? { ...c, exec: false } : c));
