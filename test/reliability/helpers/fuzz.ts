import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { setSelf } from '../../../src/cni/self.ts';
import type { Env } from '../../../src/cni/env.ts';
import { runPlugin } from '../../../src/cni/skel.ts';
import { loadPlugin } from '../../../src/plugins/registry.ts';
import { cniBin, tempDir, writeScript } from '../../helpers/tmp.ts';

// Fuzzed configs and environments for every plugin type, run in process
// through runPlugin. Nothing can reach the machine:
// - the tools the Linux plugins run (ip, nsenter, iptables, nft, sh) are
//   fakes that refuse, found first on PATH;
// - PowerShell is a fake that refuses (WEFT_POWERSHELL);
// - CNI_NETNS never names a namespace (only paths that do not exist, or a
//   plain file), so no plugin gets as far as a kernel change;
// - every data directory a config can name is inside the case's own
//   directory, and a case's relative paths resolve there (its cwd);
// - CNI_PATH holds only weft's plugins (run in process), or nothing.
// After each case, every file and directory that appeared must lie inside a
// directory the config named, and /var/lib/cni, /run/flannel, /etc/cni stay
// as they were.

const TYPES = ['flannel', 'host-local', 'bridge', 'win-bridge', 'win-overlay'] as const;
const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const WATCHED = ['/var/lib/cni', '/run/flannel', '/etc/cni'];
const TOOLS = ['ip', 'nsenter', 'iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore', 'nft', 'sh', 'sysctl', 'modprobe'];

// Placeholders the runner replaces: the case's directory and the CNI_PATH variants.
const ROOT = '@ROOT@';

const hostile = fc.constantFrom(
  '../x', '../../etc/passwd', '/abs/path', '.', '..', '', ' ', 'a b', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', '$(touch pwned)',
  '`id`', "';rm -rf x'", '%s%n', 'ä', '\u{1F642}', 'x'.repeat(300), '-rf', 'eth0:1', '.hidden', 'a..b', 'CON',
);
const anyJson = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));
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
const route = fc.record({ dst: sometimes(subnet), gw: sometimes(ip), mtu: sometimes(fc.integer({ min: -1, max: 70000 })) }, { requiredKeys: [] });

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
    resolvConf: fc.constantFrom(`${ROOT}/resolv.conf`, `${ROOT}/missing-resolv.conf`, `${ROOT}/data`),
  },
  { requiredKeys: ['type', 'dataDir'] },
);

const runtimeConfig = fc.record(
  {
    ips: sometimes(fc.array(ip, { maxLength: 3 })),
    ipRanges: sometimes(fc.array(fc.array(range, { maxLength: 2 }), { maxLength: 2 })),
    portMappings: sometimes(fc.array(fc.record({ hostPort: fc.integer({ min: -1, max: 70000 }), containerPort: fc.integer({ min: 0, max: 70000 }), protocol: fc.constantFrom('tcp', 'udp', 'sctp', 'x') }), { maxLength: 2 })),
    mac: sometimes(fc.constantFrom('00:11:22:33:44:55', 'ff:ff:ff:ff:ff:ff', 'junk', '')),
    dns: sometimes(fc.record({ servers: fc.array(ip, { maxLength: 2 }), searches: fc.array(fc.string(), { maxLength: 2 }) })),
  },
  { requiredKeys: [] },
);

const prevResult = fc.record(
  {
    cniVersion: fc.constantFrom(...VERSIONS, 'junk'),
    interfaces: sometimes(fc.array(fc.record({ name: ifName, mac: fc.string(), sandbox: fc.string() }, { requiredKeys: ['name'] }), { maxLength: 3 })),
    ips: sometimes(fc.array(fc.record({ address: sometimes(subnet), gateway: sometimes(ip), interface: sometimes(fc.integer({ min: -2, max: 5 })), version: fc.constantFrom('4', '6', '5') }, { requiredKeys: ['address'] }), { maxLength: 3 })),
    routes: sometimes(fc.array(route, { maxLength: 2 })),
    dns: sometimes(fc.record({ nameservers: fc.array(ip, { maxLength: 2 }) })),
  },
  { requiredKeys: ['cniVersion'] },
);

const attachments = sometimes(fc.array(fc.record({ containerID: containerId, ifname: ifName }), { maxLength: 3 }));

