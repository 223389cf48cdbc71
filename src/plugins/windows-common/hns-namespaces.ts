import type { Env } from '../../cni/env.ts';
import { asCniError } from '../../cni/errors.ts';
import { hex } from '../../os/windows/hresult.ts';
import { plan } from '../../os/windows/plan-language.ts';
import { type PlanAnswer, runPlan } from '../../os/windows/powershell.ts';
import type { HnsListingOrWhy } from '../attachments/hns-listing.ts';
import { GUID } from './endpoint-name.ts';
import { namespaceIdsStep } from './hns-api.ts';

// The HNS namespaces that exist, for judging attachment records
// (attachments/hns-listing.ts): the step an ADD or DEL plan carries, and a
// listing of its own, one PowerShell run for all records (a start costs
// about a second, so it is never one per record).

/** The id of the listing step in a plan. */
export const LISTING_STEP = 'namespaceIds';

// As long as HNS may take for any one command.
const LIST_TIMEOUT_MS = 60_000;

/** The namespaces an answer's listing step names, or why it names none (a listing that is not whole proves nothing gone). */
export function listedNamespaces(answer: PlanAnswer, covered: ReadonlySet<string>): HnsListingOrWhy {
  const ids = answer.outputs[LISTING_STEP];
  if (!Array.isArray(ids)) {
    const f = answer.tolerated.find((t) => t.step === LISTING_STEP) ?? (answer.error?.step === LISTING_STEP ? answer.error : undefined);
    const why = f ? `${f.message ?? 'failed'}${f.hr === null ? '' : ` (${hex(f.hr)})`}` : 'no list in the answer';
    return { unknown: `cannot list HNS namespaces: ${why}` };
  }
  if (!ids.every((id): id is string => typeof id === 'string' && GUID.test(id))) return { unknown: 'HNS listed a namespace ID that is not a GUID' };
  return { namespaces: new Set(ids.map((id) => id.toLowerCase())), covered };
}

/** List the namespaces now; `covered`: those of the records read before this call. */
export async function listHnsNamespaces(env: Env, covered: ReadonlySet<string>): Promise<HnsListingOrWhy> {
  try {
    return listedNamespaces(await runPlan(plan([namespaceIdsStep(LISTING_STEP)]), { env, timeoutMs: LIST_TIMEOUT_MS }), covered);
  } catch (e) {
    // One line: it is a note in the operator's table, and a reason in the log.
    return { unknown: `cannot list HNS namespaces: ${asCniError(e).message.split('\n')[0]}` };
  }
}
