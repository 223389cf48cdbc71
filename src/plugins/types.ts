// The plugin types weft answers to, apart from their code (registry.ts), so
// that the standalone entry can tell a plugin's name without loading any.

export const PLUGIN_TYPES = ['flannel', 'host-local', 'bridge', 'win-bridge', 'win-overlay'] as const;

export type PluginType = (typeof PLUGIN_TYPES)[number];

export const isPluginType = (name: string): name is PluginType => (PLUGIN_TYPES as readonly string[]).includes(name);
