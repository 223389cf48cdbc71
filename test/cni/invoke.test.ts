import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniError } from '../../src/cni/errors.ts';
import { execPlugin, findInPath, resultFromStdout } from '../../src/cni/invoke.ts';
import { tempDir, writeScript } from '../helpers/tmp.ts';

// pkg/invoke behaviour (cni-spec.md §4.7 and §1.12).

describe('findInPath', () => {
  it('needs a name and paths', () => {
    expect(() => findInPath('', ['/x'])).toThrow('no plugin name provided');
    expect(() => findInPath('bridge', [])).toThrow('no paths provided');
  });
  it('refuses a name with a path separator', () => {
    expect(() => findInPath('../bridge', ['/x'])).toThrow('invalid plugin name: ../bridge');
  });
  it('says where it looked', () => {
    expect(() => findInPath('nope', ['/a', '/b'])).toThrow('failed to find plugin "nope" in path [/a /b]');
  });
  it('takes the first regular file in path order', () => {
    const a = tempDir();
    const b = tempDir();
    fs.mkdirSync(path.join(a, 'p'));
    fs.writeFileSync(path.join(b, 'p'), '');
    const c = tempDir();
    fs.writeFileSync(path.join(c, 'p'), '');
    expect(findInPath('p', [a, b, c])).toBe(path.join(b, 'p'));
  });
});

describe('execPlugin errors', () => {
  const run = async (body: string) => {
    const dir = tempDir();
    const file = writeScript(path.join(dir, 'plugin'), body);
    let forwarded = '';
    try {
      const out = await execPlugin(file, Buffer.from('{}'), { PATH: process.env.PATH }, (t) => {
        forwarded += t;
      });
      return { out: out.toString(), forwarded };
    } catch (e) {
      return { err: e as CniError, forwarded };
    }
  };

  it('returns the JSON error object a plugin prints', async () => {
    const r = await run(`echo '{"code":7,"msg":"banana","details":"split"}'; exit 1`);
    expect(r.err).toBeInstanceOf(CniError);
    expect(r.err?.toJSON()).toEqual({ code: 7, msg: 'banana', details: 'split' });
  });

  it('treats an error code that is no Go uint (1.0, -1, 1e400) as an unparsable message, code 0', async () => {
    for (const code of ['1.0', '-1', '1e400']) {
      const r = await run(`printf '{"code":${code},"msg":"m"}'; exit 1`);
      expect(r.err?.toJSON(), code).toEqual({
        code: 0,
        msg: `netplugin failed but error parsing its diagnostic message "{\\"code\\":${code},\\"msg\\":\\"m\\"}": json: cannot unmarshal number ${code} into Go struct field Error.code of type uint`,
      });
    }
  });

  it("says why a plugin could not be started in Go's words", async () => {
    const file = path.join(tempDir(), 'not-executable');
    fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    await expect(execPlugin(file, Buffer.from('{}'), { PATH: process.env.PATH }, () => {})).rejects.toThrow(
      expect.objectContaining({ code: 999, message: `fork/exec ${file}: permission denied` }),
    );
  });

  it('quotes stderr when stdout is empty', async () => {
    const r = await run(`echo "some stderr message" >&2; exit 1`);
    expect(r.err?.msg).toBe('netplugin failed: "some stderr message\\n": exit status 1');
  });

  it("does not pass a failed plugin's stderr on a second time", async () => {
    const r = await run(`echo "some stderr message" >&2; echo '{"code":7,"msg":"banana"}'; exit 1`);
    expect(r.err?.msg).toBe('banana');
    expect(r.forwarded).toBe('');
  });

  it('says there was no message at all', async () => {
    expect((await run('exit 3')).err?.msg).toBe('netplugin failed with no error message: exit status 3');
  });

  it('reports a killed plugin the way Go does', async () => {
    expect((await run('kill -9 $$')).err?.msg).toBe('netplugin failed with no error message: signal: killed');
  });

  it('quotes stdout it cannot parse', async () => {
    const r = await run(`echo 'not json'; exit 1`);
    expect(r.err?.msg).toBe(
      `netplugin failed but error parsing its diagnostic message "not json\\n": invalid character 'o' in literal null (expecting 'u')`,
    );
  });

  it("passes a successful plugin's stderr on and returns its stdout", async () => {
    const r = await run(`cat >/dev/null; echo '{"cniVersion":"1.0.0"}'; echo note >&2`);
    expect(r.out).toBe('{"cniVersion":"1.0.0"}\n');
    expect(r.forwarded).toBe('note\n');
  });

  it('feeds the config on stdin and sets only the given environment', async () => {
    const r = await run(`printf '%s|%s|' "$CNI_COMMAND" "$HOME"; cat`);
    expect(r.out).toBe('||{}');
  });
});

describe('reading an ADD result', () => {
  const conf = Buffer.from('{"cniVersion":"0.3.1","name":"n"}');
  it('assumes the config version when the result has none', () => {
    expect(resultFromStdout(conf, Buffer.from('{"ips":[{"version":"4","address":"10.0.0.2/24"}]}')).cniVersion).toBe('0.3.1');
  });
  it('uses the version the result declares', () => {
    expect(resultFromStdout(conf, Buffer.from('{"cniVersion":"1.0.0"}')).cniVersion).toBe('1.0.0');
  });
  it('accepts null as an empty result', () => {
    expect(resultFromStdout(conf, Buffer.from('null'))).toEqual({ cniVersion: '0.3.1', dns: {} });
  });
  it('refuses empty output', () => {
    expect(() => resultFromStdout(conf, Buffer.from(''))).toThrow('failed to unmarshal raw result: unexpected end of JSON input');
  });
  it('falls back to 0.1.0 without any version', () => {
    expect(resultFromStdout(Buffer.from('{"name":"n"}'), Buffer.from('{"ip4":{"ip":"10.0.0.2/24"}}')).cniVersion).toBe('0.1.0');
  });
});
