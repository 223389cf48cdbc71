import type { Plugin } from '../cni/skel.ts';

// The types weft answers to. Each loader is a dynamic import so that a
// bundle evaluates only the plugin that runs (and those it calls in process).

const loaders: Record<string, () => Promise<Plugin>> = {
  flannel: async () => (await import('./flannel/index.ts')).plugin,
  'host-local': async () => (await import('./host-local/index.ts')).plugin,
  bridge: async () => (await import('./bridge/index.ts')).plugin,
  'win-bridge': async () => (await import('./win-bridge/index.ts')).plugin,
  'win-overlay': async () => (await import('./win-overlay/index.ts')).plugin,
};

export const PLUGIN_TYPES = Object.keys(loaders);

export const isPluginType = (name: string): boolean => Object.hasOwn(loaders, name);

export async function loadPlugin(type: string): Promise<Plugin | undefined> {
  return Object.hasOwn(loaders, type) ? loaders[type]!() : undefined;
}
