import { parseConfDocument, parsePrevResult, validAttachments } from '../../cni/conf.ts';
import { delegateAdd, delegateCheck, delegateDel, delegateStatus } from '../../cni/delegate.ts';
import { CniError, ErrorCode, asCniError, collectedError } from '../../cni/errors.ts';
import { log } from '../../cni/log.ts';
import { toResult100 } from '../../cni/result/convert.ts';
import { printResult } from '../../cni/result/encode.ts';
import type { AnyResult } from '../../cni/result/types.ts';
import type { CmdArgs, Plugin } from '../../cni/skel.ts';
import { ALL_VERSIONS } from '../../cni/version.ts';
import { type CIDR, formatIP, parseCIDR, parseIP } from '../../net/ip.ts';
import { isPlainObject } from '../../cni/json.ts';
import { HRESULT, hex, isNotFound } from '../../os/windows/hresult.ts';
import type { Cond, Plan, Retry, Step } from '../../os/windows/plan-language.ts';
import { NoAnswerError, type PlanAnswer, type PlanFailure, runPlan } from '../../os/windows/powershell.ts';
import { type ApiVersion, type HnsNetConf, apiVersionOf, mergedDns, networkWaitMs, validateForAdd } from './conf.ts';
import { addResult, endpointFacts, pick } from './endpoint.ts';
import { endpointName, isSharedNetns, namespaceId, requireNamespaceId } from './endpoint-name.ts';
import { hnsApi, namespaceIdsStep } from './hns-api.ts';
import { LISTING_STEP, listedNamespaces } from './hns-namespaces.ts';
import { type BuiltPlan, addPlan, backoffDelays, checkPlan, delPlan, networkIdValue } from './command-plans.ts';
import { forApi, userPolicyValues } from './policies.ts';
import { type AddAttempt, addWithReclaim, forgetAttachment, gcAttachments, namespaceIdentity, recordAttachment, statusWithReclaim } from '../attachments/lifecycle.ts';
import { coveredBy, saveListing } from '../attachments/hns-listing.ts';
import { type AttachmentSite, hostLocalSite, listRecords } from '../attachments/store.ts';

// win-bridge and win-overlay share their commands; a Flavour says what
// differs (network types, gateway, MAC, generated policies, messages).
//
// ADD:   IPAM ADD, then one plan (find network, reuse or create endpoint,
//        attach); if anything fails the new endpoint is gone (plan undo) and
//        the lease is released. If PowerShell gives no answer (killed on the
//        timeout, or died), HNS may hold an endpoint with the address: a
//        cleanup plan deletes it by name first, and if that fails too the
//        lease is kept (a leaked lease is better than a doubled address).
// DEL:   one plan (detach, delete; gone is fine), then IPAM DEL even when HNS
//        failed. A lease kept because HNS keeps failing would leak for good
//        (leaked leases are the commonest failure users report), while an
//        address released too early is caught by HNS, which refuses an
//        endpoint whose address is in use on the network ("The object already
//        exists", microsoft/SDN#333); the runtime retries the failed DEL.
// CHECK: one plan reading network, endpoint and namespace; then IPAM CHECK.
// STATUS: IPAM STATUS (no PowerShell: runtimes poll STATUS), and how many
//        recorded attachments the last HNS namespace listing shows gone.
// GC:    DELs the recorded attachments whose namespace is gone or that the
//        runtime does not list.
//
// Run by the runtime itself (not as flannel's delegate) with host-local
// IPAM, a plugin records each attachment with its HNS namespace GUID
// (attachments/): an ADD that finds the range set exhausted first DELs the
// attachments whose namespace is gone (a full DEL: endpoint and lease), then
// tries once more. Nothing is handed to host-local's GC, which would release
// every lease it does not see listed, those of others too: kube-proxy's
// "dummy" source-VIP lease lives in the same store. With a host-local store,
// ADD and DEL plans also list the HNS namespaces, for STATUS.

export interface Lease {
  cidr: CIDR;
  /** The address as Go prints it. */
  ip: string;
}

