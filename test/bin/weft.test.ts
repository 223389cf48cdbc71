import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_VERSIONS } from '../../src/cni/version.ts';
import { cniEnv, run } from '../helpers/run.ts';
import { cniBin, tempDir } from '../helpers/tmp.ts';

// The built multicall executable, as a runtime sees it.

const TYPES = ['flannel', 'host-local', 'bridge', 'win-bridge', 'win-overlay', 'cnitool'];

describe('dist/cni-bin', () => {
  it('ships a V8 code cache that this node accepts', async () => {
    const vm = await import('node:vm');
    const main = path.join(cniBin, 'weft-main.cjs');
    const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(main, 'utf8')}\n})`, {
      filename: main,
      cachedData: fs.readFileSync(path.join(cniBin, 'weft-main.cache')),
    });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('has one executable per type', () => {
    for (const t of TYPES) {
      const st = fs.statSync(path.join(cniBin, t));
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o111).not.toBe(0);
    }
  });

  for (const t of TYPES) {
    it(`${t} answers VERSION with all seven versions`, async () => {
      const r = await run(path.join(cniBin, t), [], { env: cniEnv({ CNI_COMMAND: 'VERSION' }), stdin: '{"cniVersion":"1.0.0"}' });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...ALL_VERSIONS] });
    });
  }

  it('prints the about text when CNI_COMMAND is missing', async () => {
    const r = await run(path.join(cniBin, 'bridge'), [], { env: cniEnv({}) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bridge.*\nCNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0\n$/);
  });

  it('answers bad input with one CNI error object and exit status 1', async () => {
    const r = await run(path.join(cniBin, 'host-local'), [], {
      env: cniEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: cniBin }),
      stdin: '{"name": ',
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ code: 6, msg: 'error unmarshall network config: unexpected end of JSON input' });
    expect(r.stderr).toBe('');
  });

  it('runs a plugin named as the first argument when invoked as weft', async () => {
    const r = await run(process.execPath, [path.join(cniBin, 'weft.cjs'), 'bridge'], { env: cniEnv({ CNI_COMMAND: 'VERSION' }) });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).supportedVersions).toHaveLength(7);
  });

  it('explains itself when it cannot tell which plugin to be', async () => {
    const r = await run(process.execPath, [path.join(cniBin, 'weft.cjs')], { env: cniEnv({}) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('flannel, host-local, bridge, win-bridge, win-overlay, cnitool');
  });

  it('works through a hard link too', async () => {
    const dir = tempDir();
    fs.linkSync(path.join(cniBin, 'weft.cjs'), path.join(dir, 'host-local'));
    // The launcher runs the bundle beside it: a folder of links is a copy of dist/cni-bin.
    for (const f of ['weft-main.cjs', 'weft-main.cache']) fs.linkSync(path.join(cniBin, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}');
    const r = await run(path.join(dir, 'host-local'), [], { env: cniEnv({ CNI_COMMAND: 'VERSION' }) });
    expect(r.code).toBe(0);
  });
});

describe('VERSION without loading the plugin', () => {
  it('is only right because every plugin supports all seven versions', async () => {
    const { PLUGIN_TYPES, loadPlugin } = await import('../../src/plugins/registry.ts');
    for (const type of PLUGIN_TYPES) expect((await loadPlugin(type))!.versions, type).toEqual([...ALL_VERSIONS]);
  });
});
