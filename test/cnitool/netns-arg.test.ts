import { describe, expect, it } from 'vitest';
import { containerIdFor, runtimeFromEnv } from '../../src/cnitool/cli.ts';
import { scratchKey } from '../../src/plugins/flannel/platform.ts';

// cnitool's <netns> argument: a path on Linux, an HNS namespace GUID on Windows.

const GUID = '0e6a1b7c-3f2d-4c5e-9a8b-7d6c5b4a3f21';

describe('cnitool netns argument', () => {
  it('passes a Windows namespace GUID through unchanged, with or without braces', () => {
    for (const arg of [GUID, GUID.toUpperCase(), `{${GUID}}`]) {
      const rt = runtimeFromEnv({}, arg, 'C:\\Users\\op', 'win32');
      expect(rt.netns).toBe(arg);
      expect(rt.containerId).toBe(containerIdFor(arg));
    }
  });

  it('gives flannel on Windows a netns it accepts (not C:\\<guid>)', () => {
    const rt = runtimeFromEnv({}, GUID, 'C:\\', 'win32');
    expect(scratchKey({ containerId: rt.containerId, netns: rt.netns }, 'windows')).toBe(rt.containerId);
  });

  it('still makes a path absolute on Windows when the argument is not a GUID', () => {
    expect(runtimeFromEnv({}, 'netns/a', '/work', 'win32').netns).toBe('/work/netns/a');
    expect(runtimeFromEnv({}, `${GUID}x`, '/work', 'win32').netns).toBe(`/work/${GUID}x`);
  });

  it('treats a GUID-named argument as a relative path on Linux, as upstream cnitool does', () => {
    expect(runtimeFromEnv({}, GUID, '/run/netns', 'linux').netns).toBe(`/run/netns/${GUID}`);
  });
});
