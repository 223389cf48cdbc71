import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { setSelf } from '../../../src/cni/self.ts';
import { loadPlugin } from '../../../src/plugins/registry.ts';
import { eq, plan } from '../../../src/os/windows/plan-language.ts';
import { REQUEST_VAR, powershellArgs, powershellPath, runPlan, scriptPath } from '../../../src/os/windows/powershell.ts';
import { cniBin, tempDir, writeScript } from '../../helpers/tmp.ts';

// The runner, against small fake "powershell" executables.

const answer = '{"ok":true,"outputs":{"t":true},"ran":["t"],"stopped":null,"error":null,"tolerated":[],"undone":[]}';
const onePlan = plan([{ id: 't', op: 'test', cond: eq(1, 1) }]);

beforeEach(() => setSelf(path.join(cniBin, 'weft.cjs'), loadPlugin));
afterEach(() => setSelf('', loadPlugin));

function fakeExe(body: string): { exe: string; dir: string } {
  const dir = tempDir();
  return { exe: writeScript(path.join(dir, 'powershell'), body), dir };
}

describe('runPlan', () => {
  it('starts PowerShell with the fixed command line and the request in WEFT_HNS_REQUEST only', async () => {
    const { exe, dir } = fakeExe(`printf '%s\\n' "$@" > "${'$'}0.args"; printf '%s' "$WEFT_HNS_REQUEST" > "${'$'}0.req"; env > "${'$'}0.env"; echo '${answer}'`);
    const out = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: exe, CNI_ARGS: 'K8S_POD_NAME=x', CNI_COMMAND: 'ADD' }, timeoutMs: 10_000 });
    expect(out.ok).toBe(true);
    expect(out.outputs).toEqual({ t: true });
    const args = fs.readFileSync(`${exe}.args`, 'utf8').trimEnd().split('\n');
    expect(args).toEqual(powershellArgs(path.join(cniBin, 'weft-hns.ps1')));
    expect(args).toEqual(['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', path.join(cniBin, 'weft-hns.ps1')]);
    expect(JSON.parse(fs.readFileSync(`${exe}.req`, 'utf8'))).toEqual(onePlan);
    const env = fs.readFileSync(`${exe}.env`, 'utf8');
    expect(env).not.toMatch(/^CNI_/m);
    expect(env).toMatch(new RegExp(`^${REQUEST_VAR}=`, 'm'));
    void dir;
  });

  it('reads the answer from the last line, past anything PowerShell printed before it', async () => {
    const { exe } = fakeExe(`echo 'WARNING: something'; echo; echo '${answer}'`);
    const out = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: exe }, timeoutMs: 10_000 });
    expect(out.ran).toEqual(['t']);
  });

  it('reports what PowerShell said on stderr when there is no answer', async () => {
    const { exe } = fakeExe(`echo 'Add-Type : Cannot add type. Compilation errors occurred.' >&2; exit 1`);
    const err = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: exe }, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).code).toBe(999);
    expect((err as CniError).msg).toContain('gave no answer (exit status 1)');
    expect((err as CniError).details).toContain('Compilation errors occurred');
  });

  it('kills a PowerShell that hangs', async () => {
    const { exe } = fakeExe('sleep 5');
    const started = Date.now();
    const err = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: exe }, timeoutMs: 300 }).catch((e: unknown) => e);
    expect((err as CniError).msg).toContain('killed after 300 ms without an answer');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('says which PowerShell could not be started', async () => {
    const err = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: '/nonexistent/pwsh' }, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect((err as CniError).msg).toMatch(/^cannot start \/nonexistent\/pwsh: .*ENOENT/);
  });

  it("uses WEFT_POWERSHELL, else Windows PowerShell from System32, not from PATH", () => {
    expect(powershellPath({ WEFT_POWERSHELL: 'C:\\pwsh\\pwsh.exe', SystemRoot: 'C:\\Windows' })).toBe('C:\\pwsh\\pwsh.exe');
    expect(powershellPath({ SystemRoot: 'C:\\Windows' })).toBe('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(powershellPath({})).toBe('powershell.exe');
  });

  it('refuses a request too large for an environment variable', async () => {
    const big = plan([{ id: 't', op: 'test', cond: eq('x'.repeat(40_000), 'y') }]);
    const err = await runPlan(big, { env: { WEFT_POWERSHELL: '/bin/false' }, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect((err as CniError).code).toBe(7);
    expect((err as CniError).msg).toContain('over the 32000 an environment variable can carry');
  });

  it('finds the script beside weft, and says so when it is missing', () => {
    expect(scriptPath()).toBe(path.join(cniBin, 'weft-hns.ps1'));
    const elsewhere = tempDir();
    setSelf(path.join(elsewhere, 'weft.exe'), loadPlugin);
    expect(() => scriptPath()).toThrow(`${path.join(elsewhere, 'weft-hns.ps1')} is missing`);
    setSelf('', loadPlugin);
    expect(() => scriptPath()).toThrow("the path of weft's executable is unknown");
  });
});
