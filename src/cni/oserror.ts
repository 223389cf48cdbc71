// Named, not default: esbuild's default-import shim reads every property of
// node:util, and some of those load a dozen more modules at start-up.
import { getSystemErrorMap } from 'node:util';

// Go's os errors read "open /etc/cni/net.d/x.conf: permission denied"; Node's
// read "EACCES: permission denied, open '...'", and leave the file out of
// read and write errors. Operators compare weft's output with the reference
// plugins' and need to know which file system is in trouble, so file errors
// are phrased the Go way, always with the file.

const GO_TEXT: Record<string, string> = {
  EISDIR: 'is a directory',
};

/** The system's wording of an errno name ("ENOSPC" -> "no space left on device"). */
function systemErrorText(code: string): string | undefined {
  for (const [name, text] of getSystemErrorMap().values()) if (name === code) return text;
  return undefined;
}

/** What went wrong, in the system's words as Go prints them ("permission denied"), without Node's framing. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e.code && (GO_TEXT[e.code] ?? systemErrorText(e.code))) ?? e.message;
}

/** The text Go's *PathError gives for a failed file operation. */
export function goPathError(op: string, file: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = errnoText(e);
  // Opening a directory succeeds in Go; reading it is what fails.
  return `${e.code === 'EISDIR' ? 'read' : op} ${file}: ${text}`;
}

/** Record on a Node fs error which file it concerns, when Node did not (fd-based calls). */
export function withPath(err: unknown, file: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.path === undefined) e.path = file;
  return err;
}

/** A Node system error (errno code and the call that failed), as opposed to any other error. */
export const isSystemError = (err: unknown): err is NodeJS.ErrnoException =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';

/**
 * A Node system error as Go would word it ("write /x/y: no space left on
 * device", "read: input/output error" when Node did not say which file);
 * other errors as they are.
 */
export function fsErrorMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.path === 'string') {
    return goPathError(e.syscall ?? 'open', e.path, e);
  }
  if (isSystemError(e)) return `${e.syscall}: ${errnoText(e)}`;
  return err instanceof Error ? err.message : String(err);
}