export interface EndpointContext<C> {
  conf: C;
  api: ApiVersion;
  lease: Lease | undefined;
  /** Present when a loopback DSR policy is wanted: the run-time condition that HNS supports it. */
  dsr: Cond | undefined;
  /** The user's EndpointPolicy values, as written (generated policies are checked against them). */
  userPolicies: unknown[];
}

export interface FlavourSteps {
  steps: Step[];
  /** Message for each step that stops the plan when its check fails. */
  stops: Record<string, string>;
  /** When the network, as the network lookup reads it, is usable (the lookup waits for it). */
  networkUntil?: Cond;
}

export interface Flavour<C extends HnsNetConf> {
  readonly type: 'win-bridge' | 'win-overlay';
  load(stdin: Buffer): C;
  /** ADD-time checks of the flavour's own fields. */
  validate(conf: C): void;
  readonly networkTypes: readonly string[];
  networkTypeIgnoresCase(api: ApiVersion): boolean;
  notFound(network: string): string;
  wrongType(network: string, type: string): string;
  ipamRequired(api: ApiVersion): boolean;
  /** Throws when the lease cannot be used. */
  checkLease(lease: Lease, api: ApiVersion): void;
  /** `wait`: how a step waits for what flanneld has not finished yet. */
  networkSteps(conf: C, api: ApiVersion, wait: Retry): FlavourSteps;
  /** Gateway, MAC and the generated policies (in order, after the user's). */
  endpoint(ctx: EndpointContext<C>): { gateway?: unknown; mac?: string | undefined; generated: unknown[] };
}

// PowerShell gets this long beyond the network wait (HNS calls can hang).
const PROCESS_GRACE_MS = 60_000;

function leaseOf(result: AnyResult): Lease {
  const first = toResult100(result).ips?.[0];
  const cidr = first ? parseCIDR(first.address) : undefined;
  if (!cidr) throw new CniError(ErrorCode.Internal, 'IPAM plugin return is missing IP config');
  return { cidr, ip: formatIP(cidr.ip) };
}

/** An HNS error record is JSON whose Error says it best; otherwise the text as is. */
function recordText(record: string | null): string {
  if (!record) return '';
  try {
    const parsed: unknown = JSON.parse(record);
    const error = pick(parsed, 'Error');
    if (typeof error === 'string' && error !== '') return error;
  } catch {
    // not JSON
  }
  return record.slice(0, 500);
}

function failureText(f: PlanFailure): string {
  let out = f.message ?? 'failed';
  // hr null: an error envelope, whose Error is the message already.
  if (f.hr !== null) {
    out += ` (${hex(f.hr)})`;
    const extra = recordText(f.record);
    if (extra && !out.includes(extra)) out += `: ${extra}`;
  }
  return out;
}

/** The CniError for a plan that failed or stopped. */
function planError(answer: PlanAnswer, built: BuiltPlan, stops: Record<string, () => CniError>): CniError {
  const rollback = answer.undone
    .filter((u) => !u.ok)
    .map((u) => `rollback failed, ${built.about[u.step ?? ''] ?? u.step}: ${failureText(u)}`)
    .join('; ');
  if (answer.stopped !== null) {
    const stop = stops[answer.stopped];
    const err = stop ? stop() : new CniError(ErrorCode.Internal, `HNS plan stopped at ${answer.stopped}`);
    return rollback ? new CniError(err.code, err.msg, rollback) : err;
  }
  const f = answer.error!;
  const what = f.step === null ? 'running weft-hns.ps1' : (built.about[f.step] ?? f.step);
  return new CniError(ErrorCode.Internal, `${what}: ${failureText(f)}`, rollback);
}

/** A failure a plan step kept as its output (tolerate keep). */
function keptFailure(value: unknown): PlanFailure | undefined {
  if (!isPlainObject(value) || value.failed !== true) return undefined;
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  return { step: null, hr: typeof value.hr === 'number' ? value.hr : null, message: s(value.message), record: s(value.record) };
}

