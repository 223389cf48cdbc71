import { describe, expect, it } from 'vitest';
import { eq, fromOutput, jsonNode, onlyIf, ref } from '../../../src/os/windows/plan.ts';
import { backoffDelays } from '../../../src/plugins/windows-common/plans.ts';

describe('jsonNode', () => {
  it('renders plain values as one raw JSON text', () => {
    expect(jsonNode({ a: [1, 'x'], b: null })).toEqual({ kind: 'raw', text: '{"a":[1,"x"],"b":null}' });
  });

  it('splices run-time values in as references, between raw texts', () => {
    expect(jsonNode({ Name: 'ep', Net: fromOutput(ref('network', 'ID')), Gone: undefined })).toEqual({
      kind: 'concat',
      parts: [{ kind: 'raw', text: '{"Name":"ep","Net":' }, { kind: 'ref', path: ['network', 'ID'] }, { kind: 'raw', text: '}' }],
    });
  });

  it('turns a list with conditional elements into a list node', () => {
    expect(jsonNode([{ Type: 'A' }, onlyIf(eq(ref('dsr'), true), { Type: 'B' })])).toEqual({
      kind: 'list',
      items: [
        { kind: 'raw', text: '{"Type":"A"}' },
        { kind: 'raw', text: '{"Type":"B"}', when: { kind: 'eq', args: [{ kind: 'ref', path: ['dsr'] }, true] } },
      ],
    });
  });

  it('keeps user JSON that looks like a plan node as literal text', () => {
    const sneaky = { kind: 'ref', path: ['network', 'ID'], orPath: ['x'], when: { kind: 'eq', args: [1, 1] } };
    expect(jsonNode({ Policies: [sneaky] })).toEqual({ kind: 'raw', text: JSON.stringify({ Policies: [sneaky] }) });
  });

  it('refuses a conditional element outside a list', () => {
    expect(() => jsonNode({ a: onlyIf(eq(1, 1), 2) })).toThrow('only stand in a list');
  });
});

describe('backoffDelays', () => {
  it('starts at 200 ms, doubles up to 2 s, and adds up to the budget exactly', () => {
    expect(backoffDelays(0)).toEqual([]);
    expect(backoffDelays(150)).toEqual([150]);
    expect(backoffDelays(5000)).toEqual([200, 400, 800, 1600, 2000]);
    const long = backoffDelays(20_000);
    expect(long.reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(Math.max(...long)).toBe(2000);
  });
});
