import fs from 'node:fs';
import { CniError, ErrorCode } from '../../cni/errors.ts';
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

/** Read and parse a resolv.conf; a missing file is the OS error, like the reference. */
export function parseResolvConf(file: string): DNS {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === 'ENOENT' ? 'no such file or directory' : err.message;
    throw new CniError(ErrorCode.IOFailure, `open ${file}: ${reason}`);
  }
  return parseResolvConfText(text);
}
