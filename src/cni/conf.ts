import * as z from 'zod/mini';
import { decodeConfig } from './decode.ts';
import { CniError, ErrorCode } from './errors.ts';
import { isPlainObject, parseJson } from './json.ts';
import { createResult } from './result/parse.ts';
import type { AnyResult } from './result/types.ts';

// The parts of a network configuration every plugin shares (types.PluginConf),
// the well-known runtimeConfig capabilities (CONVENTIONS.md), and the
// prevResult and GC-attachment rules of the spec.

export const DnsSchema = z.looseObject({
  nameservers: z.optional(z.array(z.string())),
  domain: z.optional(z.string()),
  search: z.optional(z.array(z.string())),
  options: z.optional(z.array(z.string())),
});

export const RouteSchema = z.looseObject({
  dst: z.string(),
  gw: z.optional(z.string()),
  mtu: z.optional(z.int()),
  advmss: z.optional(z.int()),
  priority: z.optional(z.int()),
  table: z.optional(z.int()),
  scope: z.optional(z.int()),
});

export const PortMappingSchema = z.looseObject({
  hostPort: z.int(),
  containerPort: z.int(),
  protocol: z.optional(z.string()),
  hostIP: z.optional(z.string()),
});

export const RangeSchema = z.looseObject({
  subnet: z.optional(z.string()),
  rangeStart: z.optional(z.string()),
  rangeEnd: z.optional(z.string()),
  gateway: z.optional(z.string()),
});

/** The `dns` capability uses other names than the result's dns. */
export const RuntimeDnsSchema = z.looseObject({
  servers: z.optional(z.array(z.string())),
  searches: z.optional(z.array(z.string())),
  options: z.optional(z.array(z.string())),
});

export const RuntimeConfigSchema = z.looseObject({
  portMappings: z.optional(z.array(PortMappingSchema)),
  ipRanges: z.optional(z.array(z.array(RangeSchema))),
  dns: z.optional(RuntimeDnsSchema),
  ips: z.optional(z.array(z.string())),
  mac: z.optional(z.string()),
});

export const AttachmentSchema = z.looseObject({ containerID: z.string(), ifname: z.string() });

export const NetConfSchema = z.looseObject({
  cniVersion: z.optional(z.string()),
  name: z.string(),
  type: z.optional(z.string()),
  capabilities: z.optional(z.record(z.string(), z.boolean())),
  ipam: z.optional(z.looseObject({ type: z.optional(z.string()) })),
  dns: z.optional(DnsSchema),
  prevResult: z.optional(z.record(z.string(), z.unknown())),
  runtimeConfig: z.optional(RuntimeConfigSchema),
  args: z.optional(z.record(z.string(), z.unknown())),
});

export type NetConf = z.infer<typeof NetConfSchema>;

/** Parse stdin as JSON; broken JSON is a decoding failure (code 6). */
export function parseConfDocument(stdin: Buffer | string, prefix = 'failed to load netconf'): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseJson(stdin);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `${prefix}: ${(e as Error).message}`);
  }
  if (!isPlainObject(doc)) throw new CniError(ErrorCode.DecodingFailure, `${prefix}: config is not a JSON object`);
  return doc;
}

/** Decode stdin through a plugin's schema (which should extend NetConfSchema). */
export function loadConf<S extends z.ZodMiniType>(schema: S, stdin: Buffer | string, structName = 'NetConf'): z.infer<S> {
  const doc = parseConfDocument(stdin);
  try {
    return decodeConfig(schema, doc, structName);
  } catch (e) {
    throw e instanceof CniError ? e.wrap('failed to load netconf') : e;
  }
}

/**
 * version.ParsePrevResult: the prevResult read as a result of the config's
 * version family (a missing cniVersion inside it is the config's).
 */
export function parsePrevResult(conf: { cniVersion?: string; prevResult?: Record<string, unknown> }): AnyResult | undefined {
  if (!conf.prevResult) return undefined;
  const raw = { ...conf.prevResult };
  const confVersion = conf.cniVersion ?? '';
  if (raw.cniVersion === undefined || raw.cniVersion === '') raw.cniVersion = confVersion;
  try {
    return createResult(confVersion, raw);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `could not parse prevResult: ${(e as Error).message}`);
  }
}

export interface Attachment {
  containerID: string;
  ifname: string;
}

/**
 * The attachments a GC must keep. libcni sends `cni.dev/valid-attachments`
 * (and the spec-typo twin `cni.dev/attachments`); null or absent means none.
 */
export function validAttachments(doc: Record<string, unknown>): Attachment[] {
  const raw = doc['cni.dev/valid-attachments'] ?? doc['cni.dev/attachments'];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, 'cni.dev/valid-attachments: expected an array of {containerID, ifname}');
  }
  return raw.map((a, i) => {
    const parsed = AttachmentSchema.safeParse(a);
    if (!parsed.success) {
      throw new CniError(ErrorCode.DecodingFailure, `cni.dev/valid-attachments[${i}]: expected {containerID, ifname} strings`);
    }
    return { containerID: parsed.data.containerID, ifname: parsed.data.ifname };
  });
}
