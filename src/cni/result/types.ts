// Result shapes of every spec version, with addresses kept as normalised
// strings (Go's net.IP / types.IPNet printing).

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** 1.0.0 / 1.1.0 (types100). */
export interface Interface100 {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig100 {
  interface?: number;
  address: string;
  gateway?: string;
}

export interface Result100 {
  cniVersion: string;
  interfaces?: Interface100[];
  ips?: IPConfig100[];
  routes?: Route[];
  dns?: DNS;
}

/** 0.3.0 / 0.3.1 / 0.4.0 (types040). */
export interface Interface040 {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface IPConfig040 {
  version: string;
  interface?: number;
  address: string;
  gateway?: string;
}

export interface Result040 {
  cniVersion: string;
  interfaces?: Interface040[];
  ips?: IPConfig040[];
  routes?: Route[];
  dns: DNS;
}

/** 0.1.0 / 0.2.0 (types020). */
export interface IPConfig020 {
  ip: string;
  gateway?: string;
  routes?: Route[];
}

export interface Result020 {
  cniVersion: string;
  ip4?: IPConfig020;
  ip6?: IPConfig020;
  dns: DNS;
}

export type AnyResult = Result100 | Result040 | Result020;

export type ResultFamily = '100' | '040' | '020';

const FAMILY: Record<string, ResultFamily> = {
  '0.1.0': '020',
  '0.2.0': '020',
  '0.3.0': '040',
  '0.3.1': '040',
  '0.4.0': '040',
  '1.0.0': '100',
  '1.1.0': '100',
};

/** Which Go result type handles a version; undefined when none does. */
export const resultFamily = (version: string): ResultFamily | undefined => FAMILY[version === '' ? '0.1.0' : version];

export const RESULT_VERSIONS: Record<ResultFamily, string[]> = {
  '100': ['1.0.0', '1.1.0'],
  '040': ['0.3.0', '0.3.1', '0.4.0'],
  '020': ['0.1.0', '0.2.0'],
};

export function isDnsEmpty(d: DNS | undefined): boolean {
  return !d || (!d.nameservers?.length && !d.domain && !d.search?.length && !d.options?.length);
}
