import { ANY_FAILURE, ANY_FAILURE_KEPT, NOT_FOUND } from '../../os/windows/hresult.ts';
import {
  type Cond,
  type Plan,
  type Retry,
  type Step,
  and,
  eq,
  exists,
  fromOutput,
  ge,
  has,
  isIn,
  not,
  or,
  plan,
  ref,
  refOr,
  text,
} from '../../os/windows/plan-language.ts';
import type { ApiVersion } from './conf.ts';
import { type EndpointSpec, endpointBody } from './endpoint.ts';
import { type HnsApi, hnsApi, hnsV1 } from './hns-api.ts';

// The plans of ADD, DEL and CHECK, in the plan language of
// src/os/windows/plan-language.ts. Each command is one plan, so one
// PowerShell process does all its HNS work; the decisions that depend on what
// HNS holds (reuse or create, which policies) are conditions in the plan,
// decided here.

/** A plan with, for each step that can fail or stop, what it was doing (for error messages). */
export interface BuiltPlan {
  plan: Plan;
  about: Record<string, string>;
}

/** Waits between network lookups: 200 ms doubling to 2 s, adding up to `totalMs`. */
export function backoffDelays(totalMs: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let next = 200; sum < totalMs; next = Math.min(next * 2, 2000)) {
    const delay = Math.min(next, totalMs - sum);
    out.push(delay);
    sum += delay;
  }
  return out;
}

/** HNS 9.3-9.x and 10.2 on support DSR (hcsshim's DSRVersion). */
function dsrSupported(): Cond {
  const major = ref('hnsVersion', 'Major');
  const minor = ref('hnsVersion', 'Minor');
  return or(and(eq(major, 9), ge(minor, 3)), and(eq(major, 10), ge(minor, 2)), ge(major, 11));
}

export interface AddInputs {
  api: ApiVersion;
  network: string;
  endpoint: string;
  namespace: string;
  /** The leased address, when IPAM ran. */
  ip?: string | undefined;
  loopbackDSR: boolean;
  /** How the network lookup waits for flanneld; `until` is when the network is usable. */
  networkWait: Retry;
  /** Network types accepted, and whether their case matters. */
  networkTypes: readonly string[];
  networkTypeIgnoresCase: boolean;
  /** Only reuse an existing endpoint (IPAM gave no address): never create one. */
  reuseOnly: boolean;
  /** Flavour steps run after the network checks. */
  extraSteps: Step[];
  /** The endpoint to create, given the condition under which DSR is supported. */
  spec: (dsr: Cond | undefined) => EndpointSpec;
}

const isTrue = (stepId: string): Cond => eq(ref(stepId), true);

/**
 * ADD: find the network (waiting until it is usable), check its type, find an
 * endpoint of this name; reuse it when it is on this network with the leased
 * address and not in another namespace, else delete it as stale and create
 * ours; check it has an address; attach it to the namespace. Whether the
 * attach worked is asked of the namespace, not read from the error (HNS
 * answers a repeated attach with HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS, and
 * v1 errors are localized text). A failure or stop after the create deletes
 * the new endpoint.
 */
