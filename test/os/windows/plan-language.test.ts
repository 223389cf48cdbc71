import { describe, expect, it } from 'vitest';
import { eq, fromOutput, jsonNode, onlyIf, ref } from '../../../src/os/windows/plan-language.ts';
import { addPlan, backoffDelays, checkPlan, delPlan } from '../../../src/plugins/windows-common/command-plans.ts';

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

describe('jsonNode with data of any depth', () => {
  it('renders a policy nested as deep as Go takes beside a marker, without running out of stack', () => {
    const depth = 9_995;
    const deep = JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    const node = jsonNode({ Policies: [deep], VirtualNetwork: fromOutput(ref('network', 'ID')) });
    expect(node.kind).toBe('concat');
    const parts = (node as { parts: Array<{ kind: string; text?: string }> }).parts;
    expect(parts[0]).toEqual({ kind: 'raw', text: `{"Policies":[${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}],"VirtualNetwork":` });
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

describe('plan keys', () => {
  // weft-hns.ps1 reads request fields as $node.<key>; a key named like a member
  // every PowerShell object has (Equals, Count, ...) would read that member instead.
  const INTRINSIC = ['equals', 'gethashcode', 'gettype', 'tostring', 'psobject', 'psbase', 'psadapted', 'psextended', 'pstypenames', 'count', 'length', 'foreach', 'where'];

  function keys(value: unknown, out: Set<string>): Set<string> {
    if (Array.isArray(value)) for (const v of value) keys(v, out);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        out.add(k);
        keys(v, out);
      }
    }
    return out;
  }

  it('never use a name PowerShell objects already have', () => {
    const all = new Set<string>();
    for (const api of [1, 2] as const) {
      const built = addPlan({
        api,
        network: 'n',
        endpoint: 'e',
        namespace: '8d4e2f3a-1b2c-4d5e-8f90-0123456789ab',
        ip: '10.0.0.3',
        loopbackDSR: true,
        networkWait: { delaysMs: [200], withinMs: 200 },
        networkTypes: ['L2Bridge'],
        networkTypeIgnoresCase: true,
        reuseOnly: false,
        extraSteps: [],
        spec: (dsr) => ({ name: 'e', networkId: 'x', ip: '10.0.0.3', gateway: '10.0.0.2', mac: 'm', dns: {}, policies: dsr ? [onlyIf(dsr, { Type: 'A' })] : [] }),
      });
      keys(built.plan, all);
      keys(delPlan(api, 'e', '8d4e2f3a-1b2c-4d5e-8f90-0123456789ab').plan, all);
      keys(checkPlan(api, 'n', 'e', '8d4e2f3a-1b2c-4d5e-8f90-0123456789ab').plan, all);
    }
    expect(all.size).toBeGreaterThan(20);
    expect([...all].filter((k) => INTRINSIC.includes(k.toLowerCase()))).toEqual([]);
  });
});
