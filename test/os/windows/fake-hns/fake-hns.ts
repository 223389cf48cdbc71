import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../../../helpers/tmp.ts';

// Test-side handle on the HNS stand-in: seed its state, point weft at it
// (WEFT_POWERSHELL), and read back what happened.

export const FAKE_POWERSHELL = path.join(import.meta.dirname, 'fake-powershell.mjs');

export interface FakeSubnet {
  prefix: string;
  gateway: string;
}

export interface FakeNetwork {
  id: string;
  name: string;
  type: string;
  subnets: FakeSubnet[];
  managementIP?: string;
  /** Lookups that do not see the network yet (flanneld still creating it). */
  hiddenForLookups?: number;
}

export interface FakeEndpoint {
  id: string;
  name: string;
  networkId: string;
  ip: string;
  prefixLength: number;
  mac: string;
  gateway?: string;
  routePrefix?: string;
  dns: { servers: string[]; search: string[]; domain?: string; options: string[] };
  policies: unknown[];
  namespaceId?: string;
  api: 1 | 2;
}

export interface FakeNamespace {
  id: string;
  endpointIds: string[];
}

export interface Fault {
  hr: number;
  message?: string;
  times?: number;
  /** hnsCall only: fail just this path. */
  path?: string;
}

export interface FakeState {
  globals: { version: { Major: number; Minor: number } };
  networks: FakeNetwork[];
  endpoints: FakeEndpoint[];
  namespaces: FakeNamespace[];
  quirks?: { noAddress?: boolean };
  faults: Partial<Record<'hnsCall' | 'list' | 'create' | 'delete' | 'attach' | 'detach', Fault>>;
  ops: Array<Record<string, unknown>>;
}

export interface FakeCall {
  argv: string[];
  scriptSha256: string | null;
  request: string | null;
  cniVarsSeen: string[];
}

export class FakeHns {
  readonly stateFile: string;

  constructor(dir = tempDir('weft-hns-')) {
    this.stateFile = path.join(dir, 'hns.json');
    this.write({ globals: { version: { Major: 15, Minor: 1 } }, networks: [], endpoints: [], namespaces: [], faults: {}, ops: [] });
  }

  /** The variables that send weft's PowerShell runs to this stand-in. */
  get env(): Record<string, string> {
    return { WEFT_POWERSHELL: FAKE_POWERSHELL, WEFT_FAKE_HNS_STATE: this.stateFile };
  }

  state(): FakeState {
    return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as FakeState;
  }

  write(state: FakeState): void {
    fs.writeFileSync(this.stateFile, JSON.stringify(state, null, 1));
  }

  update(fn: (s: FakeState) => void): void {
    const s = this.state();
    fn(s);
    this.write(s);
  }

  addNetwork(n: Omit<FakeNetwork, 'id'> & { id?: string }): string {
    const id = n.id ?? crypto.randomUUID();
    this.update((s) => s.networks.push({ ...n, id }));
    return id;
  }

  addNamespace(): string {
    const id = crypto.randomUUID();
    this.update((s) => s.namespaces.push({ id, endpointIds: [] }));
    return id;
  }

  endpoint(name: string): FakeEndpoint | undefined {
    return this.state().endpoints.find((e) => e.name === name);
  }

  namespace(id: string): FakeNamespace | undefined {
    return this.state().namespaces.find((n) => n.id.toLowerCase() === id.toLowerCase());
  }

  calls(): FakeCall[] {
    const file = `${this.stateFile}.calls`;
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as FakeCall);
  }
}