/** Keys every config may carry. */
const common = {
  cniVersion: fc.oneof({ weight: 40, arbitrary: fc.constantFrom(...VERSIONS, '1.1.0', '1.1.0', '1.1.0', '1.0.0') }, { weight: 2, arbitrary: fc.constantFrom('', '2.0.0', '0.3', '1.1.0.0', 'x') }, { weight: 1, arbitrary: anyJson }),
  name: sometimes(netName, 20),
  runtimeConfig: sometimes(runtimeConfig),
  prevResult: sometimes(prevResult),
  args: sometimes(fc.record({ cni: fc.record({ ips: fc.array(ip, { maxLength: 2 }), mac: fc.string() }, { requiredKeys: [] }) })),
  capabilities: sometimes(fc.dictionary(fc.constantFrom('portMappings', 'ips', 'mac', 'dns', 'ipRanges'), fc.boolean())),
  'cni.dev/valid-attachments': attachments,
  dns: sometimes(fc.record({ nameservers: fc.array(ip, { maxLength: 2 }), domain: fc.string(), search: fc.array(fc.string(), { maxLength: 2 }) }, { requiredKeys: [] })),
};
const commonRequired = ['cniVersion', 'name'] as const;

const bridgeKeys = {
  bridge: sometimes(fc.oneof(fc.constantFrom('cni0', 'br-x', 'b'.repeat(16)), hostile)),
  isGateway: sometimes(fc.boolean()),
  isDefaultGateway: sometimes(fc.boolean()),
  forceAddress: sometimes(fc.boolean()),
  ipMasq: sometimes(fc.boolean()),
  ipMasqBackend: sometimes(fc.constantFrom('iptables', 'nftables', 'x')),
  mtu: sometimes(fc.integer({ min: -5, max: 100000 })),
  hairpinMode: sometimes(fc.boolean()),
  promiscMode: sometimes(fc.boolean()),
  vlan: sometimes(fc.integer({ min: -1, max: 5000 })),
  vlanTrunk: sometimes(fc.array(fc.record({ minID: fc.integer({ min: -1, max: 5000 }), maxID: fc.integer({ min: -1, max: 5000 }), id: fc.integer({ min: -1, max: 5000 }) }, { requiredKeys: [] }), { maxLength: 2 })),
  macspoofchk: sometimes(fc.boolean()),
  enabledad: sometimes(fc.boolean()),
  disableContainerInterface: sometimes(fc.boolean()),
  portIsolation: sometimes(fc.boolean()),
  ipam: hostLocalIpam,
};

const policy = fc.record({ Name: fc.constantFrom('EndpointPolicy', 'NetworkPolicy', 'x'), Value: fc.oneof(fc.record({ Type: fc.constantFrom('OutBoundNAT', 'ROUTE', 'ACL', 'PortMapping', 'x'), ExceptionList: fc.array(fc.string(), { maxLength: 2 }), DestinationPrefix: subnet, NeedEncap: fc.boolean(), Settings: fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }) }, { requiredKeys: ['Type'] }), anyJson) }, { requiredKeys: [] });
const windowsKeys = {
  ApiVersion: sometimes(fc.constantFrom(1, 2, 3)),
  Policies: sometimes(fc.array(policy, { maxLength: 3 })),
  loopbackDSR: sometimes(fc.boolean()),
  networkWaitSeconds: sometimes(fc.constantFrom(0, 0, 0, -1, 601, 0.001)),
  ipMasq: sometimes(fc.boolean()),
  ipMasqNetwork: sometimes(subnet),
  endpointMacPrefix: sometimes(fc.constantFrom('0E-2A', '0e-2a', 'zz-zz', '0E-2A-3B', '')),
  ipam: sometimes(hostLocalIpam),
};

