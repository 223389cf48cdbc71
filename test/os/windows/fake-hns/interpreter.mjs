// The plan interpreter of weft-hns.ps1, step for step, over the HNS model
// instead of vmcompute.dll/computenetwork.dll. The semantics are those
// written down in src/os/windows/plan-language.ts; where PowerShell has a quirk that
// matters (ignoring case in member names, [string] of null being ""), the
// same is done here.
import { hcnCreateEndpoint, hcnDeleteEndpoint, hcnGet, hcnList, hcnModifyNamespace, hnsCall, win32Text } from './hns-model.mjs';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
/** PowerShell's [string] of a scalar. */
const str = (v) => (v === null || v === undefined ? '' : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));

function member(obj, key) {
  if (obj === null || obj === undefined) return null;
  if (typeof key === 'string') {
    if (!isObject(obj)) return null;
    const k = Object.keys(obj).find((name) => name.toLowerCase() === key.toLowerCase());
    return k === undefined ? null : obj[k];
  }
  return Array.isArray(obj) && key >= 0 && key < obj.length ? obj[key] : null;
}

export function interpret(request, stateFile) {
  const outputs = {};
  const resolvePath = (path) => path.slice(1).reduce((v, k) => member(v, k), outputs[path[0]] ?? null);
  const resolve = (node) => {
    const v = resolvePath(node.path);
    return v === null && node.orPath ? resolvePath(node.orPath) : v;
  };
  const expandText = (parts) => parts.map((p) => (typeof p === 'string' ? p : str(resolve(p)))).join('');
  const expandJson = (node) => {
    switch (node.kind) {
      case 'raw':
        return node.text;
      case 'ref':
        return JSON.stringify(resolve(node)) ?? 'null';
      case 'concat':
        return node.parts.map(expandJson).join('');
      case 'list':
        return `[${node.items.filter((i) => !i.when || test(i.when)).map(expandJson).join(',')}]`;
      default:
        throw new Error(`unknown JSON node kind ${node.kind}`);
    }
  };
  const operand = (o) => (isObject(o) ? resolve(o) : o);
  const equal = (a, b, ci) => {
    if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === null && (b ?? null) === null;
    return ci ? str(a).toLowerCase() === str(b).toLowerCase() : str(a) === str(b);
  };
  const test = (c) => {
    const a = c.args;
    switch (c.kind) {
      case 'eq':
        return equal(operand(a[0]), operand(a[1]), c.ci === true);
      case 'in': {
        const needle = operand(a[0]);
        return a[1].some((x) => equal(needle, operand(x), c.ci === true));
      }
      case 'ge': {
        const l = operand(a[0]);
        const r = operand(a[1]);
        return l !== null && r !== null && Number(l) >= Number(r);
      }
      case 'exists': {
        const v = operand(a[0]);
        if (v === null || v === undefined) return false;
        if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
        return true;
      }
      case 'not':
        return !test(a[0]);
      case 'and':
        return a.every(test);
      case 'or':
        return a.some(test);
      default:
        throw new Error(`unknown condition kind ${c.kind}`);
    }
  };

  const hcnFailure = (r) => ({ failed: true, hr: r.hr, message: `${r.call}: ${win32Text(r.hr)}`, record: r.record });
  const parsed = (text) => (text === null || text === undefined || text === '' ? null : JSON.parse(text));
  const op = (step) => {
    switch (step.op) {
      case 'hns': {
        const body = step.body ? expandJson(step.body) : '';
        const r = hnsCall(stateFile, step.method, expandText(step.path), body);
        if (r.hr !== undefined) return { failed: true, hr: r.hr, message: `HNSCall ${step.method} ${expandText(step.path)}: ${r.message}`, record: null };
        const envelope = parsed(r.envelope);
        if (envelope?.Success !== true) return { failed: true, hr: null, message: envelope ? str(envelope.Error) : 'HNS failed', record: r.envelope };
        return { failed: false, value: envelope.Output ?? null };
      }
      case 'hcn.list': {
        const r = hcnList(stateFile, step.kind, expandJson(step.query));
        return r.hr !== undefined ? hcnFailure(r) : { failed: false, value: r.output };
      }
      case 'hcn.get': {
        const r = hcnGet(stateFile, step.kind, expandText(step.target), expandJson(step.query));
        return r.hr !== undefined ? hcnFailure(r) : { failed: false, value: r.output };
      }
      case 'hcn.createEndpoint': {
        const r = hcnCreateEndpoint(stateFile, expandText(step.network), expandJson(step.settings), expandJson(step.query));
        return r.hr !== undefined ? hcnFailure(r) : { failed: false, value: r.output };
      }
      case 'hcn.deleteEndpoint': {
        const r = hcnDeleteEndpoint(stateFile, expandText(step.target));
        return r.hr !== undefined ? hcnFailure(r) : { failed: false, value: null };
      }
      case 'hcn.modifyNamespace': {
        const r = hcnModifyNamespace(stateFile, expandText(step.target), expandJson(step.settings));
        return r.hr !== undefined ? hcnFailure(r) : { failed: false, value: null };
      }
      case 'test':
        return { failed: false, value: test(step.cond) };
      default:
        return { failed: true, hr: null, message: `unknown op ${step.op}`, record: null };
    }
  };
  const attempt = (step) => {
    let outcome;
    try {
      outcome = op(step);
    } catch (e) {
      outcome = { failed: true, hr: null, message: e.message, record: null };
    }
    if (!outcome.failed && step.select) {
      const wanted = expandText(step.select.match);
      const items = outcome.value === null ? [] : Array.isArray(outcome.value) ? outcome.value : [outcome.value];
      outcome.value = items.find((i) => str(member(i, step.select.key)) === wanted) ?? null;
    }
    return outcome;
  };
  const tolerated = (o, t) => {
    if (!t) return false;
    if (o.hr !== null && t.hresults.includes(o.hr)) return true;
    const text = `${str(o.message)} ${str(o.record)}`.toLowerCase();
    return t.messages.some((m) => text.includes(m.toLowerCase()));
  };
  const report = (step, o) => ({ step, hr: o.hr ?? null, message: o.message ?? null, record: o.record ?? null });
  const runStep = (step, toleratedList) => {
    let outcome = attempt(step);
    const delays = step.retry?.delaysMs ?? [];
    for (let i = 0; !outcome.failed && outcome.value === null && i < delays.length; i++) {
      sleep(delays[i]);
      outcome = attempt(step);
    }
    if (outcome.failed && tolerated(outcome, step.tolerate)) {
      toleratedList.push(report(step.id, outcome));
      outcome = { failed: false, value: null };
    }
    return outcome;
  };

  const answer = { ok: true, outputs, ran: [], stopped: null, error: null, tolerated: [], undone: [] };
  const undo = [];
  try {
    if (request.plan !== 'weft-hns/1') throw new Error('WEFT_HNS_REQUEST does not hold a weft-hns/1 plan');
    for (const step of request.steps) {
      if (step.when && !test(step.when)) {
        outputs[step.id] = null;
        continue;
      }
      const outcome = runStep(step, answer.tolerated);
      if (outcome.failed) {
        answer.ok = false;
        answer.error = report(step.id, outcome);
        break;
      }
      outputs[step.id] = outcome.value;
      answer.ran.push(step.id);
      if (step.undo) undo.push(step.undo);
      if (step.require === true && (outcome.value === null || outcome.value === false)) {
        answer.ok = false;
        answer.stopped = step.id;
        break;
      }
    }
  } catch (e) {
    answer.ok = false;
    answer.error = { step: null, hr: null, message: `weft-hns: ${e.message}`, record: null };
  }
  if (!answer.ok) {
    for (const step of undo.reverse()) {
      const o = runStep(step, []);
      answer.undone.push({ ...report(step.id, o), ok: !o.failed });
    }
  }
  return answer;
}
