import * as z from 'zod/mini';
import { DnsSchema, parseConfDocument } from '../../cni/conf.ts';
import { decodeConfig } from '../../cni/decode.ts';
import { CniError, ErrorCode } from '../../cni/errors.ts';

// flannel's own network configuration. Top-level keys are struct fields
// (matched case-insensitively, like Go); `delegate`, `ipam` and
// `runtimeConfig` are Go maps, so their keys are taken exactly as written.

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';

const JsonMap = z.record(z.string(), z.unknown());

export const FlannelConfSchema = z.looseObject({
  cniVersion: z.optional(z.string()),
  name: z.optional(z.string()),
  type: z.optional(z.string()),
  capabilities: z.optional(z.record(z.string(), z.boolean())),
  ipam: z.optional(JsonMap),
  dns: z.optional(DnsSchema),
  prevResult: z.optional(JsonMap),
  subnetFile: z.optional(z.string()),
  dataDir: z.optional(z.string()),
  subnetFileWaitSeconds: z.optional(z.number()),
  delegate: z.optional(JsonMap),
  runtimeConfig: z.optional(JsonMap),
});

export type JsonObject = Record<string, unknown>;

export interface FlannelConf {
  name: string;
  /** "" when the config has none. */
  cniVersion: string;
  subnetFile: string;
  dataDir: string;
  /** How long ADD, CHECK, STATUS and GC wait for a missing or half-written subnet.env (checked by subnetFileWaitMs). */
  subnetFileWaitSeconds?: number;
  delegate?: JsonObject;
  ipam?: JsonObject;
  runtimeConfig?: JsonObject;
  prevResult?: JsonObject;
  /** The document as read: GC takes the valid attachments from it. */
  raw: JsonObject;
}

/**
 * Decode stdin. Errors read "failed to load netconf: …" and keep the code of
 * the problem (6 for a type mismatch, 7 for a rule).
 */
export function loadFlannelConf(stdin: Buffer): FlannelConf {
  const raw = parseConfDocument(stdin);
  let c: z.infer<typeof FlannelConfSchema>;
  try {
    c = decodeConfig(FlannelConfSchema, raw, 'NetConf');
  } catch (e) {
    throw e instanceof CniError ? e.wrap('failed to load netconf') : e;
  }
  return {
    name: c.name ?? '',
    cniVersion: c.cniVersion ?? '',
    // An empty path is as good as none: the reference would fail on it later
    // with an obscure "open : no such file or directory".
    subnetFile: c.subnetFile || DEFAULT_SUBNET_FILE,
    dataDir: c.dataDir || DEFAULT_DATA_DIR,
    subnetFileWaitSeconds: c.subnetFileWaitSeconds,
    delegate: c.delegate,
    ipam: c.ipam,
    runtimeConfig: c.runtimeConfig,
    prevResult: c.prevResult,
    raw,
  };
}

const invalid = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, msg);

/** flanneld may still be starting (or, on Windows, writing the file in place). */
const DEFAULT_SUBNET_FILE_WAIT_SECONDS = 1.5;
const MAX_SUBNET_FILE_WAIT_SECONDS = 60;

/**
 * The subnet.env wait in milliseconds. Checked only where it is used: DEL
 * never waits, and must go through with whatever config the runtime has.
 */
export function subnetFileWaitMs(conf: FlannelConf): number {
  const wait = conf.subnetFileWaitSeconds ?? DEFAULT_SUBNET_FILE_WAIT_SECONDS;
  if (!(wait >= 0 && wait <= MAX_SUBNET_FILE_WAIT_SECONDS)) {
    throw invalid(`subnetFileWaitSeconds must be between 0 and ${MAX_SUBNET_FILE_WAIT_SECONDS}, got ${wait}`);
  }
  return Math.round(wait * 1000);
}

/** The reference's checks of the `delegate` map, with its messages. */
export function checkDelegateDict(delegate: JsonObject | undefined): void {
  if (!delegate) return;
  if (Object.hasOwn(delegate, 'type') && typeof delegate.type !== 'string') {
    throw invalid("'delegate' dictionary, if present, must have (string) 'type' field");
  }
  if (Object.hasOwn(delegate, 'name')) {
    throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  }
  if (Object.hasOwn(delegate, 'ipam')) {
    throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
  }
}
