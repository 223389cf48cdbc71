import { CniError, ErrorCode } from '../cni/errors.ts';
import { isPlainObject, marshal, parseJson, sortKeys } from '../cni/json.ts';
import { resultJsonShape } from '../cni/result/encode.ts';
import type { AnyResult } from '../cni/result/types.ts';
import { type PluginConfig, pluginConfFromBytes } from './conf.ts';
import type { RuntimeConf } from './runtime.ts';

// What a plugin gets on stdin (spec "Deriving request configuration",
// libcni buildOneConfig/InjectConf): its entry with name and cniVersion set
// to the list's, prevResult when there is one, and runtimeConfig holding the
// capability args it declared. Keys are only ever added or replaced, never
// removed, so an on-disk `capabilities` or `prevResult` stays.

/**
 * InjectConf: the entry with `values` (plain JSON) and `results` set,
 * re-encoded through a Go map, so keys come out sorted. A result marshals
 * itself (struct field order for 0.x shapes) and keeps its slot among them.
 */
export function injectConf(
  orig: PluginConfig,
  values: Record<string, unknown>,
  results: Record<string, AnyResult> = {},
): PluginConfig {
  let doc: unknown;
  try {
    doc = parseJson(orig.bytes);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `unmarshal existing network bytes: ${(e as Error).message}`);
  }
  const config: Record<string, unknown> = isPlainObject(doc) ? { ...doc } : {};
  for (const [key, value] of [...Object.entries(values), ...Object.entries(results)]) {
    if (key === '') throw new CniError(ErrorCode.Internal, 'keys cannot be empty');
    if (value === undefined) throw new CniError(ErrorCode.Internal, `key '${key}' value must not be nil`);
    config[key] = value;
  }
  const out = sortKeys(config) as Record<string, unknown>;
  for (const [key, result] of Object.entries(results)) out[key] = resultJsonShape(result);
  return pluginConfFromBytes(Buffer.from(marshal(out)));
}

/**
 * injectRuntimeConfig: `runtimeConfig` = the capability args whose name the
 * plugin declares `true` in `capabilities`; added only when not empty.
 */
export function runtimeConfigFor(plugin: PluginConfig, capabilityArgs: Record<string, unknown> | undefined): Record<string, unknown> {
  const rc: Record<string, unknown> = {};
  for (const [capability, supported] of Object.entries(plugin.network.capabilities ?? {})) {
    if (supported && capabilityArgs && Object.hasOwn(capabilityArgs, capability)) rc[capability] = capabilityArgs[capability];
  }
  return rc;
}

/** buildOneConfig: the stdin for one plugin of list `name` at `cniVersion`. */
export function buildOneConfig(
  name: string,
  cniVersion: string,
  orig: PluginConfig,
  prevResult: AnyResult | undefined,
  rt: RuntimeConf | undefined,
): PluginConfig {
  let conf = injectConf(orig, { name, cniVersion }, prevResult ? { prevResult } : {});
  if (rt) {
    const rc = runtimeConfigFor(conf, rt.capabilityArgs);
    if (Object.keys(rc).length > 0) conf = injectConf(conf, { runtimeConfig: rc });
  }
  return conf;
}
