// Removing a PE file's Authenticode signature, what `signtool remove /s`
// does: node.exe ships signed, and injecting the SEA blob would otherwise
// leave a signature that no longer matches (Windows reports it corrupted).
// The result is a plainly unsigned executable that an operator may sign.
import fs from 'node:fs';

const PE32_PLUS = 0x20b;
const SECURITY_DIRECTORY = 4;

export function stripAuthenticode(file) {
  const buf = fs.readFileSync(file);
  if (buf.readUInt16LE(0) !== 0x5a4d) throw new Error(`${file}: not a PE file (no MZ header)`);
  const pe = buf.readUInt32LE(0x3c);
  if (buf.readUInt32LE(pe) !== 0x00004550) throw new Error(`${file}: no PE signature`);
  const optional = pe + 24;
  if (buf.readUInt16LE(optional) !== PE32_PLUS) throw new Error(`${file}: not a PE32+ executable`);
  const entry = optional + 112 + SECURITY_DIRECTORY * 8;
  const offset = buf.readUInt32LE(entry);
  const size = buf.readUInt32LE(entry + 4);
  if (offset === 0 || size === 0) return false;
  if (offset + size !== buf.length) throw new Error(`${file}: the signature is not at the end of the file`);
  buf.writeUInt32LE(0, entry);
  buf.writeUInt32LE(0, entry + 4);
  buf.writeUInt32LE(0, optional + 64); // CheckSum: not verified for user-mode images
  fs.writeFileSync(file, buf.subarray(0, offset));
  return true;
}

/** The Security directory entry of a PE file (both zero when unsigned). */
export function securityDirectory(buf) {
  const pe = buf.readUInt32LE(0x3c);
  const entry = pe + 24 + 112 + SECURITY_DIRECTORY * 8;
  return { offset: buf.readUInt32LE(entry), size: buf.readUInt32LE(entry + 4) };
}