const flannelKeys = {
  subnetFile: fc.constantFrom(`${ROOT}/subnet.env`, `${ROOT}/subnet.env`, `${ROOT}/missing.env`, `${ROOT}/data`, 'rel/subnet.env'),
  dataDir,
  // Mostly no waiting for a missing subnet.env; sometimes values that must be refused.
  subnetFileWaitSeconds: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 61, 1e9, 0.01) }),
  delegate: sometimes(
    fc.record(
      {
        type: sometimes(fc.constantFrom(...TYPES, 'portmap', '')),
        hairpinMode: sometimes(fc.boolean()),
        isDefaultGateway: sometimes(fc.boolean()),
        ipMasq: sometimes(fc.boolean()),
        mtu: sometimes(fc.integer({ min: -1, max: 70000 })),
        bridge: sometimes(fc.oneof(fc.constantFrom('cni0', 'cbr0'), hostile)),
      },
      { requiredKeys: [] },
    ),
  ).chain((d) =>
    // Rarely the keys flannel refuses to take from the user.
    fc.constantFrom<Record<string, unknown>>({}, {}, {}, {}, {}, {}, {}, {}, { name: 'x' }, { ipam: { type: 'host-local' } }).map((extra) =>
      d && typeof d === 'object' && !Array.isArray(d) ? { ...d, ...extra } : d,
    ),
  ),
  // Always there: without it the delegate's host-local would use its default dataDir.
  ipam: fc.record({ dataDir, type: sometimes(fc.constantFrom(...TYPES, 'dhcp')), routes: sometimes(fc.array(route, { maxLength: 2 })), subnet: sometimes(subnet) }, { requiredKeys: ['dataDir'] }),
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
  type: (typeof TYPES)[number];
  command: string | undefined;
  env: Record<string, string>;
  conf: Record<string, unknown>;
  /** Instead of the conf: raw bytes (junk, cut short). */
  raw?: string;
  subnetEnv: string;
}

const confFor = (type: FuzzCase['type']): fc.Arbitrary<Record<string, unknown>> => {
  const keys: Record<string, fc.Arbitrary<unknown>> =
    type === 'flannel' ? flannelKeys : type === 'bridge' ? bridgeKeys : type === 'host-local' ? { ipam: hostLocalIpam } : windowsKeys;
  const required = [...commonRequired, ...(type === 'flannel' ? ['subnetFile', 'subnetFileWaitSeconds', 'dataDir', 'ipam'] : []), ...(type === 'host-local' ? ['ipam'] : [])];
  return fc
    .record({ ...common, ...keys, type: fc.oneof({ weight: 10, arbitrary: fc.constant(type) }, { weight: 1, arbitrary: fc.string() }) }, { requiredKeys: required as never[] })
    .map((c) => c as Record<string, unknown>);
};

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.constantFrom(...TYPES).chain((type) =>
  fc.record({
    type: fc.constant(type),
    command: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('ADD', 'ADD', 'DEL', 'CHECK', 'GC', 'STATUS') }, { weight: 1, arbitrary: fc.constantFrom('VERSION', undefined, '', 'add', 'JUNK') }),
    env: fc.record(
      {
        CNI_CONTAINERID: containerId,
        CNI_NETNS: fc.oneof(
          { weight: 20, arbitrary: fc.constantFrom(`${ROOT}/no-such-netns`, 'container:abc123', 'relative/netns', '5b7e2c1a-3f4d-4e5b-8a6c-7d8e9f0a1b2c') },
          { weight: 2, arbitrary: fc.constantFrom(`${ROOT}/plainfile`, `${ROOT}/data`, '', 'none', 'container:../x', `${ROOT}/a b`, `${ROOT}/q"uote`, `${ROOT}/h#sh`) },
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
    conf: confFor(type),
    raw: fc.oneof(
      { weight: 40, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constantFrom('', 'null', '[]', '"x"', '{', '1e999', '{"name":"n","cniVersion":"1.0.0"', '\u0000\u0001')) },
    ),
    subnetEnv: fc.constantFrom(...SUBNET_ENVS),
  }),
);

// --- the oracle -------------------------------------------------------------

/** The version a config speaks: its cniVersion (keys match ignoring case), '' meaning 0.1.0. */
function confVersion(stdin: string): string | undefined {
  try {
    const doc = JSON.parse(stdin) as Record<string, unknown>;
    const key = Object.keys(doc).find((k) => k.toLowerCase() === 'cniversion');
    const v = key === undefined ? '' : doc[key];
    if (typeof v !== 'string') return undefined;
    return v === '' ? '0.1.0' : v;
  } catch {
    return undefined;
  }
}

const CIDR = /^[0-9a-f.:]+\/\d{1,3}$/i;
const JS_INTERNALS = /Cannot read prop|is not a function|is not iterable|is not defined|of undefined|of null|\[object Object\]|Maximum call stack|TypeError|RangeError|ReferenceError|SyntaxError|Unexpected token|Unexpected end of JSON|undefined$|NaN/;

