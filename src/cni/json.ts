import { keepNumberText, recordNumberTexts } from './json-numbers.ts';

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

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';

/** What JSON.stringify would write for `v`: its toJSON() if it has one. */
function jsonValue(v: unknown): unknown {
  while (isContainer(v) && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  return v;
}

const omitted = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/** A container being written: its members in order, how many are done, and whether one was written. */
interface Open {
  items: unknown[];
  /** Object keys, parallel to items; undefined for an array. */
  keys: string[] | undefined;
  next: number;
  depth: number;
  wrote: boolean;
}

/**
 * JSON text of `value` with Go's key order: objects keep their own key order
 * (struct fields, or a map already sorted with sortKeys) except those with
 * integer-like keys, which JavaScript always lists first and numerically; such
 * objects can only be Go maps, so they are written sorted by bytes as Go does.
 * Containers are walked with a stack of their own: documents may nest as deep
 * as Go's decoder allows (ten thousand), beyond what recursion could take.
 */
function stringify(value: unknown, indent: string): string | undefined {
  const root = jsonValue(value);
  if (omitted(root)) return undefined;
  const out: string[] = [];
  const stack: Open[] = [];
  const pad = (depth: number) => (indent ? `\n${indent.repeat(depth)}` : '');
  const start = (v: unknown, depth: number) => {
    if (!isContainer(v)) {
      out.push(JSON.stringify(v));
    } else if (Array.isArray(v)) {
      stack.push({ items: v, keys: undefined, next: 0, depth, wrote: false });
    } else {
      let keys = Object.keys(v);
      if (keys.some((k) => INTEGER_KEY.test(k))) keys = keys.sort(compareGoStrings);
      stack.push({ items: keys.map((k) => (v as Record<string, unknown>)[k]), keys, next: 0, depth, wrote: false });
    }
  };
  start(root, 0);
  while (stack.length > 0) {
    const open = stack[stack.length - 1]!;
    const [opening, closing] = open.keys ? ['{', '}'] : ['[', ']'];
    let member: unknown;
    let found = false;
    while (!found && open.next < open.items.length) {
      const i = open.next++;
      member = jsonValue(open.items[i]);
      // An array keeps the place of what JSON cannot hold; an object leaves the member out.
      if (omitted(member) && !open.keys) member = null;
      found = !omitted(member);
      if (found && open.keys) out.push(`${open.wrote ? ',' : opening}${pad(open.depth + 1)}${JSON.stringify(open.keys[i])}:${indent ? ' ' : ''}`);
      else if (found) out.push(`${open.wrote ? ',' : opening}${pad(open.depth + 1)}`);
    }
    if (!found) {
      stack.pop();
      out.push(open.wrote ? `${pad(open.depth)}${closing}` : `${opening}${closing}`);
      continue;
    }
    open.wrote = true;
    start(member, open.depth + 1);
  }
  return out.join('');
}

/** json.MarshalIndent(v, "", "    "): 4 spaces, no trailing newline. */
export function marshalIndent(value: unknown): string {
  return goEscape(stringify(value, '    ') ?? 'null');
}

/** json.Marshal(v): compact. */
export function marshal(value: unknown): string {
  return goEscape(stringify(value, '') ?? 'null');
}

/** Set an own enumerable property, even one named "__proto__". */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy with object keys sorted at every level, as Go orders a map it marshals (iterative: any depth). */
export const sortKeys = (value: unknown): unknown => copyJson(value, true);

/** A deep copy of a JSON value, keys in their order; unlike structuredClone, at any depth. */
export const cloneJson = <T>(value: T): T => copyJson(value, false) as T;

function copyJson(value: unknown, sorted: boolean): unknown {
  const shell = (v: unknown): unknown => (Array.isArray(v) ? [] : isContainer(v) ? {} : v);
  const root = shell(value);
  const todo: Array<[source: object, copy: unknown]> = isContainer(value) ? [[value, root]] : [];
  while (todo.length > 0) {
    const [source, copy] = todo.pop()!;
    const keys = Array.isArray(source) ? source.map((_, i) => String(i)) : sorted ? Object.keys(source).sort(compareGoStrings) : Object.keys(source);
    for (const k of keys) {
      const item = (source as Record<string, unknown>)[k];
      const itemCopy = shell(item);
      if (Array.isArray(copy)) copy.push(itemCopy);
      else setOwn(copy as Record<string, unknown>, k, itemCopy);
      keepNumberText(source, k, copy as object, k);
      if (isContainer(item)) todo.push([item, itemCopy]);
    }
  }
  return root;
}

/** Go sorts map keys by bytes (UTF-8), which differs from UTF-16 order only outside the BMP. */
function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class JsonSyntaxError extends Error {}

/** encoding/json's maxNestingDepth. */
const MAX_NESTING_DEPTH = 10_000;

/**
 * JSON.parse with Go's error text ("unexpected end of JSON input",
 * "invalid character 'x' looking for beginning of value", ...).
 */
export function parseJson(text: string | Buffer): unknown {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch {
    throw new JsonSyntaxError(goSyntaxError(goBytes(text)) ?? 'invalid JSON input');
  }
  // JSON.parse takes any depth; Go refuses beyond its limit, which a text this short cannot reach.
  const tooDeep = s.length > 2 * MAX_NESTING_DEPTH ? goSyntaxError(goBytes(text)) : undefined;
  if (tooDeep) throw new JsonSyntaxError(tooDeep);
  recordNumberTexts(s, value);
  return value;
}

/** The text as Go's scanner sees it: one character per byte (so a byte-order mark is three, 'ï' first). */
const goBytes = (text: string | Buffer): string => (typeof text === 'string' ? Buffer.from(text, 'utf8') : text).toString('latin1');

const GO_ESCAPED: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\' };

/**
 * Go's quoteChar: the offending byte as strconv.Quote writes the rune of
 * that value, so that nothing in a message is invisible: controls as \x01,
 * the C1 controls, no-break space and soft hyphen as \u0080, other Latin-1
 * letters as themselves.
 */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const code = c.charCodeAt(0);
  let q = GO_ESCAPED[c];
  if (q === undefined) {
    if (code < 0x20 || code === 0x7f) q = `\\x${code.toString(16).padStart(2, '0')}`;
    else if ((code >= 0x80 && code <= 0xa0) || code === 0xad) q = `\\u${code.toString(16).padStart(4, '0')}`;
    else q = c;
  }
  return `'${q}'`;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isHex = (c: string) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

class Fail {
  constructor(readonly message: string) {}
}


/**
 * A small re-implementation of Go's JSON scanner, used where JSON.parse has
 * failed (or may have taken more than Go would), to describe the first error
 * the way Go would; undefined when Go would take the text. Like Go's, it
 * reads bytes: pass the text as latin1 (one character per byte).
 */
export function goSyntaxError(s: string): string | undefined {
  let i = 0;
  const eof = () => new Fail('unexpected end of JSON input');
  const bad = (c: string, ctx: string) => new Fail(`invalid character ${quoteChar(c)} ${ctx}`);
  const ws = () => {
    while (i < s.length && isSpace(s[i]!)) i++;
  };

  // At the end of the input Go's scanner steps once more with a space, so a
  // token cut short there is an "invalid character ' '" inside it.
  const at = (j: number) => (j < s.length ? s[j]! : ' ');

  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      const c = at(i + k);
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
        const e = at(i);
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            const h = at(i + k);
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
      if (!isDigit(at(i))) throw bad(at(i), 'in numeric literal');
    }
    if (s[i] === '0') i++;
    else while (i < s.length && isDigit(s[i]!)) i++;
    if (s[i] === '.') {
      i++;
      if (!isDigit(at(i))) throw bad(at(i), 'after decimal point in numeric literal');
      while (i < s.length && isDigit(s[i]!)) i++;
    }
    if (s[i] === 'e' || s[i] === 'E') {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
      if (!isDigit(at(i))) throw bad(at(i), 'in exponent of numeric literal');
      while (i < s.length && isDigit(s[i]!)) i++;
    }
  };

  // A loop over what is expected next, with open containers on a stack of
  // its own: Go allows nesting ten thousand deep, more than recursion here
  // could take.
  const open: Array<'{' | '['> = [];
  let expect: 'value' | 'key' | 'next' = 'value';

  /** A value starts here: a scalar is scanned whole, a container is entered. */
  const scanValue = (): typeof expect => {
    ws();
    if (i >= s.length) throw eof();
    const c = s[i]!;
    if (c === '{' || c === '[') {
      open.push(c);
      if (open.length > MAX_NESTING_DEPTH) throw bad(c, 'exceeded max depth');
      i++;
      ws();
      if (i >= s.length) throw eof();
      if (s[i] !== (c === '{' ? '}' : ']')) return c === '{' ? 'key' : 'value';
      open.pop();
      i++;
    } else if (c === '"') str();
    else if (c === '-' || isDigit(c)) num();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else throw bad(c, 'looking for beginning of value');
    return 'next';
  };

  /** An object key and its colon; the member's value follows. */
  const scanKey = (): typeof expect => {
    ws();
    if (i >= s.length) throw eof();
    if (s[i] !== '"') throw bad(s[i]!, 'looking for beginning of object key string');
    str();
    ws();
    if (i >= s.length) throw eof();
    if (s[i] !== ':') throw bad(s[i]!, 'after object key');
    i++;
    return 'value';
  };

  /** After a complete value inside a container: a comma and the next member, or the close. */
  const scanNext = (): typeof expect => {
    const inObject = open[open.length - 1] === '{';
    ws();
    if (i >= s.length) throw eof();
    const c = s[i++]!;
    if (c === ',') return inObject ? 'key' : 'value';
    if (c !== (inObject ? '}' : ']')) throw bad(c, inObject ? 'after object key:value pair' : 'after array element');
    open.pop();
    return 'next';
  };

  try {
    do {
      expect = expect === 'value' ? scanValue() : expect === 'key' ? scanKey() : scanNext();
    } while (expect !== 'next' || open.length > 0);
    ws();
    if (i < s.length) throw bad(s[i]!, 'after top-level value');
  } catch (e) {
    if (e instanceof Fail) return e.message;
    throw e;
  }
  return undefined;
}

const GO_JSON_TYPES: Record<string, string> = { string: 'string', number: 'number', boolean: 'bool', object: 'object' };

/** The JSON type name Go uses in "cannot unmarshal X into ..." messages. */
export function goJsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return GO_JSON_TYPES[typeof v] ?? typeof v;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
