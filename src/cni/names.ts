import { CniError, ErrorCode } from './errors.ts';

// Container IDs and network names share one rule. It also keeps both safe to
// use as file names: no separators, no leading dot.
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const MAX_IFNAME_BYTES = 15;

// Go's unicode.IsSpace, which is not JavaScript's \s (no U+FEFF, adds U+0085).
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

export function validateContainerId(id: string): CniError | undefined {
  if (id === '') return new CniError(ErrorCode.UnknownContainer, 'missing containerID');
  if (!VALID_NAME.test(id)) {
    return new CniError(ErrorCode.InvalidEnvironmentVariables, 'invalid characters in containerID', id);
  }
  return undefined;
}

export function validateNetworkName(name: string): CniError | undefined {
  if (name === '') return new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name:');
  if (!VALID_NAME.test(name)) {
    return new CniError(ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
  }
  return undefined;
}

export function validateInterfaceName(name: string): CniError | undefined {
  const code = ErrorCode.InvalidEnvironmentVariables;
  if (name.length === 0) return new CniError(code, 'interface name is empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_IFNAME_BYTES) {
    return new CniError(
      code,
      'interface name is too long',
      `interface name should be less than ${MAX_IFNAME_BYTES + 1} characters`,
    );
  }
  if (name === '.' || name === '..') return new CniError(code, 'interface name is . or ..');
  if (name.includes('/') || name.includes(':') || GO_SPACE.test(name)) {
    return new CniError(code, 'interface name contains / or : or whitespace characters');
  }
  return undefined;
}

/** True when `s` is safe as a single path component (used for store and scratch files). */
export const isValidName = (s: string): boolean => VALID_NAME.test(s);
