import fs from 'node:fs';
import path from 'node:path';
import type { Env } from '../../../src/cni/env.ts';
import { runPlugin } from '../../../src/cni/skel.ts';
import { plugin } from '../../../src/plugins/flannel/index.ts';
import { tempDir, writeScript } from '../../helpers/tmp.ts';

// Driving flannel in process (runPlugin) against delegates that are small
// shell scripts on CNI_PATH: each records what it received and answers what
// the test asked for (FAKE_RESULT, FAKE_<COMMAND>_ERROR).

export const SUBNET_V4 = `FLANNEL_NETWORK=10.1.0.0/16
FLANNEL_SUBNET=10.1.17.1/24
FLANNEL_MTU=1472
FLANNEL_IPMASQ=true
`;
export const SUBNET_V6 = `FLANNEL_IPV6_NETWORK=fc00::/48
FLANNEL_IPV6_SUBNET=fc00::1/64
FLANNEL_MTU=1472
FLANNEL_IPMASQ=true
`;
export const SUBNET_DUAL = `FLANNEL_NETWORK=10.1.0.0/16
FLANNEL_SUBNET=10.1.17.1/24
FLANNEL_IPV6_NETWORK=fc00::/48
FLANNEL_IPV6_SUBNET=fc00::1/64
FLANNEL_MTU=1472
FLANNEL_IPMASQ=true
`;
export const SUBNET_V4_TWO_NETWORKS = `FLANNEL_NETWORK=10.1.0.0/16,192.168.0.0/16
FLANNEL_SUBNET=10.1.17.1/24
FLANNEL_MTU=1472
FLANNEL_IPMASQ=true
`;

export const FAKE_RESULT = JSON.stringify({
  cniVersion: '0.3.1',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:11:02', sandbox: '/var/run/netns/pod' }],
  ips: [{ version: '4', interface: 0, address: '10.1.17.2/24', gateway: '10.1.17.1' }],
  dns: {},
});

const FAKE_DELEGATE = `
n=$(ls "$FAKE_LOG" | wc -l)
f="$FAKE_LOG/$(printf %03d $((n + 1)))-$CNI_COMMAND-$(basename "$0")"
cat > "$f"
printf '%s\\n%s\\n%s\\n' "$CNI_CONTAINERID" "$CNI_IFNAME" "$CNI_NETNS" > "$f.env"
eval "err=\\"\\$FAKE_\${CNI_COMMAND}_ERROR\\""
if [ -n "$err" ]; then printf '%s' "$err"; exit 1; fi
if [ "$CNI_COMMAND" = ADD ]; then printf '%s' "$FAKE_RESULT"; fi
exit 0`;

export interface Call {
  command: string;
  type: string;
  /** Exactly the bytes the delegate read on stdin. */
  stdin: string;
  conf: Record<string, unknown>;
  containerId: string;
  ifName: string;
  netns: string;
}

export interface Fixture {
  dir: string;
  binDir: string;
  logDir: string;
  dataDir: string;
  subnetFile: string;
  /** Put a fake delegate (a recording script) on CNI_PATH under this name. */
  fake(type: string): void;
  /** Put a real binary (e.g. /usr/lib/cni/host-local) on CNI_PATH. */
  link(type: string, target: string): void;
  writeSubnetEnv(text: string): void;
  calls(): Call[];
  /** The saved delegate config of a key, or undefined when dataDir has none (it throws when there is no dataDir). */
  saved(key: string): string | undefined;
}

export function fixture(): Fixture {
  const dir = tempDir('weft-flannel-');
  const binDir = path.join(dir, 'bin');
  const logDir = path.join(dir, 'log');
  fs.mkdirSync(binDir);
  fs.mkdirSync(logDir);
  const f: Fixture = {
    dir,
    binDir,
    logDir,
    dataDir: path.join(dir, 'data'),
    subnetFile: path.join(dir, 'subnet.env'),
    fake: (type) => void writeScript(path.join(binDir, type), FAKE_DELEGATE),
    link: (type, target) => fs.symlinkSync(target, path.join(binDir, type)),
    writeSubnetEnv: (text) => fs.writeFileSync(f.subnetFile, text),
    calls: () =>
      fs
        .readdirSync(logDir)
        .filter((n) => !n.endsWith('.env'))
        .sort()
        .map((n) => {
          const [, command, ...type] = n.split('-');
          const stdin = fs.readFileSync(path.join(logDir, n), 'utf8');
          const [containerId, ifName, netns] = fs.readFileSync(path.join(logDir, `${n}.env`), 'utf8').split('\n');
          return { command: command!, type: type.join('-'), stdin, conf: JSON.parse(stdin), containerId: containerId!, ifName: ifName!, netns: netns! };
        }),
    saved: (key) => {
      try {
        return fs.readFileSync(path.join(f.dataDir, key), 'utf8');
      } catch (e) {
        // Only "no such file" in a dataDir that is there means nothing is saved; any
        // other failure (a wrong path, no dataDir at all) fails the test.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && fs.statSync(f.dataDir).isDirectory()) return undefined;
        throw e;
      }
    },
  };
  return f;
}

/** The reference test's input: name, type, subnetFile, dataDir, and whatever else. */
export function flannelConf(f: Fixture, extra: Record<string, unknown> = {}): Record<string, unknown> {
  // No waiting for subnet.env: the tests that are about waiting set their own budget.
  return { name: 'cni-flannel', type: 'flannel', subnetFile: f.subnetFile, subnetFileWaitSeconds: 0, dataDir: f.dataDir, ...extra };
}

export interface Outcome {
  exitCode: number;
  stdout: string;
  /** stdout parsed (a result or an error object), when it is JSON. */
  json: Record<string, unknown> | undefined;
}

export const CONTAINER_ID = 'some-container-id-ipv4';

/** One flannel invocation, in process, as a runtime would make it. */
export async function runFlannel(
  f: Fixture,
  command: string,
  conf: Record<string, unknown> | string,
  env: Record<string, string> = {},
): Promise<Outcome> {
  const fullEnv: Env = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: CONTAINER_ID,
    CNI_NETNS: '/var/run/netns/weft-test-pod',
    CNI_IFNAME: 'eth0',
    CNI_PATH: f.binDir,
    FAKE_LOG: f.logDir,
    FAKE_RESULT,
    ...env,
  };
  const stdin = Buffer.from(typeof conf === 'string' ? conf : JSON.stringify(conf));
  const out = await runPlugin(plugin, { env: fullEnv, readStdin: () => stdin, stderr: () => {} });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(out.stdout) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { exitCode: out.exitCode, stdout: out.stdout, json };
}
