import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../cni/atomic-file.ts';
import { fsErrorMessage, goPathError, withPath } from '../cni/oserror.ts';
import { readRegularFile } from '../cni/regular-file.ts';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { goJsonTypeName, isPlainObject, marshal, parseJson, sortKeys } from '../cni/json.ts';
import { fieldCI } from '../cni/keys.ts';
import { convertResult } from '../cni/result/convert.ts';
import { resultJsonShape } from '../cni/result/encode.ts';
import { createResult } from '../cni/result/parse.ts';
import type { AnyResult } from '../cni/result/types.ts';
import { decodeVersion } from '../cni/version.ts';
import type { RuntimeConf } from './runtime.ts';

// The result cache in libcni's on-disk format, so that weft's cnitool and any
// libcni-based runtime can each CHECK and DEL what the other added:
// <cacheDir>/results/<network>-<containerID>-<ifName>, one JSON object of
// kind "cniCacheV1" (older files hold a bare result and are still read).

export const CACHE_KIND = 'cniCacheV1';

/** One cached attachment (libcni NetworkAttachment). */
export interface NetworkAttachment {
  containerId: string;
  network: string;
  ifName: string;
  /** The list document the attachment was added with. */
  config: Buffer;
  netns: string;
  cniArgs: Array<[string, string]>;
  capabilityArgs: Record<string, unknown> | undefined;
}

/** A decoded cache file (libcni cachedInfo): the attachment, the kind of file it says it is, and the result. */
interface CachedInfo extends NetworkAttachment {
  kind: string;
  result: Record<string, unknown> | undefined;
}

const resultsDir = (cacheDir: string): string => path.join(cacheDir, 'results');

/** The cache file of one attachment; all three parts are required and must stay one file name. */
export function cacheFilePath(cacheDir: string, network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>): string {
  if (network === '' || rt.containerId === '' || rt.ifName === '') {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      `cache file path requires network name (${JSON.stringify(network)}), container ID (${JSON.stringify(rt.containerId)}), and interface name (${JSON.stringify(rt.ifName)})`,
    );
  }
  const name = `${network}-${rt.containerId}-${rt.ifName}`;
  // libcni joins these unchecked; a "/" in any part would reach outside the cache.
  if (/[/\\\0]/.test(name)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `cache file name ${JSON.stringify(name)} contains a path separator`);
  }
  return path.join(resultsDir(cacheDir), name);
}

function fieldError(v: unknown, field: string, goType: string): CniError {
  return new CniError(
    ErrorCode.DecodingFailure,
    `json: cannot unmarshal ${goJsonTypeName(v)} into Go struct field cachedInfo.${field} of type ${goType}`,
  );
}

function stringField(doc: Record<string, unknown>, field: string): string {
  const v = fieldCI(doc, field);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw fieldError(v, field, 'string');
  return v;
}

function objectField(doc: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const v = fieldCI(doc, field);
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw fieldError(v, field, 'map[string]interface {}');
  return v;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go decodes a []byte field from standard base64. */
function bytesField(doc: Record<string, unknown>, field: string): Buffer {
  const v = fieldCI(doc, field);
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (typeof v !== 'string') throw fieldError(v, field, '[]uint8');
  const text = v.replace(/[\r\n]/g, '');
  if (!BASE64.test(text)) throw new CniError(ErrorCode.DecodingFailure, `illegal base64 data in cachedInfo.${field}`);
  return Buffer.from(text, 'base64');
}

/** cniArgs is a [][2]string: short pairs are padded, extra elements dropped, as Go does. */
function argsField(doc: Record<string, unknown>, field: string): Array<[string, string]> {
  const v = fieldCI(doc, field);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fieldError(v, field, '[][2]string');
  return v.map((pair) => {
    if (pair === null) return ['', ''];
    if (!Array.isArray(pair)) throw fieldError(pair, field, '[2]string');
    const [k = '', val = ''] = pair.slice(0, 2).map((s) => {
      if (typeof s !== 'string' && s !== null) throw fieldError(s, field, 'string');
      return s ?? '';
    });
    return [k, val];
  });
}

/** Decode a cache file; throws when it is not a cachedInfo document at all. */
function decodeCachedInfo(bytes: Buffer): CachedInfo {
  const doc = parseJson(bytes);
  if (doc !== null && !isPlainObject(doc)) {
    throw new CniError(ErrorCode.DecodingFailure, `json: cannot unmarshal ${goJsonTypeName(doc)} into Go value of type libcni.cachedInfo`);
  }
  const o = doc ?? {};
  return {
    kind: stringField(o, 'kind'),
    containerId: stringField(o, 'containerId'),
    config: bytesField(o, 'config'),
    ifName: stringField(o, 'ifName'),
    network: stringField(o, 'networkName'),
    netns: stringField(o, 'netns'),
    cniArgs: argsField(o, 'cniArgs'),
    capabilityArgs: objectField(o, 'capabilityArgs'),
    result: objectField(o, 'result'),
  };
}

function tryDecodeCachedInfo(bytes: Buffer): CachedInfo | undefined {
  try {
    const info = decodeCachedInfo(bytes);
    return info.kind === CACHE_KIND ? info : undefined;
  } catch {
    return undefined;
  }
}

/** create.CreateFromBytes: a result in the version it declares. */
function createFromBytes(bytes: Buffer | string): AnyResult {
  const version = decodeVersion(bytes);
  const doc = parseJson(bytes);
  try {
    return createResult(version, doc ?? {});
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, (e as Error).message);
  }
}

