import fs from 'node:fs';
import { enterChain } from './chain.ts';
import type { Env } from './env.ts';
import { CniError, ErrorCode, asCniError, isJavaScriptFault } from './errors.ts';
import { goJsonTypeName, isPlainObject, marshalIndent, parseJson } from './json.ts';
import { fieldCI } from './keys.ts';
import { configureLog, log, setLogComponent } from './log.ts';
import { fsErrorMessage } from './oserror.ts';
import { step } from './profile.ts';
import { validateContainerId, validateInterfaceName, validateNetworkName } from './names.ts';
import { decodeVersion, encodeVersionInfo, incompatibleVersionError, versionAtLeast } from './version.ts';

// The protocol frame every plugin runs in: the same steps, order and messages
// as Go's pkg/skel, but as a pure function of (environment, stdin) so that a
// plugin can be run in process by another plugin exactly as if exec'd.

export interface CmdArgs {
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  netnsOverride: string;
  stdinData: Buffer;
  /** The whole environment of this invocation; delegates inherit it. */
  env: Env;
}

/** A verb returns the text for stdout (ADD: the result) or nothing. */
export type Verb = (args: CmdArgs) => Promise<string | void> | string | void;

export interface Plugin {
  /** The type name the plugin answers to. */
  readonly type: string;
  readonly about: string;
  readonly versions: readonly string[];
  readonly add?: Verb;
  readonly check?: Verb;
  readonly del?: Verb;
  readonly gc?: Verb;
  readonly status?: Verb;
}

export interface Invocation {
  env: Env;
  /** Called at most once, and never for VERSION. */
  readStdin: () => Buffer | Promise<Buffer>;
  stderr: (text: string) => void;
}

export interface Outcome {
  stdout: string;
  exitCode: 0 | 1;
}

type Command = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS';

type Requirement = Partial<Record<Command, boolean>>;

interface VarSpec {
  name: string;
  key: keyof Omit<CmdArgs, 'stdinData' | 'env'> | 'command';
  required: Requirement;
  validate?: (v: string) => CniError | undefined;
}

// Scan order and per-command requirements of skel's reqForCmd table.
const VARS: VarSpec[] = [
  { name: 'CNI_COMMAND', key: 'command', required: { ADD: true, CHECK: true, DEL: true, GC: true, STATUS: true } },
  { name: 'CNI_CONTAINERID', key: 'containerId', required: { ADD: true, CHECK: true, DEL: true }, validate: validateContainerId },
  { name: 'CNI_NETNS', key: 'netns', required: { ADD: true, CHECK: true } },
  { name: 'CNI_IFNAME', key: 'ifName', required: { ADD: true, CHECK: true, DEL: true }, validate: validateInterfaceName },
  { name: 'CNI_ARGS', key: 'args', required: {} },
  { name: 'CNI_PATH', key: 'path', required: { ADD: true, CHECK: true, DEL: true, GC: true, STATUS: true } },
  { name: 'CNI_NETNS_OVERRIDE', key: 'netnsOverride', required: {} },
];

interface ParsedEnv {
  command: string;
  values: Record<string, string>;
}

function readEnv(env: Env): ParsedEnv {
  const command = env.CNI_COMMAND ?? '';
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const v of VARS) {
    const value = env[v.name] ?? '';
    values[v.key] = value;
    const required = v.name === 'CNI_COMMAND' || v.required[command as Command] === true;
    if (value === '') {
      if (required) missing.push(v.name);
    } else if (required && v.validate) {
      const err = v.validate(value);
      if (err) throw err;
    }
  }
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, `required env variables [${missing.join(',')}] missing`);
  }
  return { command, values };
}

/** skel's validateConfig: JSON, then a valid `name`. */
function validateConfig(stdin: Buffer): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseJson(stdin);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
  }
  if (doc !== null && !isPlainObject(doc)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: json: cannot unmarshal ${goJsonTypeName(doc)} into Go value of type struct { Name string "json:\\"name\\"" }`,
    );
  }
  const obj = doc ?? {};
  const name = fieldCI(obj, 'name');
  if (name !== undefined && name !== null && typeof name !== 'string') {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: json: cannot unmarshal ${goJsonTypeName(name)} into Go struct field .name of type string`,
    );
  }
  if (!name) throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  const nameErr = validateNetworkName(name);
  if (nameErr) throw nameErr;
  return obj;
}

function configVersion(stdin: Buffer): string {
  return decodeVersion(stdin);
}

/** The version gate of CHECK, GC and STATUS. */
function gate(command: Command, stdin: Buffer, supported: readonly string[], min: string): void {
  const confVersion = configVersion(stdin);
  const atLeast = (a: string, b: string) => {
    try {
      return versionAtLeast(a, b);
    } catch (e) {
      throw new CniError(ErrorCode.DecodingFailure, (e as Error).message);
    }
  };
  if (!atLeast(confVersion, min)) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, `config version does not allow ${command}`);
  }
  if (!supported.some((pv) => atLeast(pv, confVersion))) {
    throw new CniError(ErrorCode.IncompatibleCNIVersion, `plugin version does not allow ${command}`);
  }
}

