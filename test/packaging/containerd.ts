import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type RunResult, run } from '../helpers/run.ts';

// A containerd of the test's own (root, state, socket, plugin folders in a
// temp dir; the CRI plugin off) and a "node": a network namespace where
// the bridge, veths and NAT rules land, with the node's CNI folders
// (/opt/cni/bin, /etc/cni/net.d, /run/flannel, /var/lib/cni) bind-mounted
// from temp dirs for the commands run there. ctr itself runs the CNI
// plugins for `ctr run --cni`, so ctr runs on the node.

export const NAMESPACE = 'weft';

export class Containerd {
  readonly socket: string;
  private daemon?: ChildProcess;
  private log = '';

  constructor(readonly dir: string) {
    this.socket = path.join(dir, 'containerd.sock');
  }

  async start(): Promise<void> {
    const config = path.join(this.dir, 'config.toml');
    fs.writeFileSync(
      config,
      [
        'version = 2',
        `root = "${this.dir}/root"`,
        `state = "${this.dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${this.socket}"`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${this.dir}/opt"`,
        '',
      ].join('\n'),
    );
    this.daemon = spawn('containerd', ['--config', config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.daemon.stderr!.on('data', (b: Buffer) => (this.log = (this.log + b.toString()).slice(-20_000)));
    for (let i = 0; i < 100; i++) {
      if ((await this.ctr(['version'])).code === 0) return;
      if (this.daemon.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`containerd did not start:\n${this.log}`);
  }

  ctr(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return run('ctr', ['-a', this.socket, '-n', NAMESPACE, ...args], { timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** ctr, failing the test with its output when it fails. */
  async ctrOk(args: string[]): Promise<string> {
    const r = await this.ctr(args);
    if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** The PID of a running task. */
  async pid(id: string): Promise<number> {
    const line = (await this.ctrOk(['task', 'ls'])).split('\n').find((l) => l.split(/\s+/)[0] === id);
    if (!line) throw new Error(`no task ${id}`);
    return Number(line.split(/\s+/)[1]);
  }

  /** Remove every task and container in the namespace. */
  async removeAll(): Promise<void> {
    const tasks = (await this.ctr(['task', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    await Promise.all(tasks.map((t) => this.ctr(['task', 'rm', '-f', t])));
    const containers = (await this.ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    await Promise.all(containers.map((c) => this.ctr(['container', 'rm', c])));
  }

  stop(): void {
    const pid = this.daemon?.pid;
    if (pid === undefined || this.daemon!.exitCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** The folders a node's CNI uses, each bound to a temp dir for the commands run on the node. */
export const NODE_DIRS = { bin: '/opt/cni/bin', conf: '/etc/cni/net.d', flannel: '/run/flannel', state: '/var/lib/cni' } as const;

export class Node {
  readonly netns = `wctd-${crypto.randomBytes(4).toString('hex')}`;
  readonly dirs: Record<keyof typeof NODE_DIRS, string>;
  private createdMountPoints: string[] = [];

  constructor(readonly root: string) {
    this.dirs = Object.fromEntries(Object.keys(NODE_DIRS).map((k) => [k, path.join(root, k)])) as Node['dirs'];
  }

  setUp(): void {
    for (const d of Object.values(this.dirs)) fs.mkdirSync(d, { recursive: true });
    // Mount points that this machine lacks are made (and removed after).
    for (const target of Object.values(NODE_DIRS)) {
      const missing: string[] = [];
      for (let d: string = target; !fs.existsSync(d); d = path.dirname(d)) missing.push(d);
      fs.mkdirSync(target, { recursive: true });
      this.createdMountPoints.push(...missing);
    }
    execFileSync('ip', ['netns', 'add', this.netns]);
    execFileSync('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
  }

  /** Run a command on the node: in its network namespace, with its CNI folders. */
  run(cmd: string, args: string[], opts: { timeoutMs?: number; stdin?: string } = {}): Promise<RunResult> {
    const binds = Object.entries(NODE_DIRS)
      .map(([k, target]) => `mount --bind '${this.dirs[k as keyof typeof NODE_DIRS]}' '${target}'`)
      .join(' && ');
    return run('ip', ['netns', 'exec', this.netns, 'sh', '-c', `${binds} && exec "$@"`, 'node', cmd, ...args], {
      timeoutMs: opts.timeoutMs ?? 60_000,
      ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
    });
  }

  /** stdout of a command in the node's network namespace (no binds needed), throwing on failure. */
  sh(script: string): string {
    return execFileSync('ip', ['netns', 'exec', this.netns, 'sh', '-c', script], { encoding: 'utf8' });
  }

  tearDown(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.netns], { stdio: 'ignore' });
    } catch {
      // not there
    }
    for (const d of this.createdMountPoints.sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // something else uses it now
      }
    }
  }
}
