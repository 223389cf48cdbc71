import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdFor } from '../../src/cnitool/cli.ts';
import { createNetns, ipJson, runIn } from '../helpers/netns.ts';
import { cniBin, tempDir } from '../helpers/tmp.ts';

// cnitool as the runtime for real plugins in real namespaces: the reference
// bridge and host-local (/usr/lib/cni) wire a pod namespace inside a "host"
// namespace the test owns, then CHECK and DEL undo nothing they should keep.

const cnitool = path.join(cniBin, 'cnitool');

interface AddrInfo {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

describe('cnitool with the reference bridge and host-local', () => {
  it('adds, checks and deletes a pod attachment in a namespace', async () => {
    const host = createNetns('wh');
    const pod = createNetns('wp');
    const dir = tempDir();
    const confDir = path.join(dir, 'net.d');
    const cacheDir = path.join(dir, 'cache');
    const ipamDir = path.join(dir, 'ipam');
    fs.mkdirSync(confDir);
    fs.writeFileSync(
      path.join(confDir, '10-podnet.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'podnet',
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni-test0',
            isGateway: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/24' }]], dataDir: ipamDir },
          },
        ],
      }),
    );
    const env = { PATH: process.env.PATH, NETCONFPATH: confDir, CNI_PATH: '/usr/lib/cni', CNI_CACHE_DIR: cacheDir };

    const added = await runIn(host, cnitool, ['add', 'podnet', pod.path], { env });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const result = JSON.parse(added.stdout);
    expect(result.ips).toEqual([{ interface: 2, address: '10.77.0.2/24', gateway: '10.77.0.1' }]);

    const podAddrs = ipJson<AddrInfo[]>(pod, 'addr', 'show', 'eth0');
    expect(podAddrs[0]!.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['10.77.0.2/24']);
    const cacheFile = path.join(cacheDir, 'results', `podnet-${containerIdFor(pod.path)}-eth0`);
    expect(JSON.parse(fs.readFileSync(cacheFile, 'utf8'))).toMatchObject({ kind: 'cniCacheV1', netns: pod.path, result });

    const checked = await runIn(host, cnitool, ['check', 'podnet', pod.path], { env });
    expect(checked).toEqual({ code: 0, stdout: '', stderr: '' });

    const deleted = await runIn(host, cnitool, ['del', 'podnet', pod.path], { env });
    expect(deleted).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(ipJson<AddrInfo[]>(pod, 'link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    expect(fs.readdirSync(path.join(ipamDir, 'podnet')).filter((f) => f.startsWith('10.'))).toEqual([]);
    expect(fs.existsSync(cacheFile)).toBe(false);
  });
});
