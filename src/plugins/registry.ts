import type { Plugin } from '../cni/skel.ts';
import { type PluginType, isPluginType } from './types.ts';

export { PLUGIN_TYPES, isPluginType } from './types.ts';

// Each loader is a dynamic import so that a bundle evaluates only the plugin
// that runs (and those it calls in process).

const loaders: Record<PluginType, () => Promise<Plugin>> = {
  flannel: async () => (await import('./flannel/index.ts')).plugin,
  'host-local': async () => (await import('./host-local/index.ts')).plugin,
  bridge: async () => (await import('./bridge/index.ts')).plugin,
  'win-bridge': async () => (await import('./win-bridge/index.ts')).plugin,
  'win-overlay': async () => (await import('./win-overlay/index.ts')).plugin,
};

export async function loadPlugin(type: string): Promise<Plugin | undefined> {
  return isPluginType(type) ? loaders[type]() : undefined;
}
