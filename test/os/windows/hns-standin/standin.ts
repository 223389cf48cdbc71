import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach } from 'vitest';
import { tempDir } from '../../../helpers/tmp.ts';
import { type Answer, type Call, type Endpoint, type HnsState, HnsModel, type Namespace, type Network } from './hns-model.ts';
import { PWSH, STANDIN_DIR } from './build.ts';

// The test's handle on one HNS: the model (hns-model.ts) behind a Unix
// socket that the native stand-in (hns-standin.c, loaded by PowerShell as
// vmcompute.dll and computenetwork.dll) talks to. `env` sends weft's
// PowerShell runs here: real pwsh as WEFT_POWERSHELL, the stand-in on the
// loader's path, the socket named. Every stand-in is closed after its test.

export type { Endpoint, HnsState, Namespace, Network } from './hns-model.ts';

const open = new Set<HnsStandin>();
afterEach(async () => {
  await Promise.all([...open].map((s) => s.close()));
});

const NULL_FIELD = 0xffffffff;

function readFields(payload: Buffer): Buffer[] | null[] {
  const count = payload.readUInt32LE(0);
  const out: Array<Buffer | null> = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    const n = payload.readUInt32LE(at);
    at += 4;
    if (n === NULL_FIELD) {
      out.push(null);
      continue;
    }
    out.push(payload.subarray(at, at + n));
    at += n;
  }
  return out as Buffer[];
}

function field(text: string | null): Buffer {
  if (text === null) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(NULL_FIELD);
    return b;
  }
  const body = Buffer.from(text, 'utf16le');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
}

function encode(a: Answer): Buffer {
  const head = Buffer.alloc(20);
  head.writeInt32LE(a.hr, 4);
  head.writeUInt32LE(a.flags, 8);
  head.writeBigUInt64LE(a.handle, 12);
  const frame = Buffer.concat([head, field(a.output), field(a.record)]);
  frame.writeUInt32LE(frame.length - 4, 0);
  return frame;
}

export class HnsStandin {
  readonly model = new HnsModel();
  readonly socket: string;
  private readonly server: net.Server;

  constructor(dir = tempDir('weft-hns-')) {
    this.socket = path.join(dir, 'hns.sock');
    this.server = net.createServer((conn) => this.serve(conn));
    this.server.listen(this.socket);
    open.add(this);
  }

  private serve(conn: net.Socket): void {
    let buf = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32LE(0)) return;
      const fields = readFields(buf.subarray(4, 4 + buf.readUInt32LE(0)));
      const fn = fields[0]!.toString('utf8');
      const pid = Number(fields[1]!.toString('utf8'));
      let a: Answer;
      if (fn === 'Hello') {
        this.hello(pid, fields[2]!, fields[3]!);
        a = { hr: 0, flags: 0, handle: 0n, output: null, record: null };
      } else {
        a = this.model.dispatch(fn, pid, fields.slice(2).map((f) => (f === null ? null : f.toString('utf16le'))));
      }
      conn.end(encode(a));
    });
    conn.on('error', () => {});
  }

  private hello(pid: number, cmdline: Buffer, environ: Buffer): void {
    const argv = cmdline.toString('utf8').split('\0').filter((a, i, all) => i < all.length - 1 || a !== '');
    // `dotnet pwsh.dll <arguments>`: what weft passed starts after pwsh.dll.
    const at = argv.findIndex((a) => a.endsWith('pwsh.dll'));
    const args = at >= 0 ? argv.slice(at + 1) : argv.slice(1);
    const env = environ.toString('utf8').split('\0').filter((v) => v !== '');
    const script = args[args.length - 1] ?? '';
    const request = env.find((v) => v.startsWith('WEFT_HNS_REQUEST='));
    this.model.calls.push({
      pid,
      argv: args,
      scriptSha256: fs.existsSync(script) ? crypto.createHash('sha256').update(fs.readFileSync(script)).digest('hex') : null,
      request: request ? request.slice('WEFT_HNS_REQUEST='.length) : null,
      cniVarsSeen: env.map((v) => v.split('=')[0]!).filter((k) => k.startsWith('CNI_')),
    });
  }

  close(): Promise<void> {
    open.delete(this);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The variables that send weft's PowerShell runs to this stand-in. */
  get env(): Record<string, string> {
    return { WEFT_POWERSHELL: PWSH, LD_LIBRARY_PATH: STANDIN_DIR, WEFT_HNS_STANDIN_SOCKET: this.socket };
  }

  state(): HnsState {
    return this.model.state;
  }

  update(fn: (s: HnsState) => void): void {
    fn(this.model.state);
  }

  addNetwork(n: Omit<Network, 'id'> & { id?: string }): string {
    const id = n.id ?? crypto.randomUUID();
    this.model.state.networks.push({ ...n, id });
    return id;
  }

  addEndpoint(e: Omit<Endpoint, 'id' | 'dns' | 'policies' | 'prefixLength' | 'mac' | 'api'> & Partial<Endpoint>): string {
    const id = e.id ?? crypto.randomUUID();
    this.model.state.endpoints.push({ prefixLength: 24, mac: '00-15-5D-00-00-99', dns: { servers: [], search: [], options: [] }, policies: [], api: 1, ...e, id });
    if (e.namespaceId) this.namespace(e.namespaceId)!.endpointIds.push(id);
    return id;
  }

  addNamespace(): string {
    const id = crypto.randomUUID();
    this.model.state.namespaces.push({ id, endpointIds: [] });
    return id;
  }

  /** The runtime removed the namespace (HcnDeleteNamespace): the endpoints it held stay in HNS, detached. */
  removeNamespace(id: string): void {
    this.update((s) => {
      s.namespaces = s.namespaces.filter((n) => n.id.toLowerCase() !== id.toLowerCase());
      for (const e of s.endpoints) if (e.namespaceId?.toLowerCase() === id.toLowerCase()) delete e.namespaceId;
    });
  }

  endpoint(name: string): Endpoint | undefined {
    return this.model.state.endpoints.find((e) => e.name === name);
  }

  namespace(id: string): Namespace | undefined {
    return this.model.state.namespaces.find((n) => n.id.toLowerCase() === id.toLowerCase());
  }

  /** Each PowerShell process that reached HNS: its command line, script, request and CNI variables. */
  calls(): Call[] {
    return this.model.calls;
  }
}
