import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { AttachmentSchema, DnsSchema } from '../cni/conf.ts';
import { decodeConfig } from '../cni/decode.ts';
import { CniError, ErrorCode } from '../cni/errors.ts';
import { goJsonTypeName, isPlainObject, marshal, parseJson, sortKeys } from '../cni/json.ts';
import { numberRefusalMessage, overflowingNumber } from '../cni/json-numbers.ts';
import { compareVersions, CURRENT_VERSION } from '../cni/version.ts';
import { goPathError } from '../cni/oserror.ts';
import { type FileReadError, readRegularFile } from '../cni/regular-file.ts';

// Network configuration the way libcni loads it (libcni/conf.go): a directory
// of .conflist files (first name match wins, files in byte order), the
// deprecated single-plugin .conf/.json files as a fallback, plugin fragments
// from <dir>/<network>/*.conf, and the cniVersions selection rule.

/** types.PluginConf: the keys libcni itself reads from a plugin entry. */
export const PluginConfSchema = z.looseObject({
  cniVersion: z.optional(z.string()),
  name: z.optional(z.string()),
  type: z.optional(z.string()),
  capabilities: z.optional(z.record(z.string(), z.boolean())),
  ipam: z.optional(z.looseObject({ type: z.optional(z.string()) })),
  dns: z.optional(DnsSchema),
  prevResult: z.optional(z.record(z.string(), z.unknown())),
  'cni.dev/valid-attachments': z.optional(z.array(AttachmentSchema)),
});

export type PluginConf = z.infer<typeof PluginConfSchema>;

export interface PluginConfig {
  /** The fields libcni reads (type, name, capabilities, ...). */
  network: PluginConf & { type: string };
  /** The plugin entry as JSON: what the plugin gets on stdin, before injection. */
  bytes: Buffer;
}

export interface NetworkConfigList {
  name: string;
  /** The selected version ("" when the list declares none). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The list document's original bytes (cached with every attachment). */
  bytes: Buffer;
}

/** No configuration file at all in the directory (libcni NoConfigsFoundError). */
export class NoConfigsFoundError extends CniError {
  constructor(readonly dir: string) {
    super(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
  }
}

/** Files exist, none names this network (libcni NotFoundError). */
export class NotFoundError extends CniError {
  constructor(
    readonly dir: string,
    readonly network: string,
  ) {
    super(ErrorCode.InvalidNetworkConfig, `no net configuration with name ${JSON.stringify(network)} in ${dir}`);
  }
}

const GO_DYNAMIC_TYPES: Record<string, string> = { string: 'string', number: 'float64', boolean: 'bool' };

/** Go's %T of a value decoded into interface{}. */
function goDynamicType(v: unknown): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  return GO_DYNAMIC_TYPES[typeof v] ?? 'map[string]interface {}';
}

/** Go's sort.Strings: byte order. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** filepath.Ext: from the last dot of the base name on (".conflist" counts). */
function goExt(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
}

/** A decoded JSON document as a Go map; `null` decodes to an empty map. */
function decodeMap(bytes: Buffer, prefix: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseJson(bytes);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `${prefix}: ${(e as Error).message}`);
  }
  if (doc === null) return {};
  if (!isPlainObject(doc)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `${prefix}: json: cannot unmarshal ${goJsonTypeName(doc)} into Go value of type map[string]interface {}`,
    );
  }
  // Every value of the map is an interface{}: a number past float64 is refused wherever it is.
  const overflow = overflowingNumber(doc);
  if (overflow !== undefined) throw new CniError(ErrorCode.DecodingFailure, `${prefix}: ${numberRefusalMessage(overflow, 'Go value', 'float64')}`);
  return doc;
}

