import fs from 'node:fs';
import { goPathError } from './oserror.ts';

// Every file weft reads because a config or the environment names it
// (resolv.conf, subnet.env, saved configs, cache files, conflists, leases)
// is read through here: only a regular file, and only up to a size fit for
// its kind. A plain readFileSync would wait forever on a FIFO, read
// /dev/zero until memory runs out, and word a directory in Node's terms.

// A FIFO opened without it blocks until a writer comes; a regular file does not care.
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** A file that could not be read, with Go's wording and the errno-like reason callers tell apart. */
export class FileReadError extends Error {
  constructor(
    readonly file: string,
    /** ENOENT, ENOTDIR, EACCES, ... from the system; EISDIR, ENOTREG or EFBIG from the checks here. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileReadError';
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

const systemError = (op: string, file: string, e: unknown): FileReadError =>
  new FileReadError(file, (e as NodeJS.ErrnoException).code ?? 'EIO', goPathError(op, file, e));

/**
 * Open `file` for reading if it is a regular file (symbolic links followed);
 * the caller closes the descriptor. Throws FileReadError.
 */
export function openRegularFile(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NONBLOCK);
  } catch (e) {
    throw systemError('open', file, e);
  }
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    throw systemError('stat', file, e);
  }
  if (st.isFile()) return { fd, size: st.size };
  fs.closeSync(fd);
  if (st.isDirectory()) throw new FileReadError(file, 'EISDIR', `read ${file}: is a directory`);
  throw new FileReadError(file, 'ENOTREG', `read ${file}: ${kindOf(st)}, not a regular file`);
}

const sizeText = (n: number): string => (n % 1024 === 0 ? (n % (1 << 20) === 0 ? `${n >> 20} MiB` : `${n >> 10} KiB`) : `${n} bytes`);

/** The error for a file past its kind's limit. */
const tooLarge = (file: string, limit: number, what: string): FileReadError =>
  new FileReadError(file, 'EFBIG', `read ${file}: file too large: weft reads at most ${sizeText(limit)} of a ${what}`);

/**
 * The bytes of the regular file `file`, at most `limit` of them (`what`
 * names the kind of file in the message). Throws FileReadError.
 */
export function readRegularFile(file: string, limit: number, what: string): Buffer {
  const { fd, size } = openRegularFile(file);
  try {
    // One byte more than allowed tells a file at the limit from one past it; it may grow while read.
    let buf = Buffer.allocUnsafe(Math.min(size, limit) + 1);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, limit + 1));
        buf.copy(bigger);
        buf = bigger;
      }
      let n: number;
      try {
        n = fs.readSync(fd, buf, len, buf.length - len, null);
      } catch (e) {
        throw systemError('read', file, e);
      }
      if (n === 0) return buf.subarray(0, len);
      len += n;
      if (len > limit) throw tooLarge(file, limit, what);
    }
  } finally {
    fs.closeSync(fd);
  }
}