export function addPlan(inp: AddInputs): BuiltPlan {
  const A = hnsApi(inp.api);
  const p = A.paths;
  const steps: Step[] = [
    A.findNetwork('network', inp.network, inp.networkWait),
    {
      id: 'networkType',
      op: 'test',
      cond: isIn(ref('network', ...p.networkType), [...inp.networkTypes], inp.networkTypeIgnoresCase),
      require: true,
    },
    ...inp.extraSteps,
  ];
  let dsr: Cond | undefined;
  if (inp.loopbackDSR && inp.ip) {
    steps.push({ id: 'hnsVersion', op: 'hns', method: 'GET', path: text('/globals/version'), tolerate: ANY_FAILURE });
    steps.push({ id: 'dsr', op: 'test', cond: dsrSupported() });
    dsr = isTrue('dsr');
  }
  const existing = ref('existing');
  const existingNamespace = ref('existing', ...p.endpointNamespace);
  const reuse: Cond[] = [
    exists(existing),
    eq(ref('existing', ...p.endpointNetwork), ref('network', ...p.networkId), true),
    or(not(exists(existingNamespace)), eq(existingNamespace, inp.namespace, true)),
  ];
  if (inp.ip) reuse.push(eq(ref('existing', ...p.endpointIp), inp.ip));
  steps.push(A.findEndpoint('existing', inp.endpoint));
  steps.push({ id: 'reuse', op: 'test', cond: and(...reuse), require: inp.reuseOnly });
  if (!inp.reuseOnly) {
    const stale = and(exists(existing), not(isTrue('reuse')));
    const existingId = ref('existing', ...p.endpointId);
    steps.push({ ...A.detach('staleDetach', existingNamespace, existingId), when: and(stale, exists(existingNamespace)) });
    steps.push({ ...A.deleteEndpoint('stale', existingId, NOT_FOUND), when: stale });
    steps.push({
      ...A.createEndpoint('created', ref('network', ...p.networkId), endpointBody(inp.spec(dsr), inp.api), inp.endpoint),
      when: not(isTrue('reuse')),
    });
  }
  const endpointIp = refOr(ref('created', ...p.endpointIp), ref('existing', ...p.endpointIp));
  steps.push({ id: 'usable', op: 'test', cond: exists(endpointIp), require: true });
  // An endpoint HNS already reports in this namespace needs no attach.
  const attached = and(isTrue('reuse'), eq(existingNamespace, inp.namespace, true));
  const endpointId = refOr(ref('created', ...p.endpointId), ref('existing', ...p.endpointId));
  const attachFailed = exists(ref('attach'));
  const heldHere = has(ref('attachCheck', ...p.namespaceResources), p.resourceEndpointId, endpointId, true);
  steps.push(
    { ...A.attach('attach', inp.namespace, endpointId), when: not(attached) },
    { ...A.getNamespace('attachCheck', inp.namespace), when: attachFailed },
    // Only to name the namespace that holds the endpoint instead.
    { ...A.listNamespaces('namespaces'), when: and(attachFailed, not(heldHere)) },
    { id: 'attached', op: 'test', cond: or(not(attachFailed), heldHere), require: true },
  );
  return {
    plan: plan(steps),
    about: {
      network: `looking up HNS network ${inp.network}`,
      existing: `looking up HNS endpoint ${inp.endpoint}`,
      staleDetach: `detaching stale HNS endpoint ${inp.endpoint}`,
      stale: `deleting stale HNS endpoint ${inp.endpoint}`,
      created: `creating HNS endpoint ${inp.endpoint}`,
      'created.find': `looking up the new HNS endpoint ${inp.endpoint}`,
      'created.undo': `deleting the new HNS endpoint ${inp.endpoint}`,
      attach: `attaching HNS endpoint ${inp.endpoint} to namespace ${inp.namespace}`,
    },
  };
}

/** The network ID as a value for an endpoint body. */
export const networkIdValue = (api: ApiVersion): unknown => fromOutput(ref('network', ...hnsApi(api).paths.networkId));

/**
 * DEL: find the endpoint; detach it from the namespace HNS says it is in and
 * from CNI_NETNS's (both best effort), then delete it. Gone is success, and
 * "gone" is seen in HNS's state, not read from an error text: when the delete
 * fails, the endpoint is looked up again, and only one still there fails DEL.
 * Also the cleanup after an ADD whose answer was lost.
 */
export function delPlan(api: ApiVersion, endpoint: string, namespace: string | undefined): BuiltPlan {
  const A = hnsApi(api);
  const p = A.paths;
  const existing = ref('existing');
  const existingId = ref('existing', ...p.endpointId);
  const existingNamespace = ref('existing', ...p.endpointNamespace);
  const steps: Step[] = [
    A.findEndpoint('existing', endpoint),
    { ...A.detach('detachOwn', existingNamespace, existingId), when: exists(existingNamespace) },
  ];
  if (namespace) {
    steps.push({
      ...A.detach('detach', namespace, existingId),
      when: and(exists(existing), not(eq(existingNamespace, namespace, true))),
    });
  }
  steps.push(
    { ...A.deleteEndpoint('deleted', existingId, ANY_FAILURE_KEPT), when: exists(existing) },
    { ...A.findEndpoint('after', endpoint), when: exists(ref('deleted')) },
    { id: 'gone', op: 'test', cond: not(exists(ref('after'))), require: true },
  );
  return {
    plan: plan(steps),
    about: { existing: `looking up HNS endpoint ${endpoint}`, deleted: `deleting HNS endpoint ${endpoint}`, after: `looking up HNS endpoint ${endpoint}` },
  };
}

/** CHECK: read the network, the endpoint and the namespace; the plugin compares. */
export function checkPlan(api: ApiVersion, network: string, endpoint: string, namespace: string): BuiltPlan {
  const A: HnsApi = hnsApi(api);
  return {
    plan: plan([A.findNetwork('network', network), A.findEndpoint('existing', endpoint), A.getNamespace('namespace', namespace)]),
    about: {
      network: `looking up HNS network ${network}`,
      existing: `looking up HNS endpoint ${endpoint}`,
      namespace: `looking up HNS namespace ${namespace}`,
    },
  };
}

/** The v1 view of the network (overlay with HCN reads the gateway and PA from it, as the reference does). */
export const v1NetworkStep = (id: string, network: string, retry: Retry): Step => hnsV1.findNetwork(id, network, retry);