/** NetworkPluginConfFromBytes: one plugin entry; it must name a type. */
export function pluginConfFromBytes(bytes: Buffer): PluginConfig {
  const prefix = 'error parsing configuration';
  let doc: unknown;
  try {
    doc = parseJson(bytes);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `${prefix}: ${(e as Error).message}`);
  }
  if (doc !== null && !isPlainObject(doc)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `${prefix}: json: cannot unmarshal ${goJsonTypeName(doc)} into Go value of type types.PluginConf`,
    );
  }
  let network: PluginConf;
  try {
    network = decodeConfig(PluginConfSchema, doc ?? {}, 'PluginConf');
  } catch (e) {
    throw e instanceof CniError ? e.wrap(prefix) : e;
  }
  const type = network.type;
  if (!type) throw new CniError(ErrorCode.InvalidNetworkConfig, `${prefix}: missing 'type'`);
  return { network: { ...network, type }, bytes };
}

function readBool(raw: Record<string, unknown>, key: string): boolean {
  if (!Object.hasOwn(raw, key)) return false;
  const v = raw[key];
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error parsing configuration list: invalid type ${goDynamicType(v)} for ${key}`,
    );
  }
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new CniError(ErrorCode.InvalidNetworkConfig, `error parsing configuration list: invalid value ${JSON.stringify(s)} for ${key}`);
}

/** The cniVersion a list runs with: the highest of cniVersions (and cniVersion) this library implements. */
function selectVersion(raw: Record<string, unknown>): string {
  const listError = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, `error parsing configuration list: ${msg}`);
  let cniVersion = '';
  if (Object.hasOwn(raw, 'cniVersion')) {
    const v = raw.cniVersion;
    if (typeof v !== 'string') throw listError(`invalid cniVersion type ${goDynamicType(v)}`);
    cniVersion = v;
  }
  if (!Object.hasOwn(raw, 'cniVersions')) return cniVersion;
  const list = raw.cniVersions;
  // libcni prints the type of its (empty) target slice here, not of the value.
  if (!Array.isArray(list)) throw listError('invalid type for cniVersions: []interface {}');
  const candidates: string[] = [];
  const notNewer = (v: string, what: string): boolean => {
    try {
      return compareVersions(v, CURRENT_VERSION) <= 0;
    } catch (e) {
      throw listError(`${what}: ${(e as Error).message}`);
    }
  };
  list.forEach((v, i) => {
    if (typeof v !== 'string') throw listError(`invalid type for cniVersions index ${i}: ${goDynamicType(v)}`);
    if (notNewer(v, `invalid cniVersions entry ${v} at index ${i}`)) candidates.push(v);
  });
  if (cniVersion !== '' && notNewer(cniVersion, `invalid cniVersion ${cniVersion}`)) candidates.push(cniVersion);
  let best: string | undefined;
  for (const v of candidates) if (best === undefined || compareVersions(v, best) > 0) best = v;
  return best ?? cniVersion;
}

/** NetworkConfFromBytes: parse a list document (plugin fragments are not merged here). */
export function networkConfFromBytes(bytes: Buffer): NetworkConfigList {
  const raw = decodeMap(bytes, 'error parsing configuration list');
  const listError = (msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, `error parsing configuration list: ${msg}`);
  if (!Object.hasOwn(raw, 'name')) throw listError('no name');
  const name = raw.name;
  if (typeof name !== 'string') throw listError(`invalid name type ${goDynamicType(name)}`);
  const cniVersion = selectVersion(raw);
  const list: NetworkConfigList = {
    name,
    cniVersion,
    disableCheck: readBool(raw, 'disableCheck'),
    disableGC: readBool(raw, 'disableGC'),
    loadOnlyInlinedPlugins: readBool(raw, 'loadOnlyInlinedPlugins'),
    plugins: [],
    bytes,
  };
  if (!Object.hasOwn(raw, 'plugins')) {
    if (list.loadOnlyInlinedPlugins) throw listError("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    return list;
  }
  const plugins = raw.plugins;
  if (!Array.isArray(plugins)) throw listError(`invalid 'plugins' type ${goDynamicType(plugins)}`);
  if (plugins.length === 0) throw listError('no plugins in list');
  plugins.forEach((entry, i) => {
    // Each entry is re-encoded the way Go does it: through a map, keys sorted.
    const entryBytes = Buffer.from(marshal(sortKeys(entry)));
    try {
      list.plugins.push(pluginConfFromBytes(entryBytes));
    } catch (e) {
      throw e instanceof CniError ? e.wrap(`failed to parse plugin config ${i}`) : e;
    }
  });
  return list;
}

/** The most of a network configuration file cnitool reads: real ones are a few KiB. */
export const CONF_FILE_LIMIT = 1 << 20;

function readConfFile(file: string): Buffer {
  try {
    return readRegularFile(file, CONF_FILE_LIMIT, 'network configuration file');
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, `error reading ${file}: ${(e as FileReadError).message}`);
  }
}

/** ConfFiles: the files directly in `dir` with one of `extensions`, by name; a missing dir has none. */
export function confFiles(dir: string, extensions: readonly string[]): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CniError(ErrorCode.IOFailure, goPathError('open', dir, e));
  }
  return entries
    .filter((e) => !e.isDirectory() && extensions.includes(goExt(e.name)))
    .map((e) => e.name)
    .sort(byteOrder)
    .map((n) => path.join(dir, n));
}

/** A network name is also a directory name for fragments: only a plain file-name component may be one. */
const isPlainComponent = (name: string): boolean =>
  name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);

/** NetworkPluginConfsFromFiles: the plugin fragments in <dir>/<network>/*.conf. */
export function pluginConfsFromFiles(dir: string, network: string): PluginConfig[] {
  // A name with separators would point outside the config directory; such a network has no fragments.
  if (!isPlainComponent(network)) return [];
  const fragmentDir = path.join(dir, network);
  let files: string[];
  try {
    files = confFiles(fragmentDir, ['.conf']);
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, `failed to read plugin config files in ${fragmentDir}: ${(e as Error).message}`);
  }
  return files.map((f) => pluginConfFromBytes(readConfFile(f)));
}

/** NetworkConfFromFile: a .conflist file plus its fragments. */
export function networkConfFromFile(file: string): NetworkConfigList {
  const list = networkConfFromBytes(readConfFile(file));
  if (!list.loadOnlyInlinedPlugins) list.plugins.push(...pluginConfsFromFiles(path.dirname(file), list.name));
  if (list.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, 'no plugin configs found');
  return list;
}

/** The deprecated single-plugin file search (LoadConf): .conf and .json files, by name. */
export function loadPluginConf(dir: string, name: string): PluginConfig {
  const files = confFiles(dir, ['.conf', '.json']);
  if (files.length === 0) throw new NoConfigsFoundError(dir);
  for (const file of files) {
    const conf = pluginConfFromBytes(readConfFile(file));
    if (conf.network.name === name) return conf;
  }
  throw new NotFoundError(dir, name);
}

/** ConfListFromConf: a single-plugin config as a one-plugin list. */
export function confListFromConf(conf: PluginConfig): NetworkConfigList {
  const raw = decodeMap(conf.bytes, 'error parsing configuration');
  const doc = { cniVersion: conf.network.cniVersion ?? '', name: conf.network.name ?? '', plugins: [raw] };
  return networkConfFromBytes(Buffer.from(marshal(sortKeys(doc))));
}

/**
 * LoadNetworkConf: the network `name` from `dir`. The first .conflist (in
 * byte order) whose name matches wins; any unreadable one aborts the load.
 * Without a match, a single-plugin .conf/.json file is up-converted.
 */
export function loadNetworkConf(dir: string, name: string): NetworkConfigList {
  const lists = confFiles(dir, ['.conflist']);
  for (const file of lists) {
    const list = networkConfFromFile(file);
    if (list.name === name) return list;
  }
  try {
    return confListFromConf(loadPluginConf(dir, name));
  } catch (e) {
    // Lists exist but none matched: say "not found", not "no configs".
    if (lists.length > 0 && e instanceof NoConfigsFoundError) throw new NotFoundError(dir, name);
    throw e;
  }
}
