import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as z from 'zod/mini';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeConfig } from '../../src/cni/decode.ts';
import { parseJson } from '../../src/cni/json.ts';
import { goProgram } from '../helpers/go-program.ts';

// Go's encoding/json is the oracle: test/cni/go-json decodes each document
// into a struct with a string, an int, a float64, an interface{} and a
// map[string]interface{} field, and weft must say exactly what Go says (or
// take exactly what Go takes) for the same bytes through the same kinds of
// schema fields.

const Conf = z.looseObject({
  name: z.optional(z.string()),
  mtu: z.optional(z.int()),
  wait: z.optional(z.number()),
  any: z.optional(z.unknown()),
  delegate: z.optional(z.record(z.string(), z.unknown())),
});

function weft(doc: Buffer): string {
  try {
    decodeConfig(Conf, parseJson(doc), 'Conf');
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

let oracle: string;
beforeAll(() => {
  oracle = goProgram(path.join(import.meta.dirname, 'go-json'), 'its standard library (golang-src, which golang-go brings)');
});

function go(docs: Buffer[]): string[] {
  const out = execFileSync(oracle, [], { input: docs.map((d) => d.toString('base64')).join('\n') + '\n', encoding: 'utf8' });
  return out.trimEnd().split('\n').map((l) => JSON.parse(l) as string);
}

function expectSameAsGo(docs: Buffer[]): void {
  const said = go(docs);
  expect(said.length).toBe(docs.length);
  const diffs = docs.flatMap((d, i) => (weft(d) === said[i] ? [] : [{ doc: d.toString('latin1'), go: said[i], weft: weft(d) }]));
  expect(diffs).toEqual([]);
}

const doc = (text: string) => Buffer.from(text, 'utf8');

describe("JSON decoding in Go's words (encoding/json as the oracle)", () => {
  it('quotes every byte that cannot start a value the way Go does (controls, C1, no-break space, Latin-1)', () => {
    // A digit alone is a valid document (of the wrong kind): left out.
    const bytes = [...Array(256).keys()].filter((b) => b < 0x30 || b > 0x39).map((b) => Buffer.from([b]));
    const inObject = [...Array(256).keys()].map((b) => Buffer.concat([Buffer.from('{"name":'), Buffer.from([b]), Buffer.from('}')]));
    expectSameAsGo([...bytes, ...inObject]);
  });

  it('words a document cut short inside a token as Go does', () => {
    const texts = ['', '{', '[', '"', '"\\', '"\\u12', '-', '1.', '1e', '1e+', 't', 'tr', 'fals', 'n', '{"a":tru', '{"a"', '{"a":', '[1,', '{"name":"n"} x'];
    expectSameAsGo(texts.map(doc));
  });

  it("shows a byte-order mark as Go does ('ï'), never as an invisible U+FEFF", () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expectSameAsGo([Buffer.concat([bom, doc('{"name":"n"}')]), doc('\u00a0{}'), doc('{"name":é}'), doc('{"a":"\u0001"}')]);
    expect(weft(Buffer.concat([bom, doc('{}')]))).toBe("invalid character 'ï' looking for beginning of value");
  });

  it('refuses for an int field what Go refuses (1.0, 1e2, -0.0, beyond int64) and takes what it takes', () => {
    const texts = [
      '0', '-0', '1', '1.0', '1e2', '1E2', '1e+2', '0.1e1', '1.5', '-1', '-0.0', '9007199254740991', '-9007199254740991',
      '9223372036854775808', '-9223372036854775809', '1e20', '100000000000000000000', '1e400', '-1e400', '1e-400', 'null',
      '"1"', 'true', '[1]', '{}',
    ];
    expectSameAsGo(texts.map((t) => doc(`{"name":"n","mtu":${t}}`)));
  });

  it('refuses numbers a float64 cannot hold in float64, interface{} and map fields, at any depth, and nowhere else', () => {
    const docs = [
      '{"wait":1e400}', '{"wait":-1e400}', '{"wait":1e308}', '{"wait":1.0}', '{"wait":1e-400}', '{"wait":"1"}',
      '{"any":1e400}', '{"any":[1,{"x":1e400}]}', '{"any":[1,{"x":1e308}]}', '{"delegate":{"a":{"b":1e400}}}', '{"delegate":{"mtu":1.0}}',
      '{"zzz":1e400}', '{"zzz":{"mtu":1.0}}',
      `{"any":${'['.repeat(5000)}1e400${']'.repeat(5000)}}`,
    ];
    expectSameAsGo(docs.map(doc));
  });

  it('refuses, naming the field, the integers Go takes but a double cannot hold exactly', () => {
    // The one place weft is stricter than Go: it will not round an int.
    expect(go([doc('{"mtu":9007199254740993}')])).toEqual(['']);
    expect(weft(doc('{"mtu":9007199254740993}'))).toBe(
      'json: cannot unmarshal number 9007199254740993 into Go struct field Conf.mtu of type int: weft reads integers of at most 9007199254740991 in magnitude',
    );
    expect(weft(doc('{"mtu":9223372036854775807}'))).toMatch(/^json: cannot unmarshal number 9223372036854775807 into Go struct field Conf\.mtu of type int: /);
  });
});
