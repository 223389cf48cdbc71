import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTAINER_ID, FAKE_RESULT, type Fixture, SUBNET_DUAL, SUBNET_V4, SUBNET_V6, fixture, flannelConf, runFlannel } from './helpers.ts';

// The flannel plugin through the protocol frame, in process, with recording
// delegates on CNI_PATH.

const SAVED_V4 =
  '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],"type":"host-local"},' +
  '"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}';

function setup(subnetEnv = SUBNET_V4, delegates = ['bridge']): Fixture {
  const f = fixture();
  for (const d of delegates) f.fake(d);
  f.writeSubnetEnv(subnetEnv);
  return f;
}

describe('flannel ADD and DEL (reference lifecycle)', () => {
  // Reference cases 1-4.
  it('saves the delegate config it sends, prints the delegate result, and DEL replays and removes it', async () => {
    const f = setup();
    const add = await runFlannel(f, 'ADD', flannelConf(f));
    expect(add.exitCode).toBe(0);
    // The saved file is byte for byte what the reference saves (no cniVersion: the input has none).
    expect(f.saved(CONTAINER_ID)).toBe(SAVED_V4);
    const [addCall] = f.calls();
    expect(addCall).toMatchObject({ command: 'ADD', type: 'bridge', stdin: SAVED_V4, containerId: CONTAINER_ID, ifName: 'eth0' });
    // The delegate's result, printed in its own version (0.3.1, though the config says 0.1.0).
    expect(add.json).toEqual(JSON.parse(FAKE_RESULT));
    expect(add.json!.ips).toHaveLength(1);

    const del = await runFlannel(f, 'DEL', flannelConf(f));
    expect(del).toMatchObject({ exitCode: 0, stdout: '' });
    expect(f.calls()[1]).toMatchObject({ command: 'DEL', type: 'bridge', stdin: SAVED_V4 });
    expect(f.saved(CONTAINER_ID)).toBeUndefined();

    const again = await runFlannel(f, 'DEL', flannelConf(f));
    expect(again).toMatchObject({ exitCode: 0, stdout: '' });
  });

  it('echoes cniVersion into the saved config when the input has one', async () => {
    for (const v of ['0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
      const f = setup();
      expect((await runFlannel(f, 'ADD', flannelConf(f, { cniVersion: v }))).exitCode).toBe(0);
      expect(JSON.parse(f.saved(CONTAINER_ID)!).cniVersion).toBe(v);
    }
  });

  it('builds dual-stack and IPv6-only delegates from subnet.env', async () => {
    const dual = setup(SUBNET_DUAL);
    await runFlannel(dual, 'ADD', flannelConf(dual));
    expect(JSON.parse(dual.saved(CONTAINER_ID)!).ipam.ranges).toEqual([[{ subnet: '10.1.17.0/24' }], [{ subnet: 'fc00::/64' }]]);
    const v6 = setup(SUBNET_V6);
    await runFlannel(v6, 'ADD', flannelConf(v6));
    expect(JSON.parse(v6.saved(CONTAINER_ID)!).ipam.routes).toEqual([{ dst: 'fc00::/48' }]);
  });

  it('passes the runtime config into the delegate', async () => {
    const f = setup();
    const runtimeConfig = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
    await runFlannel(f, 'ADD', flannelConf(f, { runtimeConfig }));
    expect(f.calls()[0]!.conf.runtimeConfig).toEqual(runtimeConfig);
  });

  it('reports config errors with the reference wording before looking at subnet.env', async () => {
    const f = fixture();
    f.fake('bridge');
    const start = Date.now();
    const out = await runFlannel(f, 'ADD', flannelConf(f, { delegate: { ipam: {} }, subnetFileWaitSeconds: 5 }));
    expect(Date.now() - start).toBeLessThan(2000);
    expect(out.json).toEqual({ code: 7, msg: "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel" });
    const bad = await runFlannel(f, 'ADD', flannelConf(f, { dataDir: 7 }));
    expect(bad.json).toEqual({
      code: 6,
      msg: 'failed to load flannel netconf file: failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.dataDir of type string',
    });
    expect(f.calls()).toEqual([]);
  });
});

describe('flannel ADD without a usable subnet.env', () => {
  it('fails naming the file, wrapped as the reference wraps it, and touches nothing', async () => {
    const f = fixture();
    f.fake('bridge');
    const out = await runFlannel(f, 'ADD', flannelConf(f));
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({
      code: 11,
      msg: `failed to load flannel 'subnet.env' file: open ${f.subnetFile}: no such file or directory. Check the flannel pod log for this node.`,
    });
    expect(f.calls()).toEqual([]);
    expect(fs.existsSync(f.dataDir)).toBe(false);
  });

  it("wraps the reference's missing-keys error", async () => {
    const f = setup('foo=bar\n');
    const out = await runFlannel(f, 'ADD', flannelConf(f));
    expect(out.json!.msg).toBe(
      `failed to load flannel 'subnet.env' file: ${f.subnetFile} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ. Check the flannel pod log for this node.`,
    );
  });

  it('succeeds when flanneld writes the file while ADD waits', async () => {
    const f = fixture();
    f.fake('bridge');
    setTimeout(() => f.writeSubnetEnv(SUBNET_V4), 200);
    const out = await runFlannel(f, 'ADD', flannelConf(f, { subnetFileWaitSeconds: 3 }));
    expect(out.exitCode).toBe(0);
    expect(f.saved(CONTAINER_ID)).toBe(SAVED_V4);
  });
});

describe('flannel ADD when the delegate fails', () => {
  it('runs the delegate DEL, removes the saved config and returns the delegate error', async () => {
    const f = setup();
    const out = await runFlannel(f, 'ADD', flannelConf(f), { FAKE_ADD_ERROR: '{"code":11,"msg":"no IP addresses available","details":"range 0"}' });
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({ code: 11, msg: 'failed to delegate add: no IP addresses available', details: 'range 0' });
    expect(f.calls().map((c) => [c.command, c.stdin])).toEqual([
      ['ADD', SAVED_V4],
      ['DEL', SAVED_V4],
    ]);
    expect(f.saved(CONTAINER_ID)).toBeUndefined();
  });

  it('keeps the saved config when that DEL fails too, so the runtime DEL can finish', async () => {
    const f = setup();
    const out = await runFlannel(f, 'ADD', flannelConf(f), {
      FAKE_ADD_ERROR: '{"code":999,"msg":"add broke"}',
      FAKE_DEL_ERROR: '{"code":999,"msg":"del broke"}',
    });
    expect(out.json).toEqual({ code: 999, msg: 'failed to delegate add: add broke' });
    expect(f.saved(CONTAINER_ID)).toBe(SAVED_V4);
    expect((await runFlannel(f, 'DEL', flannelConf(f))).exitCode).toBe(0);
    expect(f.saved(CONTAINER_ID)).toBeUndefined();
  });

  it('undoes the ADD when the delegate prints a result it cannot parse', async () => {
    const f = setup();
    const out = await runFlannel(f, 'ADD', flannelConf(f), { FAKE_RESULT: '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"nonsense"}]}' });
    expect(out.exitCode).toBe(1);
    expect(out.json!.msg).toMatch(/^failed to delegate add: /);
    expect(f.calls().map((c) => c.command)).toEqual(['ADD', 'DEL']);
    expect(f.saved(CONTAINER_ID)).toBeUndefined();
  });

  it('names a delegate that is not on CNI_PATH', async () => {
    const f = setup(SUBNET_V4, []);
    const out = await runFlannel(f, 'ADD', flannelConf(f));
    expect(out.json).toEqual({ code: 999, msg: `failed to delegate add: failed to find plugin "bridge" in path [${f.binDir}]` });
    // Refused before anything was saved: flannel did not even make its dataDir.
    expect(fs.existsSync(f.dataDir)).toBe(false);
  });

  it('refuses, before any work, a delegate config larger than it would read back at DEL (1 MiB)', async () => {
    const f = setup();
    const out = await runFlannel(f, 'ADD', flannelConf(f, { delegate: { pad: 'x'.repeat(1 << 20) } }));
    expect(out.json).toEqual({ code: 7, msg: expect.stringMatching(/^failed to save delegate config: it is 1048\d{3} bytes, more than the 1 MiB flannel keeps for DEL$/) });
    expect(f.calls()).toEqual([]);
    expect(fs.existsSync(f.dataDir)).toBe(false);
  });
});

describe('flannel DEL', () => {
  it('keeps the saved config when the delegate DEL fails, and a retry finishes', async () => {
    const f = setup();
    await runFlannel(f, 'ADD', flannelConf(f));
    const failed = await runFlannel(f, 'DEL', flannelConf(f), { FAKE_DEL_ERROR: '{"code":11,"msg":"device busy"}' });
    expect(failed.json).toEqual({ code: 11, msg: 'device busy' });
    expect(f.saved(CONTAINER_ID)).toBe(SAVED_V4);
    expect((await runFlannel(f, 'DEL', flannelConf(f))).exitCode).toBe(0);
    expect(f.calls().map((c) => [c.command, c.stdin])).toEqual([
      ['ADD', SAVED_V4],
      ['DEL', SAVED_V4],
      ['DEL', SAVED_V4],
    ]);
    expect(f.saved(CONTAINER_ID)).toBeUndefined();
  });

  it('replays a config saved before an upgrade byte for byte, whatever the current conf says', async () => {
    const f = setup();
    fs.mkdirSync(f.dataDir, { recursive: true });
    const old = '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.3.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}';
    fs.writeFileSync(path.join(f.dataDir, CONTAINER_ID), old);
    expect((await runFlannel(f, 'DEL', flannelConf(f, { runtimeConfig: { new: true } }))).exitCode).toBe(0);
    expect(f.calls()).toEqual([expect.objectContaining({ command: 'DEL', type: 'bridge', stdin: old })]);
  });

  it('without a saved config, still DELs through the delegate with the rebuilt config', async () => {
    const f = setup();
    expect((await runFlannel(f, 'DEL', flannelConf(f))).exitCode).toBe(0);
    expect(f.calls()).toEqual([expect.objectContaining({ command: 'DEL', type: 'bridge', stdin: SAVED_V4 })]);
  });

  it('with a zero-length saved config (power loss), rebuilds it, releases, removes the file and succeeds', async () => {
    const f = setup();
    fs.mkdirSync(f.dataDir, { recursive: true });
    fs.writeFileSync(path.join(f.dataDir, CONTAINER_ID), '');
    const out = await runFlannel(f, 'DEL', flannelConf(f));
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    expect(f.calls()).toEqual([expect.objectContaining({ command: 'DEL', type: 'bridge', stdin: SAVED_V4 })]);
    expect(f.saved(CONTAINER_ID)).toBeUndefined();
  });

  it('without saved config and subnet.env, releases the lease through host-local alone', async () => {
    const f = setup(SUBNET_V4, ['bridge', 'host-local']);
    fs.rmSync(f.subnetFile);
    const conf = flannelConf(f, { cniVersion: '1.0.0', ipam: { dataDir: '/var/lib/weft-test-leases' } });
    expect((await runFlannel(f, 'DEL', conf)).exitCode).toBe(0);
    const [call] = f.calls();
    expect(call).toMatchObject({ command: 'DEL', type: 'host-local', containerId: CONTAINER_ID, ifName: 'eth0' });
    expect(call!.conf).toEqual({
      cniVersion: '1.0.0',
      name: 'cni-flannel',
      type: 'host-local',
      ipam: { type: 'host-local', dataDir: '/var/lib/weft-test-leases', ranges: [[{ subnet: '192.0.2.0/24' }]] },
    });
  });

  it('succeeds even when nothing can be released (no delegate found), keeping a corrupt file for later', async () => {
    const f = setup(SUBNET_V4, []);
    fs.mkdirSync(f.dataDir, { recursive: true });
    fs.writeFileSync(path.join(f.dataDir, CONTAINER_ID), '{"ipMa');
    expect((await runFlannel(f, 'DEL', flannelConf(f))).exitCode).toBe(0);
    expect(f.saved(CONTAINER_ID)).toBe('{"ipMa');
  });

  it('reports a broken config raw, as the reference DEL does', async () => {
    const f = setup();
    expect((await runFlannel(f, 'DEL', flannelConf(f, { delegate: 'x' }))).json).toEqual({
      code: 6,
      msg: 'failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.delegate of type map[string]interface {}',
    });
  });
});

describe('flannel CHECK', () => {
  const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.1.17.2/24', gateway: '10.1.17.1', interface: 0 }], interfaces: [{ name: 'eth0' }] };

  it('asks the delegate to check, with the saved config and the prevResult', async () => {
    const f = setup();
    await runFlannel(f, 'ADD', flannelConf(f, { cniVersion: '1.0.0' }));
    const out = await runFlannel(f, 'CHECK', flannelConf(f, { cniVersion: '1.0.0', prevResult }));
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    const check = f.calls()[1]!;
    expect(check).toMatchObject({ command: 'CHECK', type: 'bridge' });
    expect(check.conf).toEqual({ ...JSON.parse(f.saved(CONTAINER_ID)!), prevResult });
  });

  it("fails when the delegate finds the container's networking broken", async () => {
    const f = setup();
    await runFlannel(f, 'ADD', flannelConf(f, { cniVersion: '1.0.0' }));
    const out = await runFlannel(f, 'CHECK', flannelConf(f, { cniVersion: '1.0.0', prevResult }), {
      FAKE_CHECK_ERROR: '{"code":999,"msg":"eth0 has no address 10.1.17.2/24"}',
    });
    expect(out.json).toEqual({ code: 999, msg: 'eth0 has no address 10.1.17.2/24' });
  });

  it('checks against the rebuilt config when the saved one is gone', async () => {
    const f = setup();
    expect((await runFlannel(f, 'CHECK', flannelConf(f, { cniVersion: '0.4.0', prevResult }))).exitCode).toBe(0);
    expect(f.calls()[0]!.conf).toEqual({ ...JSON.parse(SAVED_V4), cniVersion: '0.4.0', prevResult });
  });

  it('is refused below 0.4.0', async () => {
    const f = setup();
    expect((await runFlannel(f, 'CHECK', flannelConf(f, { cniVersion: '0.3.1' }))).json).toEqual({ code: 1, msg: 'config version does not allow CHECK' });
  });
});

describe('flannel STATUS', () => {
  it('is unavailable (50), naming the file, until subnet.env is there', async () => {
    const f = fixture();
    f.fake('bridge');
    const out = await runFlannel(f, 'STATUS', flannelConf(f, { cniVersion: '1.1.0' }), { CNI_CONTAINERID: '', CNI_IFNAME: '', CNI_NETNS: '' });
    expect(out.json).toEqual({
      code: 50,
      msg: `failed to load flannel 'subnet.env' file: open ${f.subnetFile}: no such file or directory. Check the flannel pod log for this node.`,
    });
    f.writeSubnetEnv('FLANNEL_NETWORK=10.1.0.0/16\n');
    expect((await runFlannel(f, 'STATUS', flannelConf(f, { cniVersion: '1.1.0' }))).json!.code).toBe(50);
    expect(f.calls()).toEqual([]);
  });

  it("is then the delegate's STATUS, with the config ADD would send", async () => {
    const f = setup();
    expect((await runFlannel(f, 'STATUS', flannelConf(f, { cniVersion: '1.1.0' }))).exitCode).toBe(0);
    expect(f.calls()).toEqual([expect.objectContaining({ command: 'STATUS', type: 'bridge', conf: { ...JSON.parse(SAVED_V4), cniVersion: '1.1.0' } })]);
    const down = await runFlannel(f, 'STATUS', flannelConf(f, { cniVersion: '1.1.0' }), { FAKE_STATUS_ERROR: '{"code":50,"msg":"ipam not ready"}' });
    expect(down.json).toEqual({ code: 50, msg: 'ipam not ready' });
  });
});

describe('flannel GC', () => {
  const attachments = (...ids: string[]) => ids.map((containerID) => ({ containerID, ifname: 'eth0' }));

  async function addContainers(f: Fixture, ids: string[]) {
    for (const id of ids) expect((await runFlannel(f, 'ADD', flannelConf(f, { cniVersion: '1.1.0' }), { CNI_CONTAINERID: id })).exitCode).toBe(0);
  }

  it('removes saved configs of containers that are not valid attachments and passes GC to the delegate', async () => {
    const f = setup();
    await addContainers(f, ['a', 'b', 'c']);
    fs.writeFileSync(path.join(f.dataDir, '.d.123abc.tmp'), '{"typ');
    const valid = attachments('b');
    const out = await runFlannel(f, 'GC', flannelConf(f, { cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid }));
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    expect(fs.readdirSync(f.dataDir)).toEqual(['b']);
    const gc = f.calls().at(-1)!;
    expect(gc).toMatchObject({ command: 'GC', type: 'bridge' });
    expect(gc.conf).toEqual({ ...JSON.parse(f.saved('b')!), 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid });
  });

  it('treats a null or absent list as "nothing is valid"', async () => {
    const f = setup();
    await addContainers(f, ['a']);
    expect((await runFlannel(f, 'GC', flannelConf(f, { cniVersion: '1.1.0', 'cni.dev/valid-attachments': null }))).exitCode).toBe(0);
    expect(fs.readdirSync(f.dataDir)).toEqual([]);
  });

  it('still has host-local collect leases when subnet.env is gone', async () => {
    const f = setup(SUBNET_V4, ['bridge', 'host-local']);
    fs.rmSync(f.subnetFile);
    const valid = attachments('b');
    const out = await runFlannel(f, 'GC', flannelConf(f, { cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid }));
    expect(out.exitCode).toBe(0);
    expect(f.calls()).toEqual([expect.objectContaining({ command: 'GC', type: 'host-local' })]);
    expect(f.calls()[0]!.conf['cni.dev/valid-attachments']).toEqual(valid);
  });

  it('reports a failing delegate GC after doing its own part', async () => {
    const f = setup();
    await addContainers(f, ['a']);
    const out = await runFlannel(f, 'GC', flannelConf(f, { cniVersion: '1.1.0' }), { FAKE_GC_ERROR: '{"code":999,"msg":"lock timeout"}' });
    expect(out.json).toEqual({ code: 999, msg: 'lock timeout' });
    expect(fs.readdirSync(f.dataDir)).toEqual([]);
  });

  it('rejects a malformed attachment list', async () => {
    const f = setup();
    const out = await runFlannel(f, 'GC', flannelConf(f, { cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 5 }] }));
    expect(out.json).toEqual({ code: 6, msg: 'cni.dev/valid-attachments[0]: expected {containerID, ifname} strings' });
  });
});

