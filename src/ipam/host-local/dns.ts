import { CniError, ErrorCode } from '../../cni/errors.ts';
import { type FileReadError, readRegularFile } from '../../cni/regular-file.ts';
import type { DNS } from '../../cni/result/types.ts';

// resolv.conf as host-local reads it (reference-plugins.md §2.10). Unlike
// glibc, `search` lines accumulate; `domain` keeps the last one.

export function parseResolvConfText(text: string): DNS {
  const dns: DNS = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [keyword, first, ...rest] = fields as [string, string, ...string[]];
    switch (keyword) {
      case 'nameserver':
        (dns.nameservers ??= []).push(first);
        break;
      case 'domain':
        dns.domain = first;
        break;
      case 'search':
        (dns.search ??= []).push(first, ...rest);
        break;
      case 'options':
        (dns.options ??= []).push(first, ...rest);
        break;
    }
  }
  return dns;
}

/** The most of a resolv.conf weft reads: real ones are well under 4 KiB (glibc uses 3 nameservers, 6 search domains). */
export const RESOLV_CONF_LIMIT = 64 * 1024;

/** Read and parse a resolv.conf; a missing file is the OS error, like the reference. */
export function parseResolvConf(file: string): DNS {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(file, RESOLV_CONF_LIMIT, 'resolv.conf');
  } catch (e) {
    throw new CniError(ErrorCode.IOFailure, (e as FileReadError).message);
  }
  return parseResolvConfText(bytes.toString('utf8'));
}
