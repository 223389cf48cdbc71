import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../../cni/errors.ts';
import { fsErrorMessage, withPath } from '../../cni/oserror.ts';
import { step } from '../../cni/profile.ts';
import { readRegularFile } from '../../cni/regular-file.ts';
import { type IP, formatIP, parseIP } from '../../net/ip.ts';

// The reference plugin's on-disk store, byte for byte (reference-plugins.md
// §2.6): <dataDir>/<network>/<ip> holding "<containerID>\r\n<ifname>" (mode
// 0600, no trailing newline) and last_reserved_ip.<rangeID>. Either plugin
// can take over a store the other wrote. weft's own files (lock, index,
// temporary files) live in <dataDir>/.weft/<network>/, outside the folder the
// reference walks; a name starting with '.' can never be a network name.

export const LINE_BREAK = '\r\n';
const LAST_RESERVED_PREFIX = 'last_reserved_ip.';
const STATE_DIR = '.weft';

export interface StorePaths {
  dataDir: string;
  network: string;
  /** The reference's folder for this network. */
  netDir: string;
  /** weft's lock, index and temporary files for this network. */
  stateDir: string;
  lockDir: string;
  tmpDir: string;
}

export function storePaths(dataDir: string, network: string): StorePaths {
  const stateDir = path.join(dataDir, STATE_DIR, network);
  return {
    dataDir,
    network,
    netDir: path.join(dataDir, network),
    stateDir,
    lockDir: path.join(stateDir, 'lock'),
    tmpDir: path.join(stateDir, 'tmp'),
  };
}

// Go's unicode.IsSpace, for strings.TrimSpace.
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export const goTrimSpace = (s: string): string => s.replace(GO_SPACE, '');

/** What a lease file says for an attachment. */
export const leaseContent = (containerId: string, ifName: string): string =>
  goTrimSpace(containerId) + LINE_BREAK + ifName;

/** What a lease file of an old version says: the container ID alone. */
export const legacyLeaseContent = (containerId: string): string => goTrimSpace(containerId);

/** The file name of an IP's lease (Windows cannot have ':' in names). */
export const leaseFileName = (ip: IP, platform = process.platform): string =>
  platform === 'win32' ? formatIP(ip).replaceAll(':', '_') : formatIP(ip);

/** The IP a file name stands for; only the canonical spelling the plugins write counts. */
export function leaseFileIP(name: string, platform = process.platform): IP | undefined {
  const text = platform === 'win32' ? name.replaceAll('_', ':') : name;
  const ip = parseIP(text);
  return ip && formatIP(ip) === text ? ip : undefined;
}

/** Code 5, with Go's wording of the file error ("write /x: no space left on device"). */
const ioError = (what: string, e: unknown) => new CniError(ErrorCode.IOFailure, `${what}: ${fsErrorMessage(e)}`);

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** The most of a lease or last_reserved_ip file read: the plugins write a container ID and an interface name. */
const STORE_FILE_LIMIT = 64 * 1024;

