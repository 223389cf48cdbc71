import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cniBin, writeScript } from '../../helpers/tmp.ts';
import { CONTAINER_ID, type Fixture, SUBNET_V4, fixture, flannelConf, runFlannel } from './helpers.ts';

// No lease outlives its pod: real host-local (weft's) under a
// delegate that does only the IPAM part of a bridge, so the lease store can
// be inspected after every failure path.

const HOST_LOCAL = path.join(cniBin, 'host-local');

// ADD: lease, then fail if asked to (as a bridge failing after IPAM would); DEL: release.
const IPAM_ONLY_BRIDGE = `
conf=$(cat)
case "$CNI_COMMAND" in
ADD)
  out=$(printf '%s' "$conf" | ${HOST_LOCAL}) || { printf '%s' "$out"; exit 1; }
  if [ -n "$FAIL_AFTER_IPAM" ]; then printf '{"code":999,"msg":"failed to set up veth"}'; exit 1; fi
  printf '%s' "$out" ;;
DEL)
  printf '%s' "$conf" | ${HOST_LOCAL} ;;
esac`;

function setup(): { f: Fixture; conf: Record<string, unknown>; leases: () => string[] } {
  const f = fixture();
  writeScript(path.join(f.binDir, 'bridge'), IPAM_ONLY_BRIDGE);
  f.link('host-local', HOST_LOCAL);
  f.writeSubnetEnv(SUBNET_V4);
  const leaseRoot = path.join(f.dir, 'leases');
  const conf = flannelConf(f, { cniVersion: '0.3.1', ipam: { dataDir: leaseRoot } });
  // host-local has made the network's folder by the time any test looks: a missing one is a wrong path, and fails.
  const leases = () => fs.readdirSync(path.join(leaseRoot, 'cni-flannel')).filter((n) => /^[0-9.]+$/.test(n));
  return { f, conf, leases };
}

describe('leases through flannel', () => {
  it('a delegate ADD failing after IPAM leaves no lease and no saved config', async () => {
    const { f, conf, leases } = setup();
    const out = await runFlannel(f, 'ADD', conf, { FAIL_AFTER_IPAM: '1' });
    expect(out.json).toEqual({ code: 999, msg: 'failed to delegate add: failed to set up veth' });
    expect(leases()).toEqual([]);
    expect(f.saved(CONTAINER_ID)).toBeUndefined();
  });

  it('a pod whose saved config was lost still gets its lease released', async () => {
    const { f, conf, leases } = setup();
    const add = await runFlannel(f, 'ADD', conf);
    expect(add.json!.ips).toEqual([{ version: '4', address: '10.1.17.2/24', gateway: '10.1.17.1' }]);
    expect(leases()).toEqual(['10.1.17.2']);
    fs.rmSync(path.join(f.dataDir, CONTAINER_ID));
    expect((await runFlannel(f, 'DEL', conf)).exitCode).toBe(0);
    expect(leases()).toEqual([]);
  });

  it('a zero-length saved config and a missing subnet.env still release the lease', async () => {
    const { f, conf, leases } = setup();
    expect((await runFlannel(f, 'ADD', conf)).exitCode).toBe(0);
    fs.writeFileSync(path.join(f.dataDir, CONTAINER_ID), '');
    fs.rmSync(f.subnetFile);
    expect((await runFlannel(f, 'DEL', conf)).exitCode).toBe(0);
    expect(leases()).toEqual([]);
    expect(f.saved(CONTAINER_ID)).toBeUndefined();
  });

  it('releases only the lease of the pod being deleted', async () => {
    const { f, conf, leases } = setup();
    await runFlannel(f, 'ADD', conf, { CNI_CONTAINERID: 'pod-a' });
    await runFlannel(f, 'ADD', conf, { CNI_CONTAINERID: 'pod-b' });
    expect(leases().sort()).toEqual(['10.1.17.2', '10.1.17.3']);
    fs.rmSync(f.subnetFile);
    fs.rmSync(path.join(f.dataDir, 'pod-a'));
    await runFlannel(f, 'DEL', conf, { CNI_CONTAINERID: 'pod-a' });
    expect(leases()).toEqual(['10.1.17.3']);
    expect(f.saved('pod-b')).toBeDefined();
  });
});