function expectValidResult(stdout: string, version: string): void {
  const r = JSON.parse(stdout) as Record<string, unknown>;
  expect(r.cniVersion, stdout).toBe(version);
  const [major, minor] = version.split('.').map(Number) as [number, number];
  if (major === 0 && minor < 3) {
    for (const k of Object.keys(r)) expect(['cniVersion', 'ip4', 'ip6', 'dns'], stdout).toContain(k);
    for (const fam of ['ip4', 'ip6']) if (r[fam] !== undefined) expect((r[fam] as { ip: string }).ip, stdout).toMatch(CIDR);
    return;
  }
  for (const k of Object.keys(r)) expect(['cniVersion', 'interfaces', 'ips', 'routes', 'dns'], stdout).toContain(k);
  for (const i of (r.ips as Record<string, unknown>[] | undefined) ?? []) {
    expect(i.address, stdout).toMatch(CIDR);
    if (major === 0) expect(['4', '6'], stdout).toContain(i.version);
    else expect(i.version, stdout).toBeUndefined();
  }
}

export interface FuzzStats {
  cases: number;
  ok: number;
  errors: Record<number, number>;
  /** Tools the plugins tried to run (all refused): DEL and GC tearing down rules by container ID. */
  toolCalls: number;
  ms: number;
}

// --- the runner -------------------------------------------------------------