/** The ID, lower case, of each endpoint `namespace` lists. */
function namespaceEndpointIds(namespace: unknown, api: ApiVersion): string[] {
  const resources = pick(namespace, ...hnsApi(api).paths.namespaceResources);
  if (!Array.isArray(resources)) return [];
  return resources
    .filter((r) => pick(r, 'Type') === 'Endpoint')
    .map((r) => pick(r, ...hnsApi(api).paths.resourceEndpointId))
    .filter((id): id is string => typeof id === 'string')
    .map((id) => id.toLowerCase());
}

/** Why the endpoint is not in the namespace after the attach failed. */
function attachError(answer: PlanAnswer, api: ApiVersion, name: string, namespace: string): CniError {
  const failure = keptFailure(answer.outputs.attach);
  const p = hnsApi(api).paths;
  const endpointId = String(pick(answer.outputs.created, ...p.endpointId) ?? pick(answer.outputs.existing, ...p.endpointId) ?? '').toLowerCase();
  const holder = (Array.isArray(answer.outputs.namespaces) ? answer.outputs.namespaces : []).find((ns) =>
    namespaceEndpointIds(ns, 2).includes(endpointId),
  );
  const holderId = pick(holder, 'ID') ?? pick(answer.outputs.existing, ...p.endpointNamespace);
  if (failure?.hr === HRESULT.endpointNamespaceAlreadyExists || holderId !== undefined) {
    const where = holderId !== undefined ? `HNS namespace ${String(holderId).toLowerCase()}` : 'another HNS namespace (HNS does not say which)';
    return new CniError(ErrorCode.Internal, `HNS endpoint ${name} is in ${where}, not in namespace ${namespace}`);
  }
  return new CniError(ErrorCode.Internal, `attaching HNS endpoint ${name} to namespace ${namespace}: ${failure ? failureText(failure) : 'failed'}`);
}

function logTolerated(answer: PlanAnswer): void {
  for (const t of answer.tolerated) log.info('HNS failure tolerated', { step: t.step, error: failureText(t) });
}

const delegateCtx = (args: CmdArgs) => ({ env: args.env });

/** True when the lease is gone again. */
async function releaseLease(ipamType: string, args: CmdArgs): Promise<boolean> {
  try {
    await delegateDel(ipamType, args.stdinData, delegateCtx(args));
    return true;
  } catch (e) {
    log.error('IPAM DEL after a failed ADD failed', { error: asCniError(e).message });
    return false;
  }
}

/** The store the attachment's addresses come from, when it is host-local's (records are kept beside it). */
export const attachmentSite = (conf: HnsNetConf): AttachmentSite | undefined => hostLocalSite(conf.name, conf.ipam);

interface NamespaceListing {
  plan(p: Plan): Plan;
  keep(answer: PlanAnswer): void;
}

const NO_LISTING: NamespaceListing = { plan: (p) => p, keep: () => {} };

/**
 * Beside a host-local store that holds records (its own, or flannel's), an
 * ADD or DEL plan also lists the HNS namespaces, first (so that a plan that stops lists
 * them too), and the listing is left beside the records for STATUS
 * (attachments/hns-listing.ts): one HCN call, no PowerShell of its own.
 */
function namespaceListing(site: AttachmentSite | undefined): NamespaceListing {
  if (!site) return NO_LISTING;
  let covered: Set<string>;
  try {
    covered = coveredBy(listRecords(site).flatMap((s) => ('record' in s ? [s.record] : [])));
  } catch (e) {
    log.warn('cannot read the attachment records; HNS namespaces are not listed for STATUS', { error: asCniError(e).message });
    return NO_LISTING;
  }
  // A listing can judge only records that exist before it.
  if (covered.size === 0) return NO_LISTING;
  return {
    plan: (p) => ({ ...p, steps: [namespaceIdsStep(LISTING_STEP), ...p.steps] }),
    keep: (answer) => {
      const listing = listedNamespaces(answer, covered);
      if (!('unknown' in listing)) saveListing(site, listing);
    },
  };
}

