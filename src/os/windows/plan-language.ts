import { isPlainObject, marshal } from '../../cni/json.ts';

// The request weft sends to its one PowerShell program (scripts/weft-hns.ps1):
// a "plan", an ordered list of HNS operations. The plugins decide everything
// here in TypeScript; the script only walks the plan, so its text and command
// line are the same for every request, and nothing in a request is ever run as
// code. The script implements exactly the semantics written down in this
// file; the plans themselves (ADD, DEL, CHECK) are built in
// src/plugins/windows-common/command-plans.ts.
//
// Plan    {plan: "weft-hns/1", steps: Step[]}
// Step    {id, op, ...op fields, when?, select?, retry?, tolerate?, require?, undo?}
//   Steps run in order. The output of each is kept under its id for later refs.
//   when      Cond; false: the step is skipped and its output is null.
//   select    {key, match: Text}: the op's output is a list; keep the first item
//             whose `key` property equals the text (ordinal), or null.
//   retry     {delaysMs, withinMs?, until?}: while the output (after select) is
//             null, or `until` (a Cond that sees this output under the step's
//             id) is false, sleep the next delay and run the op again; it stops
//             when the delays are used up or withinMs have passed since the plan
//             started, keeping the last output.
//   tolerate  {any?, hresults?, messages?, keep?}: a failure that is tolerated
//             becomes an output (and is reported under "tolerated"): any failure
//             with any; else one whose HRESULT is listed; a failure without an
//             HRESULT (an error envelope without ErrorCode) only when its message
//             or record contains a listed fragment (ignoring case), the last
//             resort since HNS's texts are localized. The output is null, or with
//             keep {failed: true, hr, message, record}.
//   require   true: a null or false output stops the plan ("stopped": id).
//   undo      Step[]: once this step has run (or failed having made its object,
//             as a failing query after HcnCreateEndpoint), its undo steps are
//             remembered; if the plan fails or stops later, remembered undo
//             lists run newest first, each in order, with their own `when`.
// Ops
//   hns                  {method, path: Text, body?: Json}  vmcompute!HNSCall, v1 JSON API;
//                        the output is the response envelope's Output.
//   hcn.list             {kind, query: Json}   HcnEnumerate<kind>s, then open, query and
//                        close each: a list of property objects.
//   hcn.enumerate        {kind, query: Json}   HcnEnumerate<kind>s alone: the list of
//                        GUIDs HNS answers (one call, however many objects).
//   hcn.get              {kind, target: Text, query: Json}   HcnOpen<kind> + HcnQuery<kind>Properties.
//   hcn.createEndpoint   {network: Text, settings: Json, query: Json}   HcnOpenNetwork +
//                        HcnCreateEndpoint + HcnQueryEndpointProperties.
//   hcn.deleteEndpoint   {target: Text}    HcnDeleteEndpoint; output null.
//   hcn.modifyNamespace  {target: Text, settings: Json}   HcnOpenNamespace + HcnModifyNamespace; output null.
//   test                 {cond: Cond}      output true or false.
//   kind is Network, Endpoint or Namespace; target is the object's GUID.
// Values
//   Ref   {kind: "ref", path: [stepId, key|index, ...], orPath?}: a value from an
//         earlier output; object keys match ignoring case (as Go decodes HNS JSON);
//         a missing value is null; when null and orPath is given, orPath is used.
//   Text  [string | Ref, ...]: concatenated; a Ref becomes its string form (null: "").
//   Json  {kind: "raw", text} JSON text used as is | Ref (the value as JSON) |
//         {kind: "concat", parts: Json[]} texts joined | {kind: "list", items: Json[]}
//         a JSON array of the items whose own `when` (if any) holds.
//   Cond  {kind: eq|in|has|ge|exists|not|and|or, args, ci?}: eq [a, b] and in [a, [b...]]
//         compare string forms (ci: ignoring case; null equals only null); has
//         [list, [key|index, ...], b]: some item of the list has, at that path, a
//         value equal to b (as eq); ge [a, b] compares numbers (false when either
//         is null); exists [a] is "not null, not empty string, not empty list";
//         not [c], and [c...], or [c...]. Operands are literals or Refs.
// Answer (one JSON document on stdout)
//   {ok, native, outputs: {id: value}, ran: [id], stopped: id|null,
//    error: {step, hr, message, record}|null, tolerated: [{step, hr, message, record}],
//    undone: [{step, ok, hr, message, record}]}
//   hr is the HRESULT as an unsigned number (an error envelope's ErrorCode), or
//   null when HNS answered with an error envelope without one or the failure
//   was not an HNS call. native: "precompiled" when the script loaded the
//   assembly install.ps1 compiled, "compiled" when it compiled weft-hns.cs.

export const PLAN_FORMAT = 'weft-hns/1';

export type PathElem = string | number;

export interface RefNode {
  kind: 'ref';
  path: PathElem[];
  orPath?: PathElem[];
}

export type TextNode = Array<string | RefNode>;

export type Operand = string | number | boolean | null | RefNode;

export type Cond =
  | { kind: 'eq'; args: [Operand, Operand]; ci?: boolean }
  | { kind: 'in'; args: [Operand, Operand[]]; ci?: boolean }
  | { kind: 'has'; args: [Operand, PathElem[], Operand]; ci?: boolean }
  | { kind: 'ge'; args: [Operand, Operand] }
  | { kind: 'exists'; args: [Operand] }
  | { kind: 'not'; args: [Cond] }
  | { kind: 'and' | 'or'; args: Cond[] };

export type JsonNode = (
  | { kind: 'raw'; text: string }
  | RefNode
  | { kind: 'concat'; parts: JsonNode[] }
  | { kind: 'list'; items: JsonNode[] }
) & { when?: Cond };

