import { CniError, ErrorCode } from './errors.ts';

// CNI_ARGS ("K=V;K2=V2"), read like Go's types.LoadArgs: keys are matched
// case-sensitively against the fields a plugin declares, unknown keys are an
// error unless IgnoreUnknown is true, and `=` may not appear in a value.

/** Parses one value; throws an Error whose message explains the problem. */
export type ArgParser<T> = (value: string) => T;

export type ArgFields = Record<string, ArgParser<unknown>>;

export type LoadedArgs<F extends ArgFields> = { [K in keyof F]?: ReturnType<F[K]> } & { IgnoreUnknown: boolean };

/** UnmarshallableBool: 1/true/0/false in any case. */
export function parseArgBool(value: string): boolean {
  const s = value.toLowerCase();
  if (s === '1' || s === 'true') return true;
  if (s === '0' || s === 'false') return false;
  throw new Error(`boolean unmarshal error: invalid input ${s}`);
}

export const parseArgString: ArgParser<string> = (value) => value;

const argsError = (msg: string) => new CniError(ErrorCode.InvalidEnvironmentVariables, msg);

export function loadArgs<F extends ArgFields>(args: string, fields: F): LoadedArgs<F> {
  const out = { IgnoreUnknown: false } as LoadedArgs<F>;
  if (args === '') return out;
  const unknown: string[] = [];
  for (const pair of args.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2) throw argsError(`ARGS: invalid pair ${JSON.stringify(pair)}`);
    const [key, value] = kv as [string, string];
    const parser: ArgParser<unknown> | undefined =
      key === 'IgnoreUnknown' ? parseArgBool : Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (!parser) {
      unknown.push(pair);
      continue;
    }
    try {
      (out as Record<string, unknown>)[key] = parser(value);
    } catch (e) {
      throw argsError(`ARGS: error parsing value of pair ${JSON.stringify(pair)}: ${(e as Error).message}`);
    }
  }
  if (unknown.length > 0 && !out.IgnoreUnknown) {
    throw argsError(`ARGS: unknown args [${unknown.map((u) => JSON.stringify(u)).join(' ')}]`);
  }
  return out;
}
