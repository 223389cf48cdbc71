import { unbuiltPlugin } from '../unbuilt.ts';

export const plugin = unbuiltPlugin('host-local');
