// File errors worded like Go's *PathError ("open /x: no such file or
// directory"), the text operators already search for.

const GO_ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
};

export function fsErrorText(op: string, file: string, err: NodeJS.ErrnoException): string {
  const text = (err.code && GO_ERRNO_TEXT[err.code]) ?? err.message;
  // Reading a directory fails at read, not open, in Go.
  return `${err.code === 'EISDIR' ? 'read' : op} ${file}: ${text}`;
}
