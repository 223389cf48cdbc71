import { CniError, ErrorCode, asCniError, wrapError } from '../cni/errors.ts';
import { findInPath } from '../cni/invoke.ts';
import { validateContainerId, validateInterfaceName, validateNetworkName } from '../cni/names.ts';
import type { AnyResult } from '../cni/result/types.ts';
import { compareVersions } from '../cni/version.ts';
import { cacheAdd, cacheDel, getCachedAttachments, getCachedResult } from './cache.ts';
import type { NetworkConfigList, PluginConfig } from './conf.ts';
import { execWithResult, execWithoutResult, getVersionInfo } from './exec.ts';
import { buildOneConfig, injectConf } from './inject.ts';
import { type CniConfig, type RuntimeConf, cacheDirOf } from './runtime.ts';

// The list operations of libcni (AddNetworkList, CheckNetworkList,
// DelNetworkList, GCNetworkList, GetStatusNetworkList, ValidateNetworkList):
// plugin order, which result each plugin sees, what is cached, and the
// wording of every error, so a runtime built on them behaves like one built
// on libcni.

export interface GCAttachment {
  containerID: string;
  ifname: string;
}

export interface GCArgs {
  /** The attachments still in use; null is sent as such. */
  validAttachments: GCAttachment[] | null;
}

/** version.GreaterThanOrEqualTo; an unparsable version throws. */
const atLeast = (version: string, min: string): boolean => compareVersions(version, min) >= 0;

/** The same, with an unparsable version read as "no" (libcni ignores the error for GC and STATUS). */
function atLeastOrNo(version: string, min: string): boolean {
  try {
    return atLeast(version, min);
  } catch {
    return false;
  }
}

/** pluginDescription: type="bridge", plus name="..." when the entry has its own name. */
function describePlugin(plugin: PluginConfig): string {
  const name = plugin.network.name;
  return `type=${JSON.stringify(plugin.network.type)}${name ? ` name=${JSON.stringify(name)}` : ''}`;
}

function versionError(err: unknown): CniError {
  return new CniError(ErrorCode.IncompatibleCNIVersion, (err as Error).message);
}

async function addOne(cni: CniConfig, list: NetworkConfigList, plugin: PluginConfig, prev: AnyResult | undefined, rt: RuntimeConf) {
  const file = findInPath(plugin.network.type, cni.path);
  const invalid = validateContainerId(rt.containerId) ?? validateNetworkName(list.name) ?? validateInterfaceName(rt.ifName);
  if (invalid) throw invalid;
  const conf = buildOneConfig(list.name, list.cniVersion, plugin, prev, rt);
  return execWithResult(cni, file, conf.bytes, rt);
}

/**
 * AddNetworkList: ADD each plugin in order, each getting the previous
 * plugin's result as it came (not converted), then cache the final result.
 * A failed ADD leaves no cache entry and runs no DEL (that is the caller's call).
 */
export async function addNetworkList(cni: CniConfig, list: NetworkConfigList, rt: RuntimeConf): Promise<AnyResult> {
  let result: AnyResult | undefined;
  for (const plugin of list.plugins) {
    try {
      result = await addOne(cni, list, plugin, result, rt);
    } catch (e) {
      throw wrapError(`plugin ${describePlugin(plugin)} failed (add)`, e);
    }
  }
  if (!result) throw new CniError(ErrorCode.InvalidNetworkConfig, 'no plugin configs found');
  try {
    cacheAdd(cacheDirOf(cni), result, list.bytes, list.name, rt);
  } catch (e) {
    throw wrapError(`failed to set network ${JSON.stringify(list.name)} cached result`, e);
  }
  return result;
}

/**
 * CheckNetworkList: CHECK each plugin in order with the cached result as
 * prevResult (none when nothing is cached). The first error is returned as is.
 */
export async function checkNetworkList(cni: CniConfig, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  let supported: boolean;
  try {
    supported = atLeast(list.cniVersion, '0.4.0');
  } catch (e) {
    throw versionError(e);
  }
  if (!supported) {
    throw new CniError(
      ErrorCode.IncompatibleCNIVersion,
      `configuration version ${JSON.stringify(list.cniVersion)} does not support the CHECK command`,
    );
  }
  if (list.disableCheck) return;
  let cached: AnyResult | undefined;
  try {
    cached = getCachedResult(cacheDirOf(cni), list.name, list.cniVersion, rt);
  } catch (e) {
    throw wrapError(`failed to get network ${JSON.stringify(list.name)} cached result`, e);
  }
  for (const plugin of list.plugins) {
    const file = findInPath(plugin.network.type, cni.path);
    const conf = buildOneConfig(list.name, list.cniVersion, plugin, cached, rt);
    await execWithoutResult(cni, 'CHECK', file, conf.bytes, rt);
  }
}

/**
 * DelNetworkList: DEL each plugin in reverse order, all with the cached ADD
 * result (from 0.4.0 on). A cache that cannot be read is deleted and the DEL
 * goes on without it; the cache entry goes once every plugin succeeded.
 */
