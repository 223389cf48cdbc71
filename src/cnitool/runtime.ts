import type { Env } from '../cni/env.ts';

// The two halves of a runtime's request, as libcni splits them: how to run
// plugins (CniConfig: where they are, where the cache lives, what
// environment they inherit) and which attachment this call is about
// (RuntimeConf).

/** Where libcni keeps its result cache unless told otherwise. */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';

export interface CniConfig {
  /** Directories searched for plugin binaries (CNI_PATH). */
  path: readonly string[];
  /** Cache directory; results live in <cacheDir>/results. Default /var/lib/cni. */
  cacheDir?: string;
  /** The environment plugins inherit (the CNI_* variables override it). Default: this process's. */
  env?: Env;
  /** Where plugins' stderr goes. Default: this process's stderr. */
  stderr?: (text: string) => void;
}

export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, in order. */
  args?: ReadonlyArray<readonly [string, string]>;
  /** Capability args; each plugin gets the ones its `capabilities` declare, as runtimeConfig. */
  capabilityArgs?: Record<string, unknown>;
}

export const cacheDirOf = (cni: CniConfig): string => cni.cacheDir || DEFAULT_CACHE_DIR;
