import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CniError } from '../../../src/cni/errors.ts';
import { setSelf } from '../../../src/cni/self.ts';
import { loadPlugin } from '../../../src/plugins/registry.ts';
import { eq, plan } from '../../../src/os/windows/plan-language.ts';
import { NoAnswerError, REQUEST_VAR, powershellArgs, powershellPath, runPlan, scriptPath } from '../../../src/os/windows/powershell.ts';
import { PWSH } from './hns-standin/build.ts';
import { cniBin, tempDir, writeScript } from '../../helpers/tmp.ts';

// The runner: against small fake "powershell" executables for what PowerShell
// itself cannot be made to do, and with real pwsh running the shipped script.

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

  it('says which PowerShell could not be started and how to choose another, in its own words', async () => {
    const err = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: '/nonexistent/pwsh' }, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect((err as CniError).msg).toBe(
      'cannot start PowerShell /nonexistent/pwsh: it does not exist; weft runs Windows PowerShell from %SystemRoot%\\System32\\WindowsPowerShell\\v1.0 unless WEFT_POWERSHELL names another',
    );
    const { exe } = fakeExe('echo');
    fs.chmodSync(exe, 0o644);
    const denied = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: exe }, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect((denied as CniError).msg).toBe(`cannot start PowerShell ${exe}: it is not an executable this user may run; weft runs Windows PowerShell from %SystemRoot%\\System32\\WindowsPowerShell\\v1.0 unless WEFT_POWERSHELL names another`);
    expect((denied as CniError).msg).not.toMatch(/spawn|EACCES|ENOENT/);
  });

  it('tells a PowerShell that gave no answer (HNS may have acted) from one that never started', async () => {
    const { exe } = fakeExe('kill -9 $$');
    const died = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: exe }, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(died).toBeInstanceOf(NoAnswerError);
    expect((died as CniError).msg).toContain('gave no answer (signal SIGKILL)');
    const hung = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: fakeExe('sleep 5').exe }, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(NoAnswerError);
    const absent = await runPlan(onePlan, { env: { PATH: process.env.PATH, WEFT_POWERSHELL: '/nonexistent/pwsh' }, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(absent).not.toBeInstanceOf(NoAnswerError);
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

describe('weft-hns.ps1 loading its native half, in real PowerShell', () => {
  // A node's install: the shipped files in one folder, with or without the assembly weft-hns-compile.ps1 writes.
  function install(withAssembly: boolean, edit?: (cs: string) => string): string {
    const dir = tempDir('weft-install-');
    for (const f of fs.readdirSync(cniBin).filter((f) => f.startsWith('weft-hns'))) {
      if (withAssembly || !f.endsWith('.dll')) fs.copyFileSync(path.join(cniBin, f), path.join(dir, f));
    }
    if (edit) fs.writeFileSync(path.join(dir, 'weft-hns.cs'), edit(fs.readFileSync(path.join(dir, 'weft-hns.cs'), 'utf8')));
    setSelf(path.join(dir, 'weft.exe'), loadPlugin);
    return dir;
  }
  const run = () => runPlan(onePlan, { env: { PATH: process.env.PATH, HOME: process.env.HOME, WEFT_POWERSHELL: PWSH }, timeoutMs: 60_000 });

  it('loads the assembly compiled at install when its hash matches weft-hns.cs', async () => {
    expect(fs.readdirSync(cniBin).filter((f) => /^weft-hns-[0-9a-f]{16}\.dll$/.test(f))).toHaveLength(1);
    const out = await run();
    expect(out).toMatchObject({ ok: true, native: 'precompiled', outputs: { t: true } });
  });

  it('compiles weft-hns.cs itself when the assembly is missing', async () => {
    install(false);
    expect(await run()).toMatchObject({ ok: true, native: 'compiled', outputs: { t: true } });
  });

  it('compiles weft-hns.cs itself when the assembly is damaged', async () => {
    const dir = install(true);
    const dll = fs.readdirSync(dir).find((f) => f.endsWith('.dll'))!;
    fs.writeFileSync(path.join(dir, dll), 'not an assembly');
    expect(await run()).toMatchObject({ ok: true, native: 'compiled' });
  });

  it('ignores an assembly of another weft-hns.cs, and compiles one the compiler warns about', async () => {
    // CS0168 (a variable declared and never used) fails Add-Type unless warnings are ignored.
    install(true, (cs) => cs.replace('public static HnsCallResult DeleteEndpoint(string id)\n        {', 'public static HnsCallResult DeleteEndpoint(string id)\n        {\n            int unused;'));
    expect(await run()).toMatchObject({ ok: true, native: 'compiled' });
  });
});
