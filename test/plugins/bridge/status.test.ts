import { describe, expect, it } from 'vitest';
import { createNetns, shIn } from '../../helpers/netns.ts';
import { NET, add, bridgeConf, cni, makeRig, recordingIpam } from './harness.ts';

// STATUS and GC (§3.8). The reference host-local speaks only up to 1.0.0, so
// these 1.1.0 verbs go to a recording IPAM script.

describe('bridge STATUS', () => {
  it('asks IPAM, and passes its error on', async () => {
    const ipam = recordingIpam({ STATUS: '{"code":50,"msg":"no addresses left"}' });
    const rig = makeRig({ 'rec-ipam': ipam.file });
    const r = await cni(rig, 'STATUS', bridgeConf(rig, { cniVersion: '1.1.0', ipam: { type: 'rec-ipam' } }), '');
    expect(r.json).toEqual({ code: 50, msg: 'no addresses left' });
    expect(ipam.calls()).toHaveLength(1);
  });

  it('is ready without IPAM', async () => {
    const rig = makeRig();
    const r = await cni(rig, 'STATUS', bridgeConf(rig, { cniVersion: '1.1.0', ipam: {} }), '');
    expect([r.code, r.stdout]).toEqual([0, '']);
  });
});

describe('bridge GC', () => {
  it('passes GC to IPAM and removes masquerading of containers that are no longer valid', async () => {
    const ipam = recordingIpam();
    const rig = makeRig({ 'rec-ipam': ipam.file });
    const conf = bridgeConf(rig, { isGateway: true, ipMasq: true });
    await add(rig, conf, createNetns('bp'), { id: 'keep-me' });
    await add(rig, conf, createNetns('bp'), { id: 'stale' });
    const gcConf = {
      ...conf,
      cniVersion: '1.1.0',
      ipam: { type: 'rec-ipam' },
      'cni.dev/valid-attachments': [{ containerID: 'keep-me', ifname: 'eth0' }],
    };
    const r = await cni(rig, 'GC', gcConf, '');
    expect(r.code, r.stdout).toBe(0);
    expect(ipam.calls()).toEqual([expect.stringMatching(/^GC .*"cni.dev\/valid-attachments"/)]);
    const rules = shIn(rig.host, 'iptables -t nat -S');
    expect(rules).toContain(`id: \\"keep-me\\"`);
    expect(rules).not.toContain(`id: \\"stale\\"`);
    expect(rules).toContain(`name: \\"${NET}\\"`);
  });
});
