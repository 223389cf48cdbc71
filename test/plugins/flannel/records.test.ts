import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNetns } from '../../helpers/netns.ts';
import { CONTAINER_ID, SUBNET_V4, fixture, flannelConf, runFlannel } from './helpers.ts';

// flannel's attachment records, in process, with recording delegates: the
// record is there before the delegate runs, goes with a successful DEL or
// a failed ADD that undid itself, and stays while something is left.

function setup() {
  const f = fixture();
  f.fake('bridge');
  // Records are kept for host-local's leases: only where it is installed.
  f.fake('host-local');
  f.writeSubnetEnv(SUBNET_V4);
  const leases = path.join(f.dir, 'leases');
  const conf = flannelConf(f, { ipam: { dataDir: leases } });
  const records = path.join(leases, '.weft', 'cni-flannel', 'attachments');
  const recordsNow = () => (fs.existsSync(records) ? fs.readdirSync(records).filter((n) => !n.startsWith('.')) : []);
  // A real namespace: only a CNI_NETNS that names one is recorded.
  const env = { CNI_NETNS: createNetns('wfr').path };
  return { f, conf, recordsNow, env };
}

describe('flannel attachment records', () => {
  it('are written before the delegate ADD and removed by a successful DEL', async () => {
    const { f, conf, recordsNow, env } = setup();
    // The delegate sees the record already in place: a killed ADD leaves one too.
    const add = await runFlannel(f, 'ADD', conf, { ...env, FAKE_RESULT: '{"cniVersion":"0.3.1"}' });
    expect(add.exitCode, add.stdout).toBe(0);
    expect(recordsNow()).toEqual([`${CONTAINER_ID}@eth0`]);
    expect((await runFlannel(f, 'DEL', conf, env)).exitCode).toBe(0);
    expect(recordsNow()).toEqual([]);
  });

  it('go with a failed ADD whose delegate DEL undid it, and stay (with the saved config) when that DEL failed', async () => {
    const { f, conf, recordsNow, env } = setup();
    const undone = await runFlannel(f, 'ADD', conf, { ...env, FAKE_ADD_ERROR: '{"code":7,"msg":"no"}' });
    expect(undone.exitCode).toBe(1);
    expect(recordsNow()).toEqual([]);
    const stuck = await runFlannel(f, 'ADD', conf, { ...env, FAKE_ADD_ERROR: '{"code":7,"msg":"no"}', FAKE_DEL_ERROR: '{"code":7,"msg":"not either"}' });
    expect(stuck.exitCode).toBe(1);
    expect(recordsNow()).toEqual([`${CONTAINER_ID}@eth0`]);
    expect(f.saved(CONTAINER_ID)).toBeDefined();
  });

  it('are kept by the plugin the runtime ran, not by flannel run as a delegate, nor for a CNI_NETNS that names no namespace', async () => {
    const { f, conf, recordsNow, env } = setup();
    expect((await runFlannel(f, 'ADD', conf, { ...env, WEFT_DELEGATION_CHAIN: 'some-meta-plugin' })).exitCode).toBe(0);
    expect((await runFlannel(f, 'ADD', conf, { CNI_NETNS: '/var/run/netns/weft-no-such-pod', CNI_CONTAINERID: 'other' })).exitCode).toBe(0);
    expect(recordsNow()).toEqual([]);
  });
});