export async function delNetworkList(cni: CniConfig, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  const cacheDir = cacheDirOf(cni);
  let cached: AnyResult | undefined;
  let withCache: boolean;
  try {
    withCache = atLeast(list.cniVersion, '0.4.0');
  } catch (e) {
    throw versionError(e);
  }
  if (withCache) {
    try {
      cached = getCachedResult(cacheDir, list.name, list.cniVersion, rt);
    } catch {
      cacheDel(cacheDir, list.name, rt);
      cached = undefined;
    }
  }
  for (const plugin of [...list.plugins].reverse()) {
    try {
      const file = findInPath(plugin.network.type, cni.path);
      const conf = buildOneConfig(list.name, list.cniVersion, plugin, cached, rt);
      await execWithoutResult(cni, 'DEL', file, conf.bytes, rt);
    } catch (e) {
      throw wrapError(`plugin ${describePlugin(plugin)} failed (delete)`, e);
    }
  }
  cacheDel(cacheDir, list.name, rt);
}

/** Go's errors.Join: one message per line; the first error's code stands for all. */
function joinErrors(errs: CniError[]): CniError | undefined {
  if (errs.length === 0) return undefined;
  return new CniError(errs[0]!.code, errs.map((e) => e.message).join('\n'));
}

/**
 * GCNetworkList: DEL every cached attachment of this network that `args`
 * does not list as valid (all of them when `args` is absent, as cnitool
 * does), then, from 1.1.0 on, GC each plugin. Errors are collected, not fatal.
 */
export async function gcNetworkList(cni: CniConfig, list: NetworkConfigList, args?: GCArgs): Promise<void> {
  if (list.disableGC) return;
  let attachments: ReturnType<typeof getCachedAttachments>;
  try {
    attachments = getCachedAttachments(cacheDirOf(cni));
  } catch {
    // libcni treats an unreadable cache as nothing to collect.
    return;
  }
  const valid = new Set((args?.validAttachments ?? []).map((a) => JSON.stringify([a.containerID, a.ifname])));
  const errs: CniError[] = [];
  for (const a of attachments) {
    if (a.network !== list.name || valid.has(JSON.stringify([a.containerId, a.ifName]))) continue;
    const rt: RuntimeConf = {
      containerId: a.containerId,
      netns: a.netns,
      ifName: a.ifName,
      args: a.cniArgs,
      capabilityArgs: a.capabilityArgs,
    };
    try {
      await delNetworkList(cni, list, rt);
    } catch (e) {
      errs.push(wrapError(`failed to delete stale attachment ${rt.containerId} ${rt.ifName}`, e));
    }
  }
  if (atLeastOrNo(list.cniVersion, '1.1.0')) {
    const inject: Record<string, unknown> = { name: list.name, cniVersion: list.cniVersion };
    if (args) {
      inject['cni.dev/valid-attachments'] = args.validAttachments;
      // The spec text of 1.1.0 named the key this way (containernetworking/cni#1101).
      inject['cni.dev/attachments'] = args.validAttachments;
    }
    for (const plugin of list.plugins) {
      try {
        const conf = injectConf(plugin, inject);
        const file = findInPath(plugin.network.type, cni.path);
        await execWithoutResult(cni, 'GC', file, conf.bytes, {});
      } catch (e) {
        errs.push(wrapError(`failed to GC plugin ${plugin.network.type}`, e));
      }
    }
  }
  const err = joinErrors(errs);
  if (err) throw err;
}

/**
 * GetStatusNetworkList: STATUS each plugin in order (from 1.1.0 on). The
 * first error is returned unchanged, so its code (50, 51) reaches the caller.
 */
export async function getStatusNetworkList(cni: CniConfig, list: NetworkConfigList): Promise<void> {
  if (!atLeastOrNo(list.cniVersion, '1.1.0')) return;
  for (const plugin of list.plugins) {
    const conf = injectConf(plugin, { name: list.name, cniVersion: list.cniVersion });
    const file = findInPath(plugin.network.type, cni.path);
    await execWithoutResult(cni, 'STATUS', file, conf.bytes, {});
  }
}

/**
 * ValidateNetworkList: every plugin exists and supports the list's version
 * exactly. Returns the capabilities the list enables; errors are reported
 * all together, Go-style "[err1 err2]".
 */
export async function validateNetworkList(cni: CniConfig, list: NetworkConfigList): Promise<string[]> {
  const version = list.cniVersion || '0.1.0';
  const errs: CniError[] = [];
  const caps = new Set<string>();
  for (const plugin of list.plugins) {
    try {
      const file = findInPath(plugin.network.type, cni.path);
      const supported = await getVersionInfo(cni, file);
      if (!supported.includes(version)) {
        throw new CniError(
          ErrorCode.IncompatibleCNIVersion,
          `plugin ${plugin.network.type} does not support config version ${JSON.stringify(version)}`,
        );
      }
    } catch (e) {
      errs.push(asCniError(e));
    }
    for (const [cap, enabled] of Object.entries(plugin.network.capabilities ?? {})) if (enabled) caps.add(cap);
  }
  if (errs.length > 0) throw new CniError(errs[0]!.code, `[${errs.map((e) => e.message).join(' ')}]`);
  return [...caps];
}
