import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { endpointName, isSharedNetns, namespaceId, requireNamespaceId, sandboxId } from '../../../src/plugins/windows-common/endpoint-name.ts';

describe('endpoint names', () => {
  it('are <sandbox id>_<network>, the sandbox being the container unless netns says container:<id>', () => {
    const ns = '8d4e2f3a-1b2c-4d5e-8f90-0123456789ab';
    expect(endpointName('c1', ns, 'cbr0')).toBe('c1_cbr0');
    expect(endpointName('c1', 'none', 'cbr0')).toBe('c1_cbr0');
    expect(endpointName('c1', '', 'cbr0')).toBe('c1_cbr0');
    expect(endpointName('app', 'container:pause1', 'cbr0')).toBe('pause1_cbr0');
    expect(sandboxId('app', 'container:a:b')).toBe('a:b');
  });

  it('tell a shared (Docker) netns apart', () => {
    expect(isSharedNetns('container:abc')).toBe(true);
    expect(isSharedNetns('none')).toBe(false);
    expect(isSharedNetns('8d4e2f3a-1b2c-4d5e-8f90-0123456789ab')).toBe(false);
  });
});

describe('namespace IDs', () => {
  it('accept a GUID, with or without braces, and normalise it to lower case', () => {
    expect(namespaceId('8D4E2F3A-1B2C-4D5E-8F90-0123456789AB')).toBe('8d4e2f3a-1b2c-4d5e-8f90-0123456789ab');
    expect(namespaceId('{8d4e2f3a-1b2c-4d5e-8f90-0123456789ab}')).toBe('8d4e2f3a-1b2c-4d5e-8f90-0123456789ab');
  });

  it('reject anything else, naming what containerd should have passed', () => {
    for (const bad of ['', 'none', 'container:abc', '/var/run/netns/x', '8d4e2f3a-1b2c-4d5e-8f90-0123456789a', '{8d4e2f3a-1b2c-4d5e-8f90-0123456789ab', "8d4e2f3a-1b2c-4d5e-8f90-0123456789ab'; rm"]) {
      expect(namespaceId(bad), bad).toBeUndefined();
    }
    const err = (() => {
      try {
        requireNamespaceId('none');
      } catch (e) {
        return e as CniError;
      }
    })();
    expect(err?.code).toBe(4);
    expect(err?.msg).toContain('CNI_NETNS must be the GUID of an HNS namespace');
  });
});
