// weft's runtime side as a library: what the demo, benchmarks and tests use
// to drive plugins the way a libcni-based container runtime does.

export { cacheFilePath, getCachedAttachments, getCachedConfig, getCachedResult, type NetworkAttachment } from './cache.ts';
export { cniConfigFromEnv, containerIdFor, parseCniArgs, runtimeFromEnv } from './cli.ts';
export {
  loadNetworkConf,
  NoConfigsFoundError,
  NotFoundError,
  networkConfFromBytes,
  networkConfFromFile,
  type NetworkConfigList,
  type PluginConfig,
} from './conf.ts';
export {
  addNetworkList,
  checkNetworkList,
  delNetworkList,
  type GCArgs,
  type GCAttachment,
  gcNetworkList,
  getStatusNetworkList,
  validateNetworkList,
} from './list.ts';
export { cnitoolMain, type CnitoolIO } from './main.ts';
export { type CniConfig, DEFAULT_CACHE_DIR, type RuntimeConf } from './runtime.ts';
