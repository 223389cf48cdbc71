import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNetns, deleteNetns } from '../../helpers/netns.ts';
import { NET, add, bridgeConf, cni, leases, makeRig } from './harness.ts';

// A bridge the runtime runs itself keeps attachment records beside its
// host-local store, as flannel does, and reclaims with them.

const recordsOf = (dataDir: string): string[] => {
  const dir = path.join(dataDir, '.weft', NET, 'attachments');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort() : [];
};

describe('bridge attachment records', () => {
  it('records the attachment at ADD (type bridge, its config as sent) and removes the record at DEL', async () => {
    const rig = makeRig();
    const pod = createNetns('bp');
    const conf = bridgeConf(rig, { isGateway: true });
    await add(rig, conf, pod, { id: 'pod-1', args: 'IgnoreUnknown=1;K8S_POD_NAME=p1' });
    expect(recordsOf(rig.dataDir)).toEqual(['pod-1@eth0']);
    const rec = JSON.parse(fs.readFileSync(path.join(rig.dataDir, '.weft', NET, 'attachments', 'pod-1@eth0'), 'utf8'));
    expect(rec).toMatchObject({ weftAttachment: 1, type: 'bridge', containerId: 'pod-1', ifName: 'eth0', netns: pod.path, cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=p1', namespace: { kind: 'linux' } });
    expect(Buffer.from(rec.stdin, 'base64').toString()).toBe(JSON.stringify(conf));
    expect((await cni(rig, 'DEL', conf, pod, { id: 'pod-1' })).code).toBe(0);
    expect(recordsOf(rig.dataDir)).toEqual([]);
  });

  it('records nothing for a config its DEL could not load again', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'ADD', bridgeConf(rig, { vlan: 5000 }), createNetns('bp'));
    expect(r.json).toMatchObject({ code: 7, msg: 'invalid VLAN ID 5000 (must be between 0 and 4094)' });
    expect(recordsOf(rig.dataDir)).toEqual([]);
  });

  it('an exhausted range reclaims the pods whose namespaces are gone and the ADD succeeds', async () => {
    const rig = makeRig();
    const conf = bridgeConf(rig, { isGateway: true }, ['10.1.2.0/29']);
    const pods = Array.from({ length: 5 }, () => createNetns('bp'));
    for (const [i, p] of pods.entries()) await add(rig, conf, p, { id: `p${i}` });
    expect(leases(rig)).toHaveLength(5);
    deleteNetns(pods[3]!);
    const r = await cni(rig, 'ADD', conf, createNetns('bp'), { id: 'next' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((r.json as { ips: { address: string }[] }).ips[0]!.address).toBe('10.1.2.5/29');
    expect(r.stderr).toMatch(/reclaimed the attachment of a pod that is gone .*containerId="p3"/);
    expect(recordsOf(rig.dataDir)).toEqual(['next@eth0', 'p0@eth0', 'p1@eth0', 'p2@eth0', 'p4@eth0']);
  });
});
