// JSON the way Go's encoding/json writes and rejects it, so that output bytes
// and error messages match what runtimes and operators already know.

/** Go escapes these inside strings (HTML safety); JSON.stringify does not. */
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

const INTEGER_KEY = /^(0|[1-9][0-9]*)$/;

/**
 * JSON text of `value` with Go's key order: objects keep their own key order
 * (struct fields, or a map already sorted with sortKeys) except those with
 * integer-like keys, which JavaScript always lists first and numerically; such
 * objects can only be Go maps, so they are written sorted by bytes as Go does.
 */
function stringify(value: unknown, indent: string, depth: number): string | undefined {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' || value === undefined ? undefined : JSON.stringify(value);
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return stringify((value as { toJSON(): unknown }).toJSON(), indent, depth);
  }
  const pad = indent ? `\n${indent.repeat(depth + 1)}` : '';
  const close = indent ? `\n${indent.repeat(depth)}` : '';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v) => stringify(v, indent, depth + 1) ?? 'null');
    return `[${pad}${items.join(`,${pad}`)}${close}]`;
  }
  let keys = Object.keys(value);
  if (keys.some((k) => INTEGER_KEY.test(k))) keys = keys.sort(compareGoStrings);
  const members: string[] = [];
  for (const k of keys) {
    const v = stringify((value as Record<string, unknown>)[k], indent, depth + 1);
    if (v !== undefined) members.push(`${JSON.stringify(k)}:${indent ? ' ' : ''}${v}`);
  }
  if (members.length === 0) return '{}';
  return `{${pad}${members.join(`,${pad}`)}${close}}`;
}

/** json.MarshalIndent(v, "", "    "): 4 spaces, no trailing newline. */
export function marshalIndent(value: unknown): string {
  return goEscape(stringify(value, '    ', 0) ?? 'null');
}

/** json.Marshal(v): compact. */
export function marshal(value: unknown): string {
  return goEscape(stringify(value, '', 0) ?? 'null');
}

/** Set an own enumerable property, even one named "__proto__". */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Recursively sort object keys, as Go does when it marshals a map. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort(compareGoStrings)) {
      setOwn(out, k, sortKeys((value as Record<string, unknown>)[k]));
    }
    return out;
  }
  return value;
}

/** Go sorts map keys by bytes (UTF-8), which differs from UTF-16 order only outside the BMP. */
function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class JsonSyntaxError extends Error {}

/**
 * JSON.parse with Go's error text ("unexpected end of JSON input",
 * "invalid character 'x' looking for beginning of value", ...).
 */
export function parseJson(text: string | Buffer): unknown {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  try {
    return JSON.parse(s);
  } catch {
    throw new JsonSyntaxError(goSyntaxError(s));
  }
}

/** Go's quoteChar: the offending character as it appears in error messages. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const q = JSON.stringify(c).slice(1, -1);
  return `'${q}'`;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

class Fail {
  constructor(readonly message: string) {}
}

/**
 * A small re-implementation of Go's JSON scanner, used only after JSON.parse
 * has failed, to describe the first error the way Go would.
 */
export function goSyntaxError(s: string): string {
  let i = 0;
  const eof = () => new Fail('unexpected end of JSON input');
  const bad = (c: string, ctx: string) => new Fail(`invalid character ${quoteChar(c)} ${ctx}`);
  const ws = () => {
    while (i < s.length && isSpace(s[i]!)) i++;
  };

  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      if (i + k >= s.length) throw eof();
      const c = s[i + k]!;
      if (c !== word[k]) throw bad(c, `in literal ${word} (expecting ${quoteChar(word[k]!)})`);
    }
    i += word.length;
  };

  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= s.length) throw eof();
      const c = s[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        if (i >= s.length) throw eof();
        const e = s[i]!;
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= s.length) throw eof();
            const h = s[i + k]!;
            if (!isHex(h)) throw bad(h, 'in \\u hexadecimal character escape');
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) throw bad(e, 'in string escape code');
        i++;
        continue;
      }
      if (c < ' ') throw bad(c, 'in string literal');
      i++;
    }
  };

  const num = () => {
    if (s[i] === '-') {
      i++;
      if (i >= s.length) throw eof();
      if (!isDigit(s[i]!)) throw bad(s[i]!, 'in numeric literal');
    }
    if (s[i] === '0') i++;
    else while (i < s.length && isDigit(s[i]!)) i++;
    if (s[i] === '.') {
      i++;
      if (i >= s.length) throw eof();
      if (!isDigit(s[i]!)) throw bad(s[i]!, 'after decimal point in numeric literal');
      while (i < s.length && isDigit(s[i]!)) i++;
    }
    if (s[i] === 'e' || s[i] === 'E') {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
      if (i >= s.length) throw eof();
      if (!isDigit(s[i]!)) throw bad(s[i]!, 'in exponent of numeric literal');
      while (i < s.length && isDigit(s[i]!)) i++;
    }
  };

  const value = (): void => {
    ws();
    if (i >= s.length) throw eof();
    const c = s[i]!;
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return str();
    if (c === '-' || isDigit(c)) return num();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    throw bad(c, 'looking for beginning of value');
  };

  const object = () => {
    i++;
    ws();
    if (i >= s.length) throw eof();
    if (s[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (i >= s.length) throw eof();
      if (s[i] !== '"') throw bad(s[i]!, 'looking for beginning of object key string');
      str();
      ws();
      if (i >= s.length) throw eof();
      if (s[i] !== ':') throw bad(s[i]!, 'after object key');
      i++;
      value();
      ws();
      if (i >= s.length) throw eof();
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === '}') {
        i++;
        return;
      }
      throw bad(s[i]!, 'after object key:value pair');
    }
  };

  const array = () => {
    i++;
    ws();
    if (i >= s.length) throw eof();
    if (s[i] === ']') {
      i++;
      return;
    }
    for (;;) {
      value();
      ws();
      if (i >= s.length) throw eof();
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === ']') {
        i++;
        return;
      }
      throw bad(s[i]!, 'after array element');
    }
  };

  try {
    value();
    ws();
    if (i < s.length) throw bad(s[i]!, 'after top-level value');
  } catch (e) {
    if (e instanceof Fail) return e.message;
    throw e;
  }
  // JSON.parse refused something the Go scanner accepts (should not happen).
  return 'invalid JSON input';
}

/** The JSON type name Go uses in "cannot unmarshal X into ..." messages. */
export function goJsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    case 'object':
      return 'object';
    default:
      return typeof v;
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