/** ADD through the attachment records: recorded, and retried once after a reclaim when the range set is exhausted. */
async function add<C extends HnsNetConf>(f: Flavour<C>, args: CmdArgs): Promise<string> {
  // Loaded first: a config a DEL could not load again must not leave a record behind.
  const conf = f.load(args.stdinData);
  const record = await recordAttachment(args, f.type, attachmentSite(conf), namespaceIdentity('windows', args.netns));
  const out = await addWithReclaim(record, () => addOnce(f, conf, args));
  if ('error' in out) throw out.error;
  return out.result;
}

/** One try: throws while it has done nothing; after the IPAM ADD, says whether its failure undid everything. */
async function addOnce<C extends HnsNetConf>(f: Flavour<C>, conf: C, args: CmdArgs): Promise<AddAttempt> {
  validateForAdd(conf);
  f.validate(conf);
  const api = apiVersionOf(conf);
  const namespace = requireNamespaceId(args.netns);
  const name = endpointName(args.containerId, args.netns, conf.name);
  const ipamType = conf.ipam?.type ?? '';
  if (!ipamType && f.ipamRequired(api)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${f.type} with apiVersion ${api} needs an IPAM plugin: ipam.type is empty`);
  }

  let lease: Lease | undefined;
  let keepLease = false;
  // An endpoint the plan's undo could not delete.
  let endpointLeft = false;
  let ipamFailure: CniError | undefined;
  if (ipamType) {
    try {
      lease = leaseOf(await delegateAdd(ipamType, args.stdinData, delegateCtx(args)));
    } catch (e) {
      // Maybe this ADD is a repeat and the endpoint (and its lease) exist: the plan may reuse it.
      ipamFailure = asCniError(e).wrap('error while executing IPAM addition');
    }
  }

  try {
    if (lease) f.checkLease(lease, api);
    const wait: Retry = { delaysMs: backoffDelays(networkWaitMs(conf)), withinMs: networkWaitMs(conf) };
    const extra = f.networkSteps(conf, api, wait);
    const userPolicies = userPolicyValues(conf);
    const built = addPlan({
      api,
      network: conf.name,
      endpoint: name,
      namespace,
      ip: lease?.ip,
      loopbackDSR: conf.loopbackDSR === true,
      networkWait: extra.networkUntil ? { ...wait, until: extra.networkUntil } : wait,
      networkTypes: f.networkTypes,
      networkTypeIgnoresCase: f.networkTypeIgnoresCase(api),
      reuseOnly: ipamFailure !== undefined,
      extraSteps: extra.steps,
      spec: (dsr) => {
        const own = f.endpoint({ conf, api, lease, dsr, userPolicies });
        const policies = [...userPolicies.map((v) => forApi(v, api)).filter((v) => v !== undefined), ...own.generated];
        return { name, networkId: networkIdValue(api), ip: lease?.ip, gateway: own.gateway, mac: own.mac, dns: mergedDns(conf), policies };
      },
    });
    const listing = namespaceListing(attachmentSite(conf));
    let answer: PlanAnswer;
    try {
      answer = await runPlan(listing.plan(built.plan), { env: args.env, timeoutMs: networkWaitMs(conf) + PROCESS_GRACE_MS });
    } catch (e) {
      if (e instanceof NoAnswerError && lease) {
        keepLease = !(await cleanedUp(api, name, namespace, args));
        throw new CniError(
          e.code,
          e.msg,
          [e.details, keepLease ? `HNS may hold endpoint ${name} with ${lease.ip}, so that address stays leased` : `endpoint ${name} is not in HNS`]
            .filter(Boolean)
            .join('; '),
        );
      }
      throw ipamFailure ?? e;
    }
    listing.keep(answer);
    logTolerated(answer);
    if (!answer.ok) {
      endpointLeft = answer.undone.some((u) => !u.ok);
      if (ipamFailure) throw ipamFailure;
      const waited = `${networkWaitMs(conf) / 1000}s`;
      throw planError(answer, built, {
        network: () => new CniError(ErrorCode.TryAgainLater, `${f.notFound(conf.name)}: no HNS network of that name appeared within ${waited}`),
        usable: () => new CniError(ErrorCode.Internal, `HNS endpoint ${name} has no IP address`),
        networkType: () =>
          new CniError(ErrorCode.InvalidNetworkConfig, f.wrongType(conf.name, String(pick(answer.outputs.network, ...hnsApi(api).paths.networkType) ?? ''))),
        attached: () => attachError(answer, api, name, namespace),
        ...Object.fromEntries(Object.entries(extra.stops).map(([id, msg]) => [id, () => new CniError(ErrorCode.TryAgainLater, msg)])),
      });
    }
    const endpoint = answer.outputs.created ?? answer.outputs.existing;
    const prefix = pick(answer.outputs.network, ...hnsApi(api).paths.networkPrefix);
    return { result: printResult(addResult(endpoint, prefix, lease?.cidr, api), conf.cniVersion ?? '') };
  } catch (error) {
    const released = !lease || (!keepLease && (await releaseLease(ipamType, args)));
    return { error, undone: released && !endpointLeft };
  }
}

/** After a lost answer: delete the endpoint by name. True when HNS says it is gone. */
async function cleanedUp(api: ApiVersion, name: string, namespace: string, args: CmdArgs): Promise<boolean> {
  try {
    const answer = await runPlan(delPlan(api, name, namespace).plan, { env: args.env, timeoutMs: PROCESS_GRACE_MS });
    logTolerated(answer);
    if (!answer.ok) log.error('cleanup after a lost HNS answer failed', { endpoint: name, answer });
    return answer.ok;
  } catch (e) {
    log.error('cleanup after a lost HNS answer failed', { endpoint: name, error: asCniError(e).message });
    return false;
  }
}

async function del<C extends HnsNetConf>(f: Flavour<C>, args: CmdArgs): Promise<void> {
  const conf = f.load(args.stdinData);
  const api = apiVersionOf(conf);
  let hnsError: CniError | undefined;
  // "container:<id>": the endpoint is the sandbox's; its own DEL removes it.
  if (!isSharedNetns(args.netns)) {
    const built = delPlan(api, endpointName(args.containerId, args.netns, conf.name), namespaceId(args.netns));
    const listing = namespaceListing(attachmentSite(conf));
    try {
      const answer = await runPlan(listing.plan(built.plan), { env: args.env, timeoutMs: PROCESS_GRACE_MS });
      listing.keep(answer);
      logTolerated(answer);
      if (!answer.ok) {
        const failure = keptFailure(answer.outputs.deleted);
        hnsError = planError(answer, built, {
          gone: () => new CniError(ErrorCode.Internal, `${built.about.deleted}: ${failure ? failureText(failure) : 'failed'}`),
        });
      }
    } catch (e) {
      hnsError = asCniError(e);
    }
  }
  const ipamType = conf.ipam?.type ?? '';
  if (ipamType) {
    try {
      await delegateDel(ipamType, args.stdinData, delegateCtx(args));
    } catch (e) {
      if (!hnsError) throw e;
      const ipam = asCniError(e).message;
      hnsError = new CniError(hnsError.code, hnsError.msg, [hnsError.details, `IPAM DEL failed too: ${ipam}`].filter(Boolean).join('; '));
    }
  }
  if (hnsError) throw hnsError;
  forgetAttachment(args, attachmentSite(conf));
}

async function check<C extends HnsNetConf>(f: Flavour<C>, args: CmdArgs): Promise<void> {
  const conf = f.load(args.stdinData);
  const api = apiVersionOf(conf);
  const namespace = requireNamespaceId(args.netns);
  const name = endpointName(args.containerId, args.netns, conf.name);
  const prev = parsePrevResult(conf);
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'required prevResult missing');
  const prev100 = toResult100(prev);
  const prevIp = parseCIDR(prev100.ips?.[0]?.address ?? '');
  if (!prevIp) throw new CniError(ErrorCode.InvalidNetworkConfig, 'prevResult has no IP address to check');

  const built = checkPlan(api, conf.name, name, namespace);
  const answer = await runPlan(built.plan, { env: args.env, timeoutMs: PROCESS_GRACE_MS });
  if (!answer.ok) {
    throw planError(answer, built, { network: () => new CniError(ErrorCode.Internal, f.notFound(conf.name)) });
  }
  const p = hnsApi(api).paths;
  const endpoint = answer.outputs.existing;
  if (!endpoint) throw new CniError(ErrorCode.UnknownContainer, `HNS endpoint ${name} not found`);
  const networkId = String(pick(answer.outputs.network, ...p.networkId) ?? '');
  const onNetwork = String(pick(endpoint, ...p.endpointNetwork) ?? '');
  if (onNetwork.toLowerCase() !== networkId.toLowerCase()) {
    throw new CniError(ErrorCode.Internal, `HNS endpoint ${name} is on network ${onNetwork}, not on ${conf.name} (${networkId})`);
  }
  const unread = keptFailure(answer.outputs.namespace);
  // Not found by HRESULT, or a v1 error envelope (localized text, no code): either way the namespace cannot be read.
  if (unread && (unread.hr === null || isNotFound(unread.hr))) throw new CniError(ErrorCode.UnknownContainer, `HNS namespace ${namespace} not found`);
  if (unread) throw new CniError(ErrorCode.Internal, `${built.about.namespace}: ${failureText(unread)}`);
  const endpointId = String(pick(endpoint, ...p.endpointId) ?? '').toLowerCase();
  if (!namespaceEndpointIds(answer.outputs.namespace, api).includes(endpointId)) {
    throw new CniError(ErrorCode.Internal, `HNS endpoint ${name} is not attached to namespace ${namespace}`);
  }
  const facts = endpointFacts(endpoint, api);
  const ip = parseIP(facts.ip);
  if (!ip || formatIP(ip) !== formatIP(prevIp.ip)) {
    throw new CniError(ErrorCode.Internal, `HNS endpoint ${name} has address ${facts.ip || '(none)'}, the previous result says ${formatIP(prevIp.ip)}`);
  }
  const prevMac = prev100.interfaces?.[0]?.mac;
  if (prevMac && facts.mac && prevMac.toLowerCase() !== facts.mac.toLowerCase()) {
    throw new CniError(ErrorCode.Internal, `HNS endpoint ${name} has MAC ${facts.mac}, the previous result says ${prevMac}`);
  }
  const ipamType = conf.ipam?.type ?? '';
  if (ipamType) await delegateCheck(ipamType, args.stdinData, delegateCtx(args));
}

async function status<C extends HnsNetConf>(f: Flavour<C>, args: CmdArgs): Promise<void> {
  const conf = f.load(args.stdinData);
  const ipamType = conf.ipam?.type ?? '';
  if (ipamType) await statusWithReclaim(args, attachmentSite(conf), () => delegateStatus(ipamType, args.stdinData, delegateCtx(args)));
}

/**
 * GC (CNI 1.1): reclaim the recorded attachments whose namespace is gone and
 * DEL those the runtime does not list (endpoint and lease). What has no
 * record is left alone: leases and endpoints weft did not make (the host's
 * <network>_ep, kube-proxy's "dummy" lease), and, as flannel's delegate,
 * everything (flannel keeps the records then, and GCs them itself).
 */
async function gc<C extends HnsNetConf>(f: Flavour<C>, args: CmdArgs): Promise<void> {
  const conf = f.load(args.stdinData);
  const valid = validAttachments(parseConfDocument(args.stdinData));
  const errors = await gcAttachments(args, attachmentSite(conf), valid, 'del');
  const failed = collectedError(errors);
  if (failed) throw failed;
}

export function hnsPlugin<C extends HnsNetConf>(f: Flavour<C>, about: string): Plugin {
  return {
    type: f.type,
    about,
    versions: ALL_VERSIONS,
    add: (args) => add(f, args),
    check: (args) => check(f, args),
    del: (args) => del(f, args),
    gc: (args) => gc(f, args),
    status: (args) => status(f, args),
  };
}