/** A temporary name beside the results directory (so never listed as an attachment). */
const tempFor = (file: string, tmpDir: string): string =>
  path.join(tmpDir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);

/** cacheAdd: record a successful ADD (the final result, the list's bytes, the runtime args). */
export function cacheAdd(cacheDir: string, result: AnyResult, config: Buffer, network: string, rt: RuntimeConf): void {
  const file = cacheFilePath(cacheDir, network, rt);
  // Field order and omitempty rules of libcni's cachedInfo struct.
  const doc: Record<string, unknown> = {
    kind: CACHE_KIND,
    containerId: rt.containerId,
    config: config.toString('base64'),
    ifName: rt.ifName,
    networkName: network,
  };
  if (rt.netns) doc.netns = rt.netns;
  if (rt.args?.length) doc.cniArgs = rt.args.map(([k, v]) => [k, v]);
  if (rt.capabilityArgs && Object.keys(rt.capabilityArgs).length > 0) doc.capabilityArgs = sortKeys(rt.capabilityArgs);
  const rawResult = sortKeys(resultJsonShape(result)) as Record<string, unknown>;
  if (Object.keys(rawResult).length > 0) doc.result = rawResult;
  try {
    fs.mkdirSync(resultsDir(cacheDir), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, marshal(doc), tempFor(file, cacheDir), { syncDir: true });
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, fsErrorMessage(withPath(e, file)));
  }
}

/** cacheDel: forget an attachment; a missing or unnamable file is not an error. */
export function cacheDel(cacheDir: string, network: string, rt: RuntimeConf): void {
  try {
    const file = cacheFilePath(cacheDir, network, rt);
    // Go's os.Remove, as libcni uses it: a file, or an empty directory in its place.
    if (fs.lstatSync(file).isDirectory()) fs.rmdirSync(file);
    else fs.unlinkSync(file);
  } catch {
    // libcni ignores failures to remove the cache file too.
  }
}

/** The most of a cache file read: it holds the network's configuration (at most 1 MiB) in base64 and a result. */
export const CACHE_FILE_LIMIT = 8 << 20;

/**
 * A cache file's bytes; undefined when there is none, or it cannot be read
 * (libcni treats both alike), or it is no regular file or too large.
 */
function readCacheFile(file: string): Buffer | undefined {
  try {
    return readRegularFile(file, CACHE_FILE_LIMIT, 'cache file');
  } catch {
    return undefined;
  }
}

/**
 * getCachedResult: the result cached for this attachment, converted to
 * `cniVersion`; undefined when there is no cache file. A file that is not
 * cniCacheV1 is read as a bare result (the legacy format).
 */
export function getCachedResult(cacheDir: string, network: string, cniVersion: string, rt: RuntimeConf): AnyResult | undefined {
  const data = readCacheFile(cacheFilePath(cacheDir, network, rt));
  if (!data) return undefined;
  const info = tryDecodeCachedInfo(data);
  const result = createFromBytes(info ? marshal(info.result ?? null) : data);
  try {
    return convertResult(result, cniVersion);
  } catch (e) {
    throw new CniError(
      ErrorCode.IncompatibleCNIVersion,
      `failed to convert cached result to config version ${JSON.stringify(cniVersion)}: ${(e as Error).message}`,
    );
  }
}

/**
 * getCachedConfig: the list bytes an attachment was added with, and `rt`
 * with the cached CNI args and capability args. Undefined when not cached.
 */
export function getCachedConfig(
  cacheDir: string,
  network: string,
  rt: RuntimeConf,
): { config: Buffer; rt: RuntimeConf } | undefined {
  const data = readCacheFile(cacheFilePath(cacheDir, network, rt));
  if (!data) return undefined;
  let info: CachedInfo;
  try {
    info = decodeCachedInfo(data);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to unmarshal cached network ${JSON.stringify(network)} config: ${(e as Error).message}`);
  }
  if (info.kind !== CACHE_KIND) {
    throw new CniError(ErrorCode.DecodingFailure, `read cached network ${JSON.stringify(network)} config has wrong kind: ${info.kind}`);
  }
  const cached: RuntimeConf = { ...rt, capabilityArgs: info.capabilityArgs };
  if (info.cniArgs.length > 0) cached.args = info.cniArgs;
  return { config: info.config, rt: cached };
}

/** GetCachedAttachments: every readable cniCacheV1 attachment, optionally of one container, by file name. */
export function getCachedAttachments(cacheDir: string, containerId = ''): NetworkAttachment[] {
  const dir = resultsDir(cacheDir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CniError(ErrorCode.IOFailure, goPathError('open', dir, e));
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: NetworkAttachment[] = [];
  for (const name of names) {
    if (containerId !== '') {
      const part = `-${containerId}-`;
      const pos = name.indexOf(part);
      if (pos <= 0 || pos + part.length >= name.length) continue;
    }
    const data = readCacheFile(path.join(dir, name));
    if (!data) continue;
    const info = tryDecodeCachedInfo(data);
    if (!info) continue;
    if (containerId !== '' && info.containerId !== containerId) continue;
    if (info.ifName === '' || info.network === '') continue;
    const { kind, result, ...attachment } = info;
    out.push(attachment);
  }
  return out;
}