/** A store file's text; undefined when there is none. Only a regular file is read (FileReadError otherwise). */
function readSmallFile(file: string): string | undefined {
  try {
    return readRegularFile(file, STORE_FILE_LIMIT, 'host-local store file').toString('utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** The trimmed content of the lease file of `ip`, or undefined when there is none. */
export function readLease(paths: StorePaths, ip: IP): string | undefined {
  try {
    const text = readSmallFile(path.join(paths.netDir, leaseFileName(ip)));
    return text === undefined ? undefined : goTrimSpace(text);
  } catch (e) {
    // Something else in a lease's place (a directory, a pipe, a huge file) is not a lease anyone wrote.
    if (['EISDIR', 'ENOTREG', 'EFBIG'].includes(errno(e) ?? '')) return undefined;
    throw ioError(`failed to read lease ${formatIP(ip)}`, e);
  }
}

let tmpCounter = 0;

const tmpName = (kind: string): string => `${kind}-${process.pid}-${++tmpCounter}-${Math.random().toString(36).slice(2, 8)}`;

/** Create a temporary file with `content` (fsync'd when asked), in weft's folder or else in `fallbackDir`. */
function writeTemp(paths: StorePaths, kind: string, content: string, sync: boolean, inDir = paths.tmpDir): string {
  const file = path.join(inDir, tmpName(kind));
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (e) {
    if (errno(e) !== 'ENOENT' || inDir !== paths.tmpDir) throw e;
    fs.mkdirSync(paths.tmpDir, { recursive: true, mode: 0o700 });
    fd = fs.openSync(file, 'wx', 0o600);
  }
  try {
    // A short write (the disk filling up) must not leave a cut-short lease to link into place.
    const bytes = Buffer.from(content);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    if (sync) step('fsync', () => fs.fsyncSync(fd));
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw withPath(e, file);
  }
  fs.closeSync(fd);
  return file;
}

/**
 * Reserve `ip`: the complete, fsync'd file is linked into place, so it is
 * never visible half-written, and link() refuses an existing name, which
 * makes it the atomic reservation. False when the IP is already taken.
 */
export function createLease(paths: StorePaths, ip: IP, content: string): boolean {
  const target = path.join(paths.netDir, leaseFileName(ip));
  const attempt = (dir?: string): boolean => {
    const tmp = writeTemp(paths, 'lease', content, true, dir);
    try {
      fs.linkSync(tmp, target);
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  };
  try {
    try {
      return attempt();
    } catch (e) {
      // weft's folder on another file system: stage the file beside the lease instead.
      if (errno(e) !== 'EXDEV') throw e;
      return attempt(paths.netDir);
    }
  } catch (e) {
    throw ioError(`failed to reserve ${formatIP(ip)}`, e);
  }
}

/** Remove the lease file of `ip`; false when there was none. */
export function removeLease(paths: StorePaths, ip: IP): boolean {
  try {
    fs.unlinkSync(path.join(paths.netDir, leaseFileName(ip)));
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw ioError(`failed to release ${formatIP(ip)}`, e);
  }
}

const lastReservedFile = (paths: StorePaths, rangeId: number): string =>
  path.join(paths.netDir, LAST_RESERVED_PREFIX + rangeId);

/**
 * The last IP reserved in range set `rangeId`. A missing or unparsable file
 * (the reference does not trim, so a trailing newline is unparsable) means
 * "start from the beginning", as in the reference.
 */
export function readLastReserved(paths: StorePaths, rangeId: number): IP | undefined {
  try {
    const text = readSmallFile(lastReservedFile(paths, rangeId));
    return text === undefined ? undefined : parseIP(text);
  } catch {
    return undefined;
  }
}

/** Replace last_reserved_ip.<rangeID> atomically (temporary file, then rename). */
export function writeLastReserved(paths: StorePaths, rangeId: number, ip: IP): void {
  const target = lastReservedFile(paths, rangeId);
  const attempt = (dir?: string): void => {
    const tmp = writeTemp(paths, 'last', formatIP(ip), false, dir);
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  };
  try {
    try {
      attempt();
    } catch (e) {
      if (errno(e) !== 'EXDEV') throw e;
      attempt(paths.netDir);
    }
  } catch (e) {
    throw ioError(`failed to record the last reserved IP`, e);
  }
}

/**
 * Remove temporary files a killed process left. Every file there is written
 * under the network lock, which the caller holds, so none is in use.
 */
export function removeOrphanTemps(paths: StorePaths): void {
  let names: string[];
  try {
    names = fs.readdirSync(paths.tmpDir);
  } catch (e) {
    // Something else in the place of weft's folder would fail every ADD: it is junk.
    if (errno(e) === 'ENOTDIR') fs.rmSync(paths.tmpDir, { force: true });
    return;
  }
  for (const n of names) fs.rmSync(path.join(paths.tmpDir, n), { force: true });
}

export interface ScannedLease {
  ip: IP;
  /** The trimmed file content. */
  content: string;
}

/**
 * Read every lease of the network folder: the source of truth weft's index is
 * rebuilt from. Only regular files named by a canonical IP are leases. `pause`
 * is awaited now and then so that a long scan can keep its lock fresh.
 */
export async function scanLeases(paths: StorePaths, pause: () => Promise<void>): Promise<ScannedLease[]> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(paths.netDir, { withFileTypes: true });
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw ioError(`failed to read ${paths.netDir}`, e);
  }
  const out: ScannedLease[] = [];
  let n = 0;
  for (const d of entries) {
    if (++n % 1024 === 0) await pause();
    if (!d.isFile()) continue;
    const ip = leaseFileIP(d.name);
    if (!ip) continue;
    const content = readLease(paths, ip);
    if (content !== undefined) out.push({ ip, content });
  }
  return out;
}

/** Create the network folder the way the reference does, with its (flock) lock file. */
export function ensureNetDir(paths: StorePaths): void {
  try {
    fs.mkdirSync(paths.netDir, { mode: 0o755 });
  } catch (e) {
    if (errno(e) === 'EEXIST') return;
    if (errno(e) !== 'ENOENT') throw ioError(`failed to create ${paths.netDir}`, e);
    try {
      fs.mkdirSync(paths.netDir, { recursive: true, mode: 0o755 });
    } catch (e2) {
      throw ioError(`failed to create ${paths.netDir}`, e2);
    }
  }
  // The reference flocks this file; creating it keeps the folder exactly as it leaves it.
  // (Non-blocking: a FIFO in its place must not stall the ADD.)
  try {
    const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NONBLOCK ?? 0);
    fs.closeSync(fs.openSync(path.join(paths.netDir, 'lock'), flags, 0o750));
  } catch {
    // Only the reference uses it, and it creates it itself.
  }
}
