import { describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { flannelOS, scratchKey } from '../../../src/plugins/flannel/platform.ts';

// Which delegate flavour is built, and which file a container's saved config lives in.

describe('flannelOS', () => {
  it('follows the machine unless WEFT_FLANNEL_OS says otherwise', () => {
    expect(flannelOS({})).toBe(process.platform === 'win32' ? 'windows' : 'linux');
    expect(flannelOS({ WEFT_FLANNEL_OS: 'windows' })).toBe('windows');
    expect(flannelOS({ WEFT_FLANNEL_OS: 'linux' })).toBe('linux');
  });

  it('rejects any other value, naming the variable', () => {
    expect(() => flannelOS({ WEFT_FLANNEL_OS: 'Windows' })).toThrow(new CniError(4, 'WEFT_FLANNEL_OS must be "linux" or "windows", not "Windows"'));
  });
});

describe('scratchKey', () => {
  it('is the container ID on Linux, whatever the netns', () => {
    expect(scratchKey({ containerId: 'c1', netns: 'container:sandbox' }, 'linux')).toBe('c1');
  });

  it("is the sandbox ID from docker's container:<id> netns on Windows", () => {
    expect(scratchKey({ containerId: 'c1', netns: 'container:sandbox1' }, 'windows')).toBe('sandbox1');
    expect(scratchKey({ containerId: 'c1', netns: 'none' }, 'windows')).toBe('c1');
    expect(scratchKey({ containerId: 'c1', netns: '' }, 'windows')).toBe('c1');
    expect(scratchKey({ containerId: 'c1', netns: '5b6f1bc5-0c1f-4e2a-9f3c-2f0e2c8d1a77' }, 'windows')).toBe('c1');
  });

  it('never lets a sandbox ID become a path', () => {
    for (const netns of ['container:../etc/passwd', 'container:a/b', 'container:', 'container:.hidden', 'container:a\\b']) {
      expect(() => scratchKey({ containerId: 'c1', netns }, 'windows')).toThrow('invalid characters in sandbox ID from CNI_NETNS');
    }
  });
});
