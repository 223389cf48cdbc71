import fs from 'node:fs';

// Random bytes for veth names and MACs. Read from /dev/urandom: loading
// node:crypto costs a plugin start 3-6 ms, and this needs a dozen bytes.

let urandom: number | undefined;

export function randomBytes(n: number): Buffer {
  urandom ??= fs.openSync('/dev/urandom', 'r');
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) off += fs.readSync(urandom, buf, off, n - off, null);
  return buf;
}
