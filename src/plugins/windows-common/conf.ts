import * as z from 'zod/mini';
import { NetConfSchema, loadConf } from '../../cni/conf.ts';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import type { DNS } from '../../cni/result/types.ts';

// The configuration win-bridge and win-overlay share (the reference's
// hns.NetConf): keys match ignoring case, as Go's decoder does, because real
// Windows configs write "Policies", "Name" and "Value".

export const PolicySchema = z.looseObject({
  name: z.optional(z.string()),
  // Raw JSON, handed to HNS as written (v1) or as {Type, Settings} (v2).
  value: z.optional(z.unknown()),
});

export const HnsNetConfSchema = z.extend(NetConfSchema, {
  apiVersion: z.optional(z.int()),
  policies: z.optional(z.array(PolicySchema)),
  loopbackDSR: z.optional(z.boolean()),
  // weft's own: how long ADD waits for flanneld to (re)create the HNS network.
  networkWaitSeconds: z.optional(z.number()),
});

export type HnsNetConf = z.infer<typeof HnsNetConfSchema>;

export type ApiVersion = 1 | 2;

export const DEFAULT_NETWORK_WAIT_SECONDS = 20;
const MAX_NETWORK_WAIT_SECONDS = 600;

/** 2 selects HCN (schema v2, namespaces); anything else the v1 JSON API, like the reference. */
export const apiVersionOf = (conf: HnsNetConf): ApiVersion => (conf.apiVersion === 2 ? 2 : 1);

export const loadHnsConf = <S extends typeof HnsNetConfSchema>(schema: S, stdin: Buffer): z.infer<S> => loadConf(schema, stdin);

/**
 * What only ADD checks: DEL must go through with whatever conf the runtime
 * still has, or a pod whose ADD failed on it could never be deleted.
 */
export function validateForAdd(conf: HnsNetConf): void {
  const wait = conf.networkWaitSeconds;
  if (wait !== undefined && !(wait >= 0 && wait <= MAX_NETWORK_WAIT_SECONDS)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `networkWaitSeconds must be between 0 and ${MAX_NETWORK_WAIT_SECONDS}, got ${wait}`,
    );
  }
}

export const networkWaitMs = (conf: HnsNetConf): number =>
  Math.round((conf.networkWaitSeconds ?? DEFAULT_NETWORK_WAIT_SECONDS) * 1000);

/** GetDNS: the conf's dns, with the runtime's servers and searches replacing when given. */
export function mergedDns(conf: HnsNetConf): DNS {
  const base = conf.dns ?? {};
  const runtime = conf.runtimeConfig?.dns;
  const dns: DNS = {};
  const nameservers = runtime?.servers?.length ? runtime.servers : base.nameservers;
  const search = runtime?.searches?.length ? runtime.searches : base.search;
  if (nameservers?.length) dns.nameservers = nameservers;
  if (base.domain) dns.domain = base.domain;
  if (search?.length) dns.search = search;
  if (base.options?.length) dns.options = base.options;
  return dns;
}
