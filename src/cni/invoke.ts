import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from './errors.ts';
import { errnoText } from './oserror.ts';
import { isPlainObject, marshal, parseJson } from './json.ts';
import { intRefusal, numberRefusalMessage, writtenNumber } from './json-numbers.ts';
import { boundKey, fieldCI } from './keys.ts';
import { createResult } from './result/parse.ts';
import type { AnyResult } from './result/types.ts';
import { decodeVersion } from './version.ts';

// Finding and running a plugin binary the way libcni's pkg/invoke does, with
// its error texts, so weft and Go runtimes report failures alike.

const isWindows = process.platform === 'win32';
const EXTENSIONS = isWindows ? ['.exe', ''] : [''];

/** filepath.SplitList of CNI_PATH. */
export const splitPathList = (list: string | undefined): string[] =>
  list ? list.split(isWindows ? ';' : ':').filter((p) => p !== '') : [];

/** invoke.FindInPath. */
export function findInPath(plugin: string, paths: readonly string[]): string {
  if (plugin === '') throw new CniError(ErrorCode.Internal, 'no plugin name provided');
  if (plugin.includes(isWindows ? '\\' : '/')) throw new CniError(ErrorCode.Internal, `invalid plugin name: ${plugin}`);
  if (paths.length === 0) throw new CniError(ErrorCode.Internal, 'no paths provided');
  for (const dir of paths) {
    for (const ext of EXTENSIONS) {
      const candidate = path.join(dir, plugin + ext);
      try {
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here; keep looking
      }
    }
  }
  throw new CniError(ErrorCode.Internal, `failed to find plugin ${JSON.stringify(plugin)} in path [${paths.join(' ')}]`);
}

export interface ExecOutput {
  stdout: Buffer;
  stderr: Buffer;
}

const TEXT_FILE_BUSY_RETRIES = 5;

function runOnce(file: string, stdin: Buffer, env: NodeJS.ProcessEnv): Promise<ExecOutput & { status: string | null }> {
  // Loaded on first use: a plugin that runs its delegates in process never pays for it.
  // (getBuiltinModule, not import(): a standalone executable has no dynamic import.)
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.stdin.on('error', () => {
      // The plugin may exit without reading stdin; its exit status tells the story.
    });
    child.on('close', (code, signal) => {
      const status = code === 0 ? null : signal ? `signal: ${signalName(signal)}` : `exit status ${code}`;
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), status });
    });
    child.stdin.end(stdin);
  });
}

/** Go's signal names in exec errors: "signal: killed", "signal: terminated". */
function signalName(signal: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: 'killed',
    SIGTERM: 'terminated',
    SIGSEGV: 'segmentation fault',
    SIGABRT: 'aborted',
    SIGINT: 'interrupt',
  };
  return names[signal] ?? signal;
}

/** The error object of a failed plugin, as libcni's RawExec.pluginErr builds it. */
export function pluginError(status: string, stdout: Buffer, stderr: Buffer): CniError {
  if (stdout.length === 0) {
    if (stderr.length === 0) return new CniError(ErrorCode.Unknown, `netplugin failed with no error message: ${status}`);
    return new CniError(ErrorCode.Unknown, `netplugin failed: ${JSON.stringify(stderr.toString())}: ${status}`);
  }
  let doc: unknown;
  try {
    doc = parseJson(stdout);
  } catch (e) {
    return new CniError(
      ErrorCode.Unknown,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout.toString())}: ${(e as Error).message}`,
    );
  }
  const o = isPlainObject(doc) ? doc : {};
  const code = fieldCI(o, 'code');
  // types.Error's code is a uint: Go refuses -1, 1.0 or 1e400 there (weft, also what it cannot hold exactly).
  const codeText = typeof code === 'number' ? writtenNumber(o, boundKey(o, 'code')!, code) : '';
  if (typeof code === 'number' && (intRefusal(codeText, code) || code < 0)) {
    const why = numberRefusalMessage(codeText, 'Go struct field Error.code', 'uint');
    return new CniError(ErrorCode.Unknown, `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout.toString())}: ${why}`);
  }
  const msg = fieldCI(o, 'msg');
  const details = fieldCI(o, 'details');
  return new CniError(
    typeof code === 'number' ? code : ErrorCode.Unknown,
    typeof msg === 'string' ? msg : '',
    typeof details === 'string' ? details : '',
  );
}

/** RawExec.ExecPlugin: run `file` with `stdin`; a successful plugin's stderr is passed on. */
export async function execPlugin(
  file: string,
  stdin: Buffer,
  env: NodeJS.ProcessEnv,
  forwardStderr: (text: string) => void,
): Promise<Buffer> {
  for (let attempt = 0; ; attempt++) {
    let run: Awaited<ReturnType<typeof runOnce>>;
    try {
      run = await runOnce(file, stdin, env);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ETXTBSY' && attempt < TEXT_FILE_BUSY_RETRIES) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      throw new CniError(ErrorCode.Internal, `fork/exec ${file}: ${errnoText(err)}`);
    }
    // A failed plugin's stderr is part of its error already (libcni forwards only on success).
    if (run.status !== null) throw pluginError(run.status, run.stdout, run.stderr);
    if (run.stderr.length > 0) forwardStderr(run.stderr.toString());
    return run.stdout;
  }
}

/**
 * What a runtime makes of an ADD's stdout (fixupResultVersion + create.Create):
 * a result without cniVersion is taken to be in the config's version.
 */
export function resultFromStdout(netconf: Buffer, stdout: Buffer): AnyResult {
  const confVersion = decodeVersion(netconf);
  let raw: unknown;
  try {
    raw = parseJson(stdout);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to unmarshal raw result: ${(e as Error).message}`);
  }
  if (raw !== null && !isPlainObject(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, 'failed to unmarshal raw result: json: cannot unmarshal into map');
  }
  const obj = raw ?? {};
  let version = typeof obj.cniVersion === 'string' && obj.cniVersion !== '' ? obj.cniVersion : '';
  if (version === '') {
    version = confVersion;
    obj.cniVersion = confVersion;
  }
  try {
    return createResult(version, obj);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, (e as Error).message);
  }
}

/** Serialise a config document for a plugin's stdin. */
export const confBytes = (conf: unknown): Buffer =>
  Buffer.isBuffer(conf) ? conf : Buffer.from(typeof conf === 'string' ? conf : marshal(conf));
