import { CniError, ErrorCode } from './errors.ts';
import type { Env } from './env.ts';

// The plugin types running in one delegation chain (flannel, bridge,
// host-local), passed down in the environment so that it also survives an
// exec'd plugin that delegates back to weft. A type that is already in the
// chain would delegate to itself again and again (flannel whose delegate is
// flannel, a bridge whose IPAM is a bridge): in process that eats memory
// until the node kills it, exec'd it forks without end. No plugin ever needs
// itself as its own delegate, so that is refused as a config error.

export const DELEGATION_CHAIN_VAR = 'WEFT_DELEGATION_CHAIN';

const chainOf = (env: Env): string[] => (env[DELEGATION_CHAIN_VAR] ? env[DELEGATION_CHAIN_VAR].split(',') : []);

/** The environment of a running `type`: the chain ends with it. */
export function enterChain(env: Env, type: string): Env {
  const chain = chainOf(env);
  if (chain.at(-1) === type) return env;
  return { ...env, [DELEGATION_CHAIN_VAR]: [...chain, type].join(',') };
}

/** The chain value for a delegate of `type`; throws on a loop. */
export function delegateChain(env: Env, type: string): string {
  const chain = chainOf(env);
  if (chain.includes(type)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `delegation loop: ${[...chain, type].join(' -> ')}: a delegate or ipam type names a plugin that is already running`,
    );
  }
  return [...chain, type].join(',');
}

/** True in a plugin the runtime ran itself (the chain holds only it), not in a delegate. */
export const isTopLevel = (env: Env): boolean => chainOf(env).length <= 1;
