import fs from 'node:fs';
import path from 'node:path';
import { cniBin, tempDir } from './tmp.ts';

// A CNI_PATH directory for tests that run weft plugins together with an IPAM
// plugin. Which host-local the tests use is decided here only.

const WEFT = path.join(cniBin, 'weft.cjs');

/** The host-local the tests delegate to: weft's own (run in process by a weft plugin). */
export const HOST_LOCAL = WEFT;

/**
 * A fresh directory with `weft` plugin links (`bridge` by default), `host-local`,
 * and any `extra` name → target links.
 */
export function cniPathDir(opts: { weft?: string[]; extra?: Record<string, string> } = {}): string {
  const dir = tempDir('weft-cnipath-');
  // The links have no extension; this keeps node from reading them as ES modules.
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  for (const name of opts.weft ?? ['bridge']) fs.symlinkSync(WEFT, path.join(dir, name));
  fs.symlinkSync(HOST_LOCAL, path.join(dir, 'host-local'));
  for (const [name, target] of Object.entries(opts.extra ?? {})) fs.symlinkSync(target, path.join(dir, name));
  return dir;
}
