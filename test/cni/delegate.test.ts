import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { delegateAdd, delegateDel } from '../../src/cni/delegate.ts';
import { CniError } from '../../src/cni/errors.ts';
import { configureLog } from '../../src/cni/log.ts';
import { setSelfPath } from '../../src/cni/self.ts';
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
    setSelfPath(path.join(cniBin, 'weft.cjs'));
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
    setSelfPath('');
  });
});