export type HcnKind = 'Network' | 'Endpoint' | 'Namespace';

export interface Tolerance {
  any?: boolean;
  hresults?: number[];
  messages?: string[];
  keep?: boolean;
}

export interface Retry {
  delaysMs: number[];
  withinMs?: number;
  until?: Cond;
}

interface StepCommon {
  id: string;
  when?: Cond;
  select?: { key: string; match: TextNode };
  retry?: Retry;
  tolerate?: Tolerance;
  require?: boolean;
  undo?: Step[];
}

export type StepOp =
  | { op: 'hns'; method: 'GET' | 'POST' | 'DELETE'; path: TextNode; body?: JsonNode }
  | { op: 'hcn.list'; kind: HcnKind; query: JsonNode }
  | { op: 'hcn.enumerate'; kind: HcnKind; query: JsonNode }
  | { op: 'hcn.get'; kind: HcnKind; target: TextNode; query: JsonNode }
  | { op: 'hcn.createEndpoint'; network: TextNode; settings: JsonNode; query: JsonNode }
  | { op: 'hcn.deleteEndpoint'; target: TextNode }
  | { op: 'hcn.modifyNamespace'; target: TextNode; settings: JsonNode }
  | { op: 'test'; cond: Cond };

export type Step = StepCommon & StepOp;

export interface Plan {
  plan: typeof PLAN_FORMAT;
  steps: Step[];
}

export const plan = (steps: Step[]): Plan => ({ plan: PLAN_FORMAT, steps });

/** A reference to (part of) an earlier step's output. */
export const ref = (stepId: string, ...path: PathElem[]): RefNode => ({ kind: 'ref', path: [stepId, ...path] });

/** The first of two references that is not null. */
export const refOr = (first: RefNode, second: RefNode): RefNode => ({ kind: 'ref', path: first.path, orPath: second.path });

export const text = (...parts: Array<string | RefNode>): TextNode => parts;

export const eq = (a: Operand, b: Operand, ci = false): Cond => (ci ? { kind: 'eq', args: [a, b], ci } : { kind: 'eq', args: [a, b] });
export const isIn = (a: Operand, list: Operand[], ci = false): Cond =>
  ci ? { kind: 'in', args: [a, list], ci } : { kind: 'in', args: [a, list] };
export const has = (list: Operand, path: PathElem[], value: Operand, ci = false): Cond =>
  ci ? { kind: 'has', args: [list, path, value], ci } : { kind: 'has', args: [list, path, value] };
export const ge = (a: Operand, b: Operand): Cond => ({ kind: 'ge', args: [a, b] });
export const exists = (a: Operand): Cond => ({ kind: 'exists', args: [a] });
export const not = (c: Cond): Cond => ({ kind: 'not', args: [c] });
export const and = (...cs: Cond[]): Cond => ({ kind: 'and', args: cs });
export const or = (...cs: Cond[]): Cond => ({ kind: 'or', args: cs });

// Markers inside values handed to jsonNode(). They are class instances, so no
// JSON a user wrote (a policy, a DNS name) can ever be mistaken for one.
class RefValue {
  constructor(readonly node: RefNode) {}
}
class Conditional {
  constructor(
    readonly cond: Cond,
    readonly value: unknown,
  ) {}
}

/** Put a value from an earlier output into a JSON body. */
export const fromOutput = (node: RefNode): unknown => new RefValue(node);

/** A list element that is present only when `cond` holds at run time. */
export const onlyIf = (cond: Cond, value: unknown): unknown => new Conditional(cond, value);

/** Whether a marker stands anywhere in `value` (walked with a stack: a user's policy may nest deep). */
function hasMarker(value: unknown): boolean {
  const todo = [value];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v instanceof RefValue || v instanceof Conditional) return true;
    const inner = Array.isArray(v) ? v : isPlainObject(v) ? Object.values(v) : [];
    for (const item of inner) todo.push(item);
  }
  return false;
}

type Piece = string | JsonNode;

function emit(value: unknown, out: Piece[]): void {
  if (value instanceof RefValue) {
    out.push(value.node);
  } else if (value instanceof Conditional) {
    throw new Error('a conditional element can only stand in a list');
  } else if (!hasMarker(value)) {
    // Markers are only in weft's own shallow structures; what is below them is data, of any depth.
    out.push(marshal(value));
  } else if (Array.isArray(value) && value.some((v) => v instanceof Conditional)) {
    out.push({
      kind: 'list',
      items: value.map((v) => (v instanceof Conditional ? { ...jsonNode(v.value), when: v.cond } : jsonNode(v))),
    });
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v, i) => {
      if (i > 0) out.push(',');
      emit(v, out);
    });
    out.push(']');
  } else {
    // What holds a marker and is neither a list nor a marker is an object.
    out.push('{');
    let first = true;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(`${JSON.stringify(k)}:`);
      emit(v, out);
    }
    out.push('}');
  }
}

/** The Json node that renders `value` (which may hold fromOutput/onlyIf markers). */
export function jsonNode(value: unknown): JsonNode {
  const pieces: Piece[] = [];
  emit(value, pieces);
  const merged: Piece[] = [];
  for (const p of pieces) {
    const last = merged[merged.length - 1];
    if (typeof p === 'string' && typeof last === 'string') merged[merged.length - 1] = last + p;
    else merged.push(p);
  }
  const asNode = (p: Piece): JsonNode => (typeof p === 'string' ? { kind: 'raw', text: p } : p);
  return merged.length === 1 ? asNode(merged[0]!) : { kind: 'concat', parts: merged.map(asNode) };
}
