import type * as z from 'zod/mini';
import { CniError, ErrorCode } from './errors.ts';
import { goJsonTypeName, isPlainObject, setOwn } from './json.ts';
import { type IntRefusal, floatRefused, intRefusal, keepNumberText, numberRefusalMessage, overflowingNumber, writtenNumber } from './json-numbers.ts';
import { canonicalKeys } from './keys.ts';

// Decoding a config object through a zod schema with Go's rules: struct keys
// match case-insensitively (z.object / z.looseObject), map keys exactly
// (z.record), null leaves a field unset. Errors name the field.

type AnySchema = z.ZodMiniType;

interface Def {
  type: string;
  format?: string;
  shape?: Record<string, AnySchema>;
  innerType?: AnySchema;
  element?: AnySchema;
  valueType?: AnySchema;
  in?: AnySchema;
}

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Unwrap optional/default/nullable/pipe layers down to the schema that shapes the value. */
function core(s: AnySchema): AnySchema {
  let cur = s;
  for (;;) {
    const d = defOf(cur);
    if (d.innerType && ['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(d.type)) {
      cur = d.innerType;
    } else if (d.type === 'pipe' && d.in) {
      cur = d.in;
    } else {
      return cur;
    }
  }
}

/**
 * Rename keys to their canonical spelling at every struct level the schema
 * describes. The copies keep the written text of their numbers.
 */
export function canonicalize(schema: AnySchema, value: unknown): unknown {
  const s = core(schema);
  const d = defOf(s);
  if (d.type === 'object' && d.shape && isPlainObject(value)) {
    const shape = d.shape;
    const out = canonicalKeys(value, Object.keys(shape));
    for (const [k, fieldSchema] of Object.entries(shape)) {
      if (out[k] !== undefined) out[k] = canonicalize(fieldSchema, out[k]);
    }
    return out;
  }
  if (d.type === 'array' && d.element && Array.isArray(value)) {
    const el = d.element;
    const out = value.map((v) => canonicalize(el, v));
    value.forEach((_, i) => keepNumberText(value, i, out, i));
    return out;
  }
  if (d.type === 'record' && d.valueType && isPlainObject(value)) {
    const vt = d.valueType;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      setOwn(out, k, canonicalize(vt, v));
      keepNumberText(value, k, out, k);
    }
    return out;
  }
  return value;
}

/** What Go's decoder would refuse about a number: where, as written, and the field's Go type. */
export interface NumberIssue {
  path: PropertyKey[];
  text: string;
  goType: 'int' | 'float64';
  why: IntRefusal;
}

const isInt = (d: Def): boolean => d.type === 'number' && !!d.format?.includes('int');

/**
 * The first number in `value` (canonicalized) that Go's encoding/json would
 * refuse for the type the schema gives it: int fields take integers within
 * int64 written without fraction or exponent; float64 and interface{} fields
 * (z.unknown, at any depth) take any number a double can hold. Keys the
 * schema does not name are not Go fields: Go skips them, so does this.
 * `isGoField` narrows further to the fields the Go type really has. The
 * issue's path is the Go field's (a map's keys are not in it).
 */