async function checkVersionAndCall(plugin: Plugin, verb: Verb | undefined, args: CmdArgs, guard?: (args: CmdArgs) => void): Promise<string> {
  const incompatible = incompatibleVersionError(configVersion(args.stdinData), plugin.versions);
  if (incompatible) throw incompatible;
  guard?.(args);
  if (!verb) return '';
  return (await verb(args)) ?? '';
}

/** ns.CheckNetNS: is CNI_NETNS the namespace this process is in? */
function isOwnNetns(netns: string): boolean {
  if (process.platform !== 'linux' || netns === '') return false;
  try {
    const theirs = fs.statSync(netns);
    const ours = fs.statSync('/proc/self/ns/net');
    return theirs.dev === ours.dev && theirs.ino === ours.ino;
  } catch {
    return false;
  }
}

/**
 * ADD and DEL refuse to work on the plugin's own namespace. Go's skel checks
 * after the verb has run, so an ADD there has leased and configured already
 * and prints its result in front of the error; weft checks before any work.
 */
function netnsGuard(args: CmdArgs): void {
  const override = args.netnsOverride;
  if (override.toUpperCase() === 'TRUE' || override === '1') return;
  if (isOwnNetns(args.netns)) {
    throw new CniError(ErrorCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}

const errorText = (err: CniError): string => marshalIndent(err.toJSON());

/** Run one plugin invocation from start to finish; never throws. */
export function runPlugin(plugin: Plugin, inv: Invocation): Promise<Outcome> {
  return step(`${plugin.type} ${inv.env.CNI_COMMAND ?? ''}`, () => runFrame(plugin, inv));
}

async function runFrame(plugin: Plugin, inv: Invocation): Promise<Outcome> {
  const outerComponent = setLogComponent(plugin.type);
  configureLog({ env: inv.env.WEFT_LOG_FILE, envLevel: inv.env.WEFT_LOG_LEVEL });
  try {
    let parsed: ParsedEnv;
    try {
      parsed = readEnv(inv.env);
    } catch (e) {
      const err = asCniError(e);
      if (err.code === ErrorCode.InvalidEnvironmentVariables && !inv.env.CNI_COMMAND && plugin.about) {
        inv.stderr(`${plugin.about}\nCNI protocol versions supported: ${plugin.versions.join(', ')}\n`);
        return { stdout: '', exitCode: 0 };
      }
      throw err;
    }
    const { command, values } = parsed;
    if (command === 'VERSION') return { stdout: encodeVersionInfo(plugin.versions), exitCode: 0 };

    let stdinData: Buffer;
    try {
      stdinData = await inv.readStdin();
    } catch (e) {
      throw new CniError(ErrorCode.IOFailure, `error reading from stdin: ${fsErrorMessage(e)}`);
    }
    const conf = step('parse stdin', () => validateConfig(stdinData));
    configureLog({ file: fieldCI(conf, 'logFile'), level: fieldCI(conf, 'logLevel') });

    const args: CmdArgs = {
      containerId: values.containerId!,
      netns: values.netns!,
      ifName: values.ifName!,
      args: values.args!,
      path: values.path!,
      netnsOverride: values.netnsOverride!,
      stdinData,
      // Delegates learn that this type is running (a plugin delegating to itself is refused).
      env: enterChain(inv.env, plugin.type),
    };
    log.debug(`${command} start`, { containerId: args.containerId, ifName: args.ifName, netns: args.netns });

    let printed: string;
    switch (command) {
      case 'ADD':
        printed = await checkVersionAndCall(plugin, plugin.add, args, netnsGuard);
        break;
      case 'DEL':
        printed = await checkVersionAndCall(plugin, plugin.del, args, netnsGuard);
        break;
      case 'CHECK':
        gate('CHECK', stdinData, plugin.versions, '0.4.0');
        printed = await checkVersionAndCall(plugin, plugin.check, args);
        break;
      case 'GC':
        gate('GC', stdinData, plugin.versions, '1.1.0');
        printed = await checkVersionAndCall(plugin, plugin.gc, args);
        break;
      case 'STATUS':
        gate('STATUS', stdinData, plugin.versions, '1.1.0');
        printed = await checkVersionAndCall(plugin, plugin.status, args);
        break;
      default:
        throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
    }
    log.debug(`${command} done`);
    return { stdout: printed, exitCode: 0 };
  } catch (e) {
    let err = asCniError(e);
    if (isJavaScriptFault(e)) {
      // The runtime gets one clean error; what went wrong, for whoever reports the bug, goes to stderr.
      inv.stderr(`weft ${plugin.type}: internal error: ${e.stack ?? e.message}\n`);
      err = new CniError(ErrorCode.Internal, `internal error in weft's ${plugin.type} plugin; the details are on its standard error`);
    }
    log.error('failed', { code: err.code, msg: err.msg, details: err.details || undefined });
    // stdout holds one document: a runtime cannot parse a result followed by an error.
    return { stdout: errorText(err), exitCode: 1 };
  } finally {
    setLogComponent(outerComponent);
  }
}
