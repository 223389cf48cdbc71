import { setOwn } from './json.ts';
import { keepNumberText } from './json-numbers.ts';

// Go's encoding/json matches JSON object keys to struct fields ignoring case
// (an exact match is preferred; for duplicates the later key wins). Real
// Windows configs rely on it ("Policies", "Name"/"Value"), so weft reads
// every struct-shaped config object the same way. Maps stay case-sensitive.

const fold = (k: string): string => k.toLowerCase();

/**
 * The key of `obj` whose value Go stores in the struct field `key`: every key
 * equal to it ignoring case is decoded into the field in turn, so the last wins.
 */
export function boundKey(obj: Record<string, unknown>, key: string): string | undefined {
  const want = fold(key);
  let found: string | undefined;
  for (const k of Object.keys(obj)) if (k === key || fold(k) === want) found = k;
  return found;
}

/** The value of `key` in `obj`, matched the way Go matches a struct field. */
export function fieldCI(obj: Record<string, unknown>, key: string): unknown {
  const k = boundKey(obj, key);
  return k === undefined ? undefined : obj[k];
}

/** The actual key in `obj` that Go would bind to `key`, if any. */
export function keyCI(obj: Record<string, unknown>, key: string): string | undefined {
  if (Object.hasOwn(obj, key)) return key;
  const want = fold(key);
  let found: string | undefined;
  for (const k of Object.keys(obj)) if (fold(k) === want) found = k;
  return found;
}

/**
 * A copy of `obj` whose keys matching `known` (case-insensitively) are renamed
 * to their canonical spelling; `null` values for known keys are dropped, as Go
 * leaves the field at its default. Unknown keys are kept as they are.
 */
export function canonicalKeys(obj: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const canon = new Map(known.map((k) => [fold(k), k] as const));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const c = canon.get(fold(k));
    if (c === undefined) {
      if (!Object.hasOwn(out, k)) setOwn(out, k, obj[k]);
      continue;
    }
    const from = boundKey(obj, c)!;
    setOwn(out, c, obj[from]);
    keepNumberText(obj, from, out, c);
  }
  for (const c of known) if (out[c] === null) delete out[c];
  return out;
}
