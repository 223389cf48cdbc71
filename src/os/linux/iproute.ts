import { CniError, ErrorCode } from '../../cni/errors.ts';
import { type ToolOutput, execTool } from './exec.ts';

// iproute2 driven in batches: one `ip -batch -` process applies many changes,
// in the host namespace or (through nsenter) inside a pod's. A batch stops at
// its first failing line; a line may declare failures it tolerates (a bridge
// another ADD created a moment ago), and then the rest of the batch runs.

export interface IpCommand {
  /** The words of one `ip` command line, without the leading `ip`. */
  readonly argv: readonly string[];
  /** Failure texts (normalised, see `kernelError`) after which the batch goes on. */
  readonly tolerate?: RegExp;
  /** The error weft reports when this line fails, given the tool's error text. */
  readonly onError?: (detail: string) => CniError;
}

/** A batch line that failed: which one, and what iproute2 said. */
export class IpBatchError extends CniError {
  constructor(
    readonly index: number,
    readonly detail: string,
    cause: CniError,
  ) {
    super(cause.code, cause.msg, cause.details);
  }
}

// makeargs() in iproute2 splits on blanks, honours quotes and drops everything
// after '#', so a word carrying any of these cannot pass through a batch intact.
const UNSAFE_WORD = /[\s#'"\\%\x00-\x1f\x7f]/;

/** True when `word` reaches `ip` unchanged as one argument of a batch line. */
export const isBatchSafe = (word: string): boolean => word !== '' && !UNSAFE_WORD.test(word);

export function batchLine(argv: readonly string[]): string {
  for (const w of argv) {
    if (!isBatchSafe(w)) throw new CniError(ErrorCode.Internal, `cannot pass ${JSON.stringify(w)} to ip -batch`);
  }
  return argv.join(' ');
}

export const batchText = (cmds: readonly IpCommand[]): string => cmds.map((c) => `${batchLine(c.argv)}\n`).join('');

/**
 * Go's netlink errors read "file exists"; iproute2 prints
 * "RTNETLINK answers: File exists" or "Error: <extack text>". Weft reports
 * the Go form, so messages match the reference plugins.
 */
export function kernelError(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Command failed /.test(l));
  return lines
    .map((l) => {
      const rt = /^RTNETLINK answers: (.*)$/.exec(l);
      if (rt) return rt[1]!.charAt(0).toLowerCase() + rt[1]!.slice(1);
      return l.replace(/^Error: /, '');
    })
    .join('; ');
}

const FAILED_LINE = /Command failed [^\n]*:(\d+)\s*$/m;

export type BatchRunner = (text: string) => Promise<ToolOutput>;

/**
 * Run `cmds` through `runner` (one process per attempt). Returns the
 * concatenated stdout. Throws IpBatchError for a failing line it may not
 * tolerate, or a plain CniError when the tool died without naming a line.
 */
export async function runBatch(cmds: readonly IpCommand[], runner: BatchRunner, what = 'ip'): Promise<string> {
  let stdout = '';
  let start = 0;
  while (start < cmds.length) {
    const out = await runner(batchText(cmds.slice(start)));
    stdout += out.stdout;
    if (out.code === 0) return stdout;
    const m = FAILED_LINE.exec(out.stderr);
    const detail = kernelError(out.stderr.slice(0, m ? m.index : undefined));
    if (!m) throw new CniError(ErrorCode.Internal, `${what} failed (exit status ${out.code}): ${detail}`);
    const index = start + Number(m[1]) - 1;
    const cmd = cmds[index];
    if (!cmd) throw new CniError(ErrorCode.Internal, `${what} failed: ${detail}`);
    if (cmd.tolerate?.test(detail)) {
      start = index + 1;
      continue;
    }
    const cause = cmd.onError?.(detail) ?? new CniError(ErrorCode.Internal, `ip ${batchLine(cmd.argv)}: ${detail}`);
    throw new IpBatchError(index, detail, cause);
  }
  return stdout;
}

/** Apply `cmds` in this process's network namespace. `json` asks for -j output of show lines. */
export function hostBatch(cmds: readonly IpCommand[], opts: { json?: boolean } = {}): Promise<string> {
  const args = opts.json ? ['-j', '-batch', '-'] : ['-batch', '-'];
  return runBatch(cmds, (text) => execTool('ip', args, text));
}

/** `ip -j <args>` in this namespace, parsed. */
export async function ipJson<T>(args: readonly string[]): Promise<T[]> {
  const out = await execTool('ip', ['-j', ...args]);
  if (out.code !== 0) throw new CniError(ErrorCode.Internal, `ip ${args.join(' ')}: ${kernelError(out.stderr)}`);
  return parseJsonLines<T>(out.stdout);
}

/** `ip -j -batch` prints one JSON array per show line; all their elements in order. */
export function parseJsonLines<T>(stdout: string): T[] {
  const items: T[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v)) items.push(...(v as T[]));
  }
  return items;
}

/** Each show line's array separately (for batches that list different things). */
export function parseJsonArrays(stdout: string): unknown[][] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const v: unknown = JSON.parse(l);
      return Array.isArray(v) ? v : [];
    });
}
