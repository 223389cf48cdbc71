import util from 'node:util';

// Go's os errors read "open /etc/cni/net.d/x.conf: permission denied"; Node's
// read "EACCES: permission denied, open '...'". Operators compare cnitool's
// output with upstream's, so file errors are phrased the Go way.

const GO_TEXT: Record<string, string> = {
  EISDIR: 'is a directory',
};

/** The text Go's *PathError gives for a failed file operation. */
export function goPathError(op: string, file: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text =
    (e.code && GO_TEXT[e.code]) ?? (typeof e.errno === 'number' ? util.getSystemErrorMap().get(e.errno)?.[1] : undefined) ?? e.message;
  return `${op} ${file}: ${text}`;
}
