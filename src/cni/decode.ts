import type * as z from 'zod/mini';
import { CniError, ErrorCode } from './errors.ts';
import { goJsonTypeName, isPlainObject } from './json.ts';
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

/** Rename keys to their canonical spelling at every struct level the schema describes. */
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
    return value.map((v) => canonicalize(el, v));
  }
  if (d.type === 'record' && d.valueType && isPlainObject(value)) {
    const vt = d.valueType;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonicalize(vt, v)]));
  }
  return value;
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
  const result = (schema as unknown as { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: Issue[] } } }).safeParse(canon);
  if (result.success) return result.data as z.infer<S>;
  const issue = result.error!.issues[0]!;
  // zod reports a non-number for z.int() as "expected number"; Go names the field's type.
  if (issue.expected === 'number' && schemaAt(schema, issue.path) && defOf(schemaAt(schema, issue.path)!).format?.includes('int')) {
    issue.expected = 'int';
  }
  throw issueError(issue, canon, structName);
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
}

function issueError(issue: Issue, root: unknown, structName: string): CniError {
  const field = fieldPath(issue.path);
  if (issue.code === 'invalid_type' && issue.expected) {
    const got = valueAt(root, issue.path);
    if (got === undefined) {
      return new CniError(ErrorCode.InvalidNetworkConfig, `missing required field ${JSON.stringify(field)}`);
    }
    const goType = GO_TYPE[issue.expected] ?? issue.expected;
    const gotName = goJsonTypeName(got) + (issue.expected === 'int' && typeof got === 'number' ? ` ${got}` : '');
    const into = field ? `Go struct field ${structName}.${field}` : `Go value of type ${structName}`;
    return new CniError(ErrorCode.DecodingFailure, `json: cannot unmarshal ${gotName} into ${into} of type ${goType}`);
  }
  return new CniError(ErrorCode.InvalidNetworkConfig, field ? `${field}: ${issue.message}` : issue.message);
}