function walk(dir: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    out.push(e.isDirectory() ? `${p}/` : p);
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** The write directories a config names (only strings count; Go would reject others). */
function namedDirs(conf: Record<string, unknown>, cwd: string): string[] {
  const out: string[] = [];
  const add = (v: unknown) => typeof v === 'string' && v !== '' && out.push(path.resolve(cwd, v));
  add(conf.dataDir);
  const ipam = conf.ipam as Record<string, unknown> | undefined;
  if (ipam && typeof ipam === 'object') add(ipam.dataDir);
  return out;
}

export async function fuzzPlugins(numRuns: number, seed?: number): Promise<FuzzStats> {
  const started = Date.now();
  const root = tempDir('weft-fuzz-');
  // weft's plugins on CNI_PATH are this process (in process delegation).
  setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin);
  const bin = path.join(root, 'bin');
  const binNoIpam = path.join(root, 'bin-no-ipam');
  for (const [dir, types] of [[bin, TYPES], [binNoIpam, TYPES.filter((t) => t !== 'host-local')]] as const) {
    fs.mkdirSync(dir);
    for (const t of types) fs.symlinkSync(path.join(cniBin, 'weft.cjs'), path.join(dir, t));
  }
  const tools = path.join(root, 'tools');
  const toolLog = path.join(root, 'tools.log');
  fs.mkdirSync(tools);
  for (const t of TOOLS) writeScript(path.join(tools, t), `echo "$0 $*" >> '${toolLog}'\necho "fuzz harness: $0 refused" >&2\nexit 1`);
  const powershell = writeScript(path.join(root, 'powershell'), `echo "fuzz harness: PowerShell refused" >&2\nexit 1`);
  const savedPath = process.env.PATH;
  const savedCwd = process.cwd();
  // The Linux plugins take their tools' PATH from this process's environment.
  process.env.PATH = tools;
  const watchedBefore = WATCHED.map((p) => fs.existsSync(p));
  const watchedTree = () => WATCHED.flatMap((p) => walk(p)).sort();
  const treeBefore = watchedTree();
  const plugins = Object.fromEntries(await Promise.all(TYPES.map(async (t) => [t, await loadPlugin(t)] as const)));
  const stats: FuzzStats = { cases: 0, ok: 0, errors: {}, toolCalls: 0, ms: 0 };
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const caseDir = path.join(root, `case-${n++}`);
        const cwd = path.join(caseDir, 'cwd');
        fs.mkdirSync(path.join(cwd, 'rel'), { recursive: true });
        fs.writeFileSync(path.join(caseDir, 'plainfile'), 'not a directory\n');
        fs.writeFileSync(path.join(caseDir, 'subnet.env'), c.subnetEnv);
        fs.writeFileSync(path.join(cwd, 'rel', 'subnet.env'), c.subnetEnv);
        fs.writeFileSync(path.join(caseDir, 'resolv.conf'), 'nameserver 192.0.2.53\nsearch example\n');
        const before = new Set(walk(caseDir));
        // flannel's Windows delegate config takes no ipam dataDir: its host-local would use the machine's.
        const windowsDelegate = c.type === 'flannel' && ['win-bridge', 'win-overlay'].includes((c.conf.delegate as { type?: unknown } | undefined)?.type as string);
        const fill = (s: string) => s.replaceAll('@BIN@', windowsDelegate ? binNoIpam : bin).replaceAll(ROOT, caseDir);
        const confText = fill(JSON.stringify(c.conf));
        const stdin = c.raw === undefined ? confText : fill(c.raw);
        const env: Record<string, string | undefined> = {
          PATH: tools,
          WEFT_POWERSHELL: powershell,
          ...Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, fill(v)])),
          CNI_COMMAND: c.command,
        };
        // A namespace path must never name a namespace: only absent paths, plain files and directories.
        const netnsPath = env.CNI_NETNS ? path.resolve(cwd, env.CNI_NETNS) : undefined;
        if (netnsPath && fs.existsSync(netnsPath)) expect(fs.statSync(netnsPath).isFile() || fs.statSync(netnsPath).isDirectory()).toBe(true);
        // A case that hangs or kills the worker cannot be reported by fast-check: this file names it.
        if (process.env.WEFT_FUZZ_TRACE) fs.writeFileSync(process.env.WEFT_FUZZ_TRACE, `${JSON.stringify({ type: c.type, env, stdin })}\n`);
        process.chdir(cwd);
        let outcome;
        try {
          outcome = await runPlugin(plugins[c.type]!, { env: env as Env, readStdin: () => Buffer.from(stdin), stderr: () => {} });
        } finally {
          process.chdir(savedCwd);
        }
        const { stdout, exitCode } = outcome;
        stats.cases++;
        expect(stdout, 'a stack trace').not.toMatch(/\n\s+at /);
        expect([0, 1]).toContain(exitCode);
        if (exitCode === 1) {
          const err = JSON.parse(stdout) as Record<string, unknown>;
          expect(Object.keys(err).every((k) => ['code', 'msg', 'details'].includes(k)), stdout).toBe(true);
          expect(Number.isInteger(err.code), stdout).toBe(true);
          expect(typeof err.msg === 'string' && err.msg !== '', stdout).toBe(true);
          if (err.details !== undefined) expect(typeof err.details, stdout).toBe('string');
          expect(`${err.msg} ${err.details ?? ''}`, `JavaScript internals in ${stdout}`).not.toMatch(JS_INTERNALS);
          stats.errors[err.code as number] = (stats.errors[err.code as number] ?? 0) + 1;
        } else {
          stats.ok++;
          if (env.CNI_COMMAND === 'VERSION') expect(JSON.parse(stdout).supportedVersions, stdout).toContain('1.1.0');
          else if (env.CNI_COMMAND === 'ADD') expectValidResult(stdout, confVersion(stdin)!);
          else expect(stdout).toBe('');
        }
        // Whatever an ADD took, a DEL with the same input gives back: no lease, no saved config left.
        if (exitCode === 0 && env.CNI_COMMAND === 'ADD') {
          process.chdir(cwd);
          try {
            const del = await runPlugin(plugins[c.type]!, { env: { ...env, CNI_COMMAND: 'DEL' } as Env, readStdin: () => Buffer.from(stdin), stderr: () => {} });
            expect(del, 'DEL after a successful ADD').toEqual({ stdout: '', exitCode: 0 });
          } finally {
            process.chdir(savedCwd);
          }
          const leftovers = walk(caseDir).filter((p) => !before.has(p) && !p.endsWith('/') && !p.includes('/.weft/') && !/\/(lock|last_reserved_ip\.\d+)$/.test(p));
          expect(leftovers, `left after ADD and DEL by ${c.type}`).toEqual([]);
        }
        // Writes stay inside the directories the config names (or their parents, made on the way).
        const allowed = c.raw === undefined ? namedDirs(JSON.parse(confText) as Record<string, unknown>, cwd) : [];
        for (const p of walk(caseDir)) {
          if (before.has(p)) continue;
          const isDir = p.endsWith('/');
          const abs = isDir ? p.slice(0, -1) : p;
          const ok = allowed.some((d) => inside(abs, d) || (isDir && inside(d, abs)));
          expect(ok, `${p} written outside ${JSON.stringify(allowed)} by ${c.type} ${c.command}`).toBe(true);
        }
        WATCHED.forEach((p, i) => expect(fs.existsSync(p), p).toBe(watchedBefore[i]));
        fs.rmSync(caseDir, { recursive: true, force: true });
      }),
      { numRuns, seed, verbose: 1, endOnFailure: true },
    );
  } finally {
    process.env.PATH = savedPath;
    process.chdir(savedCwd);
  }
  // Each case checked that these were not created; nothing changed inside them either.
  expect(watchedTree()).toEqual(treeBefore);
  stats.toolCalls = fs.existsSync(toolLog) ? fs.readFileSync(toolLog, 'utf8').split('\n').filter(Boolean).length : 0;
  stats.ms = Date.now() - started;
  return stats;
}
