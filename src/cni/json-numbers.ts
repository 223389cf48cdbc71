// JSON numbers the way Go's encoding/json decodes them. JSON.parse turns
// every number into a double and forgets how it was written, but Go decides
// by the text and the field's type: an int field refuses 1.0, 1e2 and
// anything past int64, a float64 (or interface{}) field refuses 1e400, and
// the message quotes the number as written. So the parser records, for the
// few numbers whose text reads back differently (1.0, 1e2, 1e400, -0,
// 9007199254740993), that text beside the container holding them, and the
// copies weft makes of a document carry it along.

const texts = new WeakMap<object, Map<string, string>>();

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';

/** The number at `container[key]` as the document wrote it, when that differs from how JavaScript writes it. */
export function numberText(container: object, key: string | number): string | undefined {
  return texts.get(container)?.get(String(key));
}

function setText(container: object, key: string | number, text: string): void {
  let m = texts.get(container);
  if (!m) texts.set(container, (m = new Map()));
  m.set(String(key), text);
}

/** Carry the written text of `from[fromKey]`, if any, to a copy at `to[toKey]`. */
export function keepNumberText(from: object, fromKey: string | number, to: object, toKey: string | number): void {
  const t = texts.get(from)?.get(String(fromKey));
  if (t !== undefined) setText(to, toKey, t);
}

/** The text of the number `container[key]`: as written, or as JavaScript writes it. */
export const writtenNumber = (container: object, key: string | number, value: number): string =>
  numberText(container, key) ?? String(value);

// A number token that may read back differently: a fraction, an exponent, -0
// or sixteen digits and more. Cheap to test; a false hit (inside a string)
// only costs the scan below.
const MAYBE_ODD_NUMBER = /[:,[][ \t\r\n]*(?:-?\d+[.eE]|-?\d{16}|-0)/;

const NUMBER_CHAR = /[-+.eE0-9]/;

/** A container being scanned: the value JSON.parse made of it, and where in it the scan is. */
interface Open {
  value: unknown;
  isArray: boolean;
  index: number;
  key: string;
}

/**
 * Record the numbers of `text` (valid JSON, already parsed into `root`)
 * whose written form differs from JavaScript's. One pass with a stack of the
 * containers being read, so any depth.
 */
export function recordNumberTexts(text: string, root: unknown): void {
  if (!MAYBE_ODD_NUMBER.test(text)) return;
  const open: Open[] = [];
  let expectKey = false;
  // The value a container starting here is in the parse (a duplicate key's earlier value is in none).
  const child = (): unknown => {
    const top = open[open.length - 1];
    if (!top) return root;
    if (!isContainer(top.value)) return undefined;
    return top.isArray ? (top.value as unknown[])[top.index] : (top.value as Record<string, unknown>)[top.key];
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '{' || c === '[') {
      open.push({ value: child(), isArray: c === '[', index: 0, key: '' });
      expectKey = c === '{';
      i++;
    } else if (c === '}' || c === ']') {
      open.pop();
      i++;
    } else if (c === ',') {
      const top = open[open.length - 1]!;
      if (top.isArray) top.index++;
      else expectKey = true;
      i++;
    } else if (c === '"') {
      const start = i++;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      if (expectKey) {
        open[open.length - 1]!.key = JSON.parse(text.slice(start, i)) as string;
        expectKey = false;
      }
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const start = i;
      while (i < n && NUMBER_CHAR.test(text[i]!)) i++;
      const literal = text.slice(start, i);
      const top = open[open.length - 1];
      if (top && isContainer(top.value) && String(Number(literal)) !== literal) {
        setText(top.value, top.isArray ? top.index : top.key, literal);
      }
    } else {
      // whitespace, ':', or the letters of true, false and null
      i++;
    }
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Why a JSON number cannot go into a Go int field: Go refuses it, or weft cannot hold it exactly. */
export type IntRefusal = 'go' | 'precision';

/**
 * Go's strconv.ParseInt(text, 10, 64), which encoding/json applies to an int
 * field: no fraction, no exponent, within int64. Beyond that, JavaScript
 * holds integers exactly only up to 2^53 - 1, and weft will not round one.
 */
export function intRefusal(text: string, value: number): IntRefusal | undefined {
  if (!/^-?\d+$/.test(text)) return 'go';
  const big = BigInt(text);
  if (big < INT64_MIN || big > INT64_MAX) return 'go';
  return Number.isSafeInteger(value) ? undefined : 'precision';
}

/** encoding/json refuses a number too large for a float64 (1e400), in a float64 or interface{} field alike. */
export const floatRefused = (value: number): boolean => !Number.isFinite(value);

/**
 * The first number too large for a float64 anywhere in `value` (walked with
 * a stack: any depth), as written; what a Go interface{} field would refuse.
 */
export function overflowingNumber(value: unknown): string | undefined {
  const todo: object[] = isContainer(value) ? [value] : [];
  while (todo.length > 0) {
    const c = todo.pop()!;
    const keys = Array.isArray(c) ? c.keys() : Object.keys(c);
    for (const k of keys) {
      const v = (c as Record<string | number, unknown>)[k];
      if (typeof v === 'number' && floatRefused(v)) return writtenNumber(c, k, v);
      if (isContainer(v)) todo.push(v);
    }
  }
  return undefined;
}

/** The message for a refused number, naming where it was going ("Go struct field NetConf.mtu"). */
export function numberRefusalMessage(text: string, into: string, goType: string, why: IntRefusal | 'go' = 'go'): string {
  const base = `json: cannot unmarshal number ${text} into ${into} of type ${goType}`;
  return why === 'precision' ? `${base}: weft reads integers of at most ${Number.MAX_SAFE_INTEGER} in magnitude` : base;
}
