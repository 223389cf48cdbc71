import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DELEGATION_CHAIN_VAR } from '../../src/cni/chain.ts';
import { delegateAdd, delegateDel } from '../../src/cni/delegate.ts';
import { CniError } from '../../src/cni/errors.ts';
import { configureLog } from '../../src/cni/log.ts';
import { setSelf } from '../../src/cni/self.ts';
import { loadPlugin } from '../../src/plugins/registry.ts';
import { runPlugin } from '../../src/cni/skel.ts';
import { plugin as flannel } from '../../src/plugins/flannel/index.ts';
import { cniBin, tempDir, writeScript } from '../helpers/tmp.ts';

// Delegation finds the plugin on CNI_PATH; weft's own file runs in process,
// anything else is exec'd, and both give the caller the same outcome.

const env = (cniPath: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: cniPath,
  ...extra,
});

const conf = { cniVersion: '1.0.0', name: 'net', type: 'x' };

describe('delegation', () => {
  it('reports a missing plugin with the message libcni gives', async () => {
    await expect(delegateAdd('nope', conf, { env: env('/a:/b') })).rejects.toThrow('failed to find plugin "nope" in path [/a /b]');
  });

  it('execs a foreign plugin with CNI_COMMAND overridden and parses its result', async () => {
    const dir = tempDir();
    writeScript(
      path.join(dir, 'fake'),
      `cat > "${dir}/stdin"; echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME" > "${dir}/env"
echo '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}'`,
    );
    const result = await delegateAdd('fake', conf, { env: env(dir, { CNI_COMMAND: 'DEL' }) });
    expect(result).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] });
    expect(fs.readFileSync(path.join(dir, 'env'), 'utf8')).toBe('ADD c1 eth0\n');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'stdin'), 'utf8'))).toEqual(conf);
  });

  it("passes a foreign plugin's error up with its code", async () => {
    const dir = tempDir();
    writeScript(path.join(dir, 'fake'), `echo '{"code":11,"msg":"try later"}'; exit 1`);
    const err = await delegateDel('fake', conf, { env: env(dir) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).toJSON()).toEqual({ code: 11, msg: 'try later' });
  });

  it("runs weft's own plugins in process, with the same outcome as an exec", async () => {
    const logFile = path.join(tempDir(), 'log');
    configureLog({ env: logFile, envLevel: 'debug' });
    setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin);
    const inProcess = await delegateAdd('bridge', conf, { env: env(cniBin, { WEFT_LOG_FILE: logFile, WEFT_LOG_LEVEL: 'debug' }) }).catch(
      (e: unknown) => e as CniError,
    );
    expect(fs.readFileSync(logFile, 'utf8')).toContain('delegate ADD in process');

    // A copy is another file: it is exec'd.
    const copyDir = tempDir();
    fs.copyFileSync(path.join(cniBin, 'weft.cjs'), path.join(copyDir, 'bridge'));
    for (const f of ['weft-main.cjs', 'weft-main.cache']) fs.copyFileSync(path.join(cniBin, f), path.join(copyDir, f));
    fs.chmodSync(path.join(copyDir, 'bridge'), 0o755);
    fs.writeFileSync(path.join(copyDir, 'package.json'), '{"type":"commonjs"}');
    const execd = await delegateAdd('bridge', conf, { env: env(copyDir, { WEFT_LOG_FILE: logFile, WEFT_LOG_LEVEL: 'debug' }) }).catch(
      (e: unknown) => e as CniError,
    );
    expect(fs.readFileSync(logFile, 'utf8')).toContain('delegate ADD exec');

    expect(inProcess).toBeInstanceOf(CniError);
    expect((inProcess as CniError).toJSON()).toEqual((execd as CniError).toJSON());
    setSelf('', loadPlugin);
  });

  it('refuses a delegation loop with a config error instead of recursing without end (in process and exec\'d)', async () => {
    // A bridge whose IPAM is a bridge: DEL of a pod whose netns is gone goes straight to IPAM.
    const loop = { cniVersion: '1.0.0', name: 'net', type: 'bridge', ipam: { type: 'bridge' } };
    setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin);
    const inProcess = await delegateDel('bridge', loop, { env: env(cniBin) }).catch((e: unknown) => e as CniError);
    setSelf('', loadPlugin);
    expect(inProcess).toBeInstanceOf(CniError);
    expect((inProcess as CniError).toJSON()).toEqual({ code: 7, msg: 'delegation loop: bridge -> bridge: a delegate or ipam type names a plugin that is already running' });
    const execd = await delegateDel('bridge', loop, { env: env(cniBin) }).catch((e: unknown) => e as CniError);
    expect((execd as CniError).toJSON()).toEqual((inProcess as CniError).toJSON());
  });

  it('passes the chain of delegates to an exec\'d plugin, so a loop through a foreign plugin is caught too', async () => {
    const dir = tempDir();
    writeScript(path.join(dir, 'fake'), `printf '%s' "$${DELEGATION_CHAIN_VAR}" > "${dir}/chain"; echo '{"cniVersion":"1.0.0"}'`);
    await delegateDel('fake', conf, { env: env(dir, { [DELEGATION_CHAIN_VAR]: 'flannel,bridge' }) });
    expect(fs.readFileSync(path.join(dir, 'chain'), 'utf8')).toBe('flannel,bridge,fake');
    await expect(delegateDel('bridge', conf, { env: env(dir, { [DELEGATION_CHAIN_VAR]: 'flannel,bridge' }) })).rejects.toThrow(
      'delegation loop: flannel -> bridge -> bridge',
    );
  });

  it('refuses a flannel whose delegate is flannel at once, before the nested one reads the default subnet.env', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'subnet.env'), 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const flannelConf = { cniVersion: '1.0.0', name: 'net', type: 'flannel', subnetFile: path.join(dir, 'subnet.env'), subnetFileWaitSeconds: 0, dataDir: path.join(dir, 'saved'), delegate: { type: 'flannel' } };
    setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin);
    const out = await runPlugin(flannel, { env: env(cniBin), readStdin: () => Buffer.from(JSON.stringify(flannelConf)), stderr: () => {} });
    setSelf('', loadPlugin);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      code: 7,
      msg: 'failed to delegate add: delegation loop: flannel -> flannel: a delegate or ipam type names a plugin that is already running',
    });
    // Nothing saved for a DEL to replay.
    expect(fs.existsSync(path.join(dir, 'saved'))).toBe(false);
  });
});