describe('flannel with a Windows delegate (the Windows flavour, whatever the machine)', () => {
  const WIN = { delegate: { type: 'win-bridge' } };

  it('delegates to win-bridge and keys the saved config by the sandbox of container:<id>', async () => {
    const f = setup(SUBNET_V4, ['win-bridge']);
    const env = { CNI_CONTAINERID: 'workload1', CNI_NETNS: 'container:sandbox1' };
    const add = await runFlannel(f, 'ADD', flannelConf(f, { ...WIN, cniVersion: '0.3.0' }), env);
    expect(add.exitCode).toBe(0);
    const saved =
      '{"cniVersion":"0.3.0","ipMasq":true,"ipMasqNetwork":"10.1.0.0/16","ipam":{"gateway":"10.1.17.2","rangeStart":"10.1.17.3","subnet":"10.1.17.0/24","type":"host-local"},"name":"cni-flannel","type":"win-bridge"}';
    expect(f.saved('sandbox1')).toBe(saved);
    expect(f.saved('workload1')).toBeUndefined();
    expect((await runFlannel(f, 'DEL', flannelConf(f, { ...WIN, cniVersion: '0.3.0' }), env)).exitCode).toBe(0);
    expect(f.calls().map((c) => [c.command, c.type, c.stdin])).toEqual([
      ['ADD', 'win-bridge', saved],
      ['DEL', 'win-bridge', saved],
    ]);
    expect(f.saved('sandbox1')).toBeUndefined();
  });

  it('refuses an IPv6-only node without calling anything or saving anything', async () => {
    const f = setup(SUBNET_V6, ['win-bridge']);
    const out = await runFlannel(f, 'ADD', flannelConf(f, WIN));
    expect(out.json!.code).toBe(7);
    expect(out.json!.msg).toContain('IPv6-only networks are not supported');
    expect(f.calls()).toEqual([]);
    expect(fs.existsSync(f.dataDir)).toBe(false);
  });

  it('refuses a sandbox ID that is not a plain name', async () => {
    const f = setup(SUBNET_V4, ['win-bridge']);
    const out = await runFlannel(f, 'ADD', flannelConf(f, WIN), { CNI_NETNS: 'container:../../etc/x' });
    expect(out.json).toEqual({ code: 4, msg: 'invalid characters in sandbox ID from CNI_NETNS', details: 'container:../../etc/x' });
    expect(f.calls()).toEqual([]);
  });
});
