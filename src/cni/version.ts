import { CniError, ErrorCode } from './errors.ts';
import { isPlainObject, marshal, parseJson } from './json.ts';
import { fieldCI } from './keys.ts';

/** The spec versions weft speaks, oldest first. */
export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The version weft reports as its own in VERSION output (Go's version.Current()). */
export const CURRENT_VERSION = '1.1.0';

export type Version = [major: number, minor: number, micro: number];

/** Go's strconv.Atoi: optional sign, decimal digits, nothing else. */
function atoi(part: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(part)) return undefined;
  const n = Number(part);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** version.ParseVersion: "" is 0.1.0; up to three dot-separated integers. */
export function parseVersion(version: string): Version {
  if (version === '') return [0, 1, 0];
  const parts = version.split('.');
  if (parts.length >= 4) throw new Error(`invalid version "${version}": too many parts`);
  const names = ['major', 'minor', 'micro'];
  const out: Version = [0, 0, 0];
  parts.forEach((p, idx) => {
    const n = atoi(p);
    if (n === undefined) {
      throw new Error(
        `failed to convert ${names[idx]} version part "${p}": strconv.Atoi: parsing "${p}": invalid syntax`,
      );
    }
    out[idx] = n;
  });
  return out;
}

export function compareVersions(a: string, b: string): number {
  const [a1, a2, a3] = parseVersion(a);
  const [b1, b2, b3] = parseVersion(b);
  return a1 - b1 || a2 - b2 || a3 - b3;
}

export const versionAtLeast = (version: string, min: string): boolean => compareVersions(version, min) >= 0;

/**
 * create.DecodeVersion: the `cniVersion` of a config or result document;
 * absent or empty means 0.1.0.
 */
export function decodeVersion(json: Buffer | string | unknown, what = 'network config'): string {
  let doc: unknown = json;
  if (typeof json === 'string' || Buffer.isBuffer(json)) {
    try {
      doc = parseJson(json);
    } catch (e) {
      throw new CniError(ErrorCode.DecodingFailure, `decoding version from ${what}: ${(e as Error).message}`);
    }
  }
  if (!isPlainObject(doc)) {
    if (doc === null) return '0.1.0';
    throw new CniError(
      ErrorCode.DecodingFailure,
      `decoding version from ${what}: json: cannot unmarshal ${Array.isArray(doc) ? 'array' : typeof doc} into Go value of type struct { CNIVersion string "json:\\"cniVersion\\"" }`,
    );
  }
  const v = fieldCI(doc, 'cniVersion');
  if (v === undefined || v === null || v === '') return '0.1.0';
  if (typeof v !== 'string') {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `decoding version from ${what}: json: cannot unmarshal ${typeof v} into Go struct field .cniVersion of type string`,
    );
  }
  return v;
}

/** Go's %q of a []string: ["a" "b"]. */
export const goQuoteList = (list: readonly string[]): string => `[${list.map((v) => JSON.stringify(v)).join(' ')}]`;

/** The reconciler: the config version must be one of the plugin's, exactly. */
export function incompatibleVersionError(configVersion: string, supported: readonly string[]): CniError | undefined {
  if (supported.includes(configVersion)) return undefined;
  return new CniError(
    ErrorCode.IncompatibleCNIVersion,
    'incompatible CNI versions',
    `config is ${JSON.stringify(configVersion)}, plugin supports ${goQuoteList(supported)}`,
  );
}

/** VERSION output: compact JSON plus newline, with the library version as cniVersion. */
export function encodeVersionInfo(supported: readonly string[]): string {
  return `${marshal({ cniVersion: CURRENT_VERSION, supportedVersions: supported })}\n`;
}

/** PluginDecoder.Decode: what a runtime makes of a plugin's VERSION answer. */
export function decodePluginVersionInfo(json: Buffer | string): string[] {
  let doc: unknown;
  try {
    doc = parseJson(json);
  } catch (e) {
    throw new Error(`decoding version info: ${(e as Error).message}`);
  }
  const obj = isPlainObject(doc) ? doc : {};
  const cniVersion = fieldCI(obj, 'cniVersion');
  const supported = fieldCI(obj, 'supportedVersions');
  if (typeof cniVersion !== 'string' || cniVersion === '') {
    throw new Error('decoding version info: missing field cniVersion');
  }
  if (!Array.isArray(supported) || supported.length === 0) {
    if (cniVersion === '0.2.0') return ['0.1.0', '0.2.0'];
    throw new Error('decoding version info: missing field supportedVersions');
  }
  return supported.map(String);
}