export function numberIssue(
  schema: AnySchema,
  value: unknown,
  isGoField: (path: readonly PropertyKey[]) => boolean = () => true,
): NumberIssue | undefined {
  interface Item {
    schema: AnySchema;
    holder: Record<string | number, unknown>;
    key: string | number;
    path: PropertyKey[];
  }
  const todo: Item[] = [];
  const enter = (sch: AnySchema, v: unknown, path: PropertyKey[]): NumberIssue | undefined => {
    const d = defOf(core(sch));
    if (d.type === 'object' && d.shape && isPlainObject(v)) {
      for (const [k, fs] of Object.entries(d.shape)) if (v[k] !== undefined) todo.push({ schema: fs, holder: v, key: k, path: [...path, k] });
    } else if (d.type === 'array' && d.element && Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) todo.push({ schema: d.element, holder: v as unknown as Item['holder'], key: i, path: [...path, i] });
    } else if (d.type === 'record' && d.valueType && isPlainObject(v)) {
      for (const k of Object.keys(v)) todo.push({ schema: d.valueType, holder: v, key: k, path });
    } else if ((d.type === 'unknown' || d.type === 'any') && v !== null && typeof v === 'object') {
      const text = overflowingNumber(v);
      if (text !== undefined) return { path, text, goType: 'float64', why: 'go' };
    }
    return undefined;
  };
  let issue = enter(schema, value, []);
  for (let next = 0; !issue && next < todo.length; next++) {
    const { schema: sch, holder, key, path } = todo[next]!;
    if (!isGoField(path)) continue;
    const v = holder[key];
    if (typeof v !== 'number') {
      issue = enter(sch, v, path);
      continue;
    }
    const d = defOf(core(sch));
    const text = writtenNumber(holder, key, v);
    const why = isInt(d) ? intRefusal(text, v) : ['number', 'unknown', 'any'].includes(d.type) && floatRefused(v) ? 'go' : undefined;
    if (why) issue = { path, text, goType: isInt(d) ? 'int' : 'float64', why };
  }
  return issue;
}

const GO_TYPE: Record<string, string> = {
  string: 'string',
  boolean: 'bool',
  number: 'float64',
  int: 'int',
  array: '[]interface {}',
  object: 'struct',
  record: 'map[string]interface {}',
};

/** The schema describing the value at `path`, if the schema reaches that far. */
function schemaAt(schema: AnySchema, path: readonly PropertyKey[]): AnySchema | undefined {
  let cur: AnySchema | undefined = schema;
  for (const p of path) {
    if (!cur) return undefined;
    const d = defOf(core(cur));
    cur = typeof p === 'number' ? d.element : d.shape?.[p as string] ?? d.valueType;
  }
  return cur && core(cur);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

const fieldPath = (path: readonly PropertyKey[]): string =>
  path.filter((p) => typeof p === 'string').join('.');

/**
 * Parse `value` with `schema`; on failure a CniError (code 6 for a type
 * mismatch, 7 for a rule violation) whose message names the field.
 */
export function decodeConfig<S extends AnySchema>(schema: S, value: unknown, structName: string): z.infer<S> {
  const canon = canonicalize(schema, value);
  const into = (path: readonly PropertyKey[]) => {
    const field = fieldPath(path);
    return field ? `Go struct field ${structName}.${field}` : `Go value of type ${structName}`;
  };
  const num = numberIssue(schema, canon);
  if (num) throw new CniError(ErrorCode.DecodingFailure, numberRefusalMessage(num.text, into(num.path), num.goType, num.why));
  const result = (schema as unknown as { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: Issue[] } } }).safeParse(canon);
  if (result.success) return result.data as z.infer<S>;
  const issue = result.error!.issues[0]!;
  // zod reports a non-number for z.int() as "expected number"; Go names the field's type.
  if (issue.expected === 'number' && schemaAt(schema, issue.path) && isInt(defOf(schemaAt(schema, issue.path)!))) {
    issue.expected = 'int';
  }
  throw issueError(issue, canon, into(issue.path));
}

interface Issue {
  code: string;
  path: PropertyKey[];
  expected?: string;
}

/** A zod issue in Go's words; zod's own message is never shown. */
function issueError(issue: Issue, root: unknown, into: string): CniError {
  const got = valueAt(root, issue.path);
  if (issue.code === 'invalid_type' && issue.expected) {
    if (got === undefined) {
      return new CniError(ErrorCode.InvalidNetworkConfig, `missing required field ${JSON.stringify(fieldPath(issue.path))}`);
    }
    // A whole document of the wrong kind names only the Go type it was meant for.
    const ofType = issue.path.length === 0 ? '' : ` of type ${GO_TYPE[issue.expected] ?? issue.expected}`;
    return new CniError(ErrorCode.DecodingFailure, `json: cannot unmarshal ${goJsonTypeName(got)} into ${into}${ofType}`);
  }
  // The schemas check types only (numbers are checked above): nothing should get here.
  return new CniError(ErrorCode.InvalidNetworkConfig, `json: cannot unmarshal ${goJsonTypeName(got)} into ${into}`);
}
