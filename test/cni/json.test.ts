import { describe, expect, it } from 'vitest';
import { goSyntaxError, marshal, marshalIndent, parseJson, sortKeys } from '../../src/cni/json.ts';

describe('Go JSON error messages', () => {
  const cases: [string, string][] = [
    ['', 'unexpected end of JSON input'],
    ['{', 'unexpected end of JSON input'],
    ['{{{', "invalid character '{' looking for beginning of object key string"],
    ['adfadsfasdfasfdsafaf', "invalid character 'a' looking for beginning of value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
    ['[1 2]', "invalid character '2' after array element"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
    ['{"a":"x\ny"}', "invalid character '\\n' in string literal"],
    ['"\\q"', "invalid character 'q' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
    ['-x', "invalid character 'x' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"],
    ['{} x', "invalid character 'x' after top-level value"],
    ['01', "invalid character '1' after top-level value"],
    ["'a'", "invalid character '\\'' looking for beginning of value"],
  ];
  for (const [input, msg] of cases) {
    it(`${JSON.stringify(input)} -> ${msg}`, () => {
      expect(goSyntaxError(input)).toBe(msg);
      expect(() => parseJson(input)).toThrow(msg);
    });
  }
  it('parses valid JSON', () => expect(parseJson(Buffer.from('{"a":[1,true,null]}'))).toEqual({ a: [1, true, null] }));

  const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '[1]' + '}'.repeat(depth - 1);
  it('takes nesting as deep as Go does (10,000), and writes it back without running out of stack', () => {
    const doc = parseJson(nested(10_000));
    expect(marshal(doc)).toBe(nested(10_000));
    expect(marshal(sortKeys(doc))).toBe(nested(10_000));
    expect(marshalIndent(doc).length).toBeGreaterThan(10_000);
  });
  it("refuses deeper nesting with Go's words, valid JSON or not", () => {
    expect(() => parseJson(nested(10_001))).toThrow("invalid character '[' exceeded max depth");
    expect(() => parseJson('['.repeat(10_001))).toThrow("invalid character '[' exceeded max depth");
    expect(goSyntaxError('['.repeat(3000) + ']'.repeat(2999))).toBe('unexpected end of JSON input');
  });
});

describe('Go JSON output', () => {
  it('indents with four spaces and no trailing newline', () => {
    expect(marshalIndent({ a: [1], b: {} })).toBe('{\n    "a": [\n        1\n    ],\n    "b": {}\n}');
  });
  it('escapes <, >, & and line separators', () => {
    expect(marshal({ s: '<a & b>\u2028' })).toBe('{"s":"\\u003ca \\u0026 b\\u003e\\u2028"}');
  });
  it('sorts map keys at every level, by bytes', () => {
    expect(JSON.stringify(sortKeys({ b: 1, a: { d: 1, c: [{ f: 1, e: 2 }] } }))).toBe('{"a":{"c":[{"e":2,"f":1}],"d":1},"b":1}');
    expect(Object.keys(sortKeys({ a: 1, B: 2, _: 3 }) as object)).toEqual(['B', '_', 'a']);
  });
});

describe('Go key order edge cases', () => {
  it('writes integer-like map keys in byte order, as Go does', () => {
    expect(marshal(sortKeys({ '2': 'b', '10': 'a', x: 'c' }))).toBe('{"10":"a","2":"b","x":"c"}');
  });
  it('keeps a "__proto__" key as data', () => {
    const doc = parseJson('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    const sorted = sortKeys(doc) as Record<string, unknown>;
    expect(Object.keys(sorted)).toEqual(['__proto__', 'a']);
    expect((sorted as { polluted?: boolean }).polluted).toBeUndefined();
    expect(marshal(sorted)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });
  it('drops undefined members and writes empty containers like Go', () => {
    expect(marshalIndent({ a: undefined, b: [], c: {} })).toBe('{\n    "b": [],\n    "c": {}\n}');
  });
});
