import fs from 'node:fs';
import path from 'node:path';
import { cniBin, tempDir } from '../../helpers/tmp.ts';

// The one place that decides which binary answers to each plugin type in the
// flannel integration tests: weft's own flannel, bridge and host-local (run in
// one process); anything else (portmap) is the reference plugin from
// Debian's containernetworking-plugins.
const FROM_WEFT = new Set(['flannel', 'bridge', 'host-local', 'cnitool']);

const REFERENCE_DIR = '/usr/lib/cni';

/** A fresh CNI_PATH directory holding `types`, linked from weft's build or the reference plugins. */
export function cniPathDir(types: readonly string[]): string {
  const dir = tempDir('weft-cnipath-');
  // The links have no extension; this keeps node from reading weft.cjs as an ES module.
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  for (const type of types) {
    const target = FROM_WEFT.has(type) ? path.join(cniBin, 'weft.cjs') : path.join(REFERENCE_DIR, type);
    fs.symlinkSync(target, path.join(dir, type));
  }
  return dir;
}
