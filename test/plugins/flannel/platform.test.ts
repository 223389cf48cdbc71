import { describe, expect, it } from 'vitest';
import { loadFlannelConf } from '../../../src/plugins/flannel/conf.ts';
import { flannelOS, scratchKey } from '../../../src/plugins/flannel/platform.ts';

// Which delegate flavour is built, and which file a container's saved config lives in.

const conf = (delegate?: Record<string, unknown>) => loadFlannelConf(Buffer.from(JSON.stringify({ name: 'n', type: 'flannel', delegate })));

describe('flannelOS', () => {
  it('follows the machine', () => {
    expect(flannelOS(conf())).toBe(process.platform === 'win32' ? 'windows' : 'linux');
    expect(flannelOS(conf({ type: 'bridge' }))).toBe(process.platform === 'win32' ? 'windows' : 'linux');
  });

  it("is Windows wherever the delegate is one of weft's Windows plugins", () => {
    expect(flannelOS(conf({ type: 'win-bridge' }))).toBe('windows');
    expect(flannelOS(conf({ type: 'win-overlay' }))).toBe('windows');
    expect(flannelOS(conf({ type: 'Win-Overlay' }))).toBe(process.platform === 'win32' ? 'windows' : 'linux');
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
