import fs from 'node:fs';
import path from 'node:path';
import { startOwned } from '../helpers/run.ts';

// A process that looks at plugin names as fast as it can while an installer
// runs, the way a runtime exec'ing a plugin at that moment would find them:
// it counts every look that found a name missing or not a complete file.

const WATCHER = `
const fs = require('node:fs');
const [dir, stop, names, size] = [process.argv[1], process.argv[2], process.argv[3].split(','), Number(process.argv[4])];
let looks = 0, missing = 0, partial = 0;
const seen = new Set();
process.stdout.write('ready\\n');
while (!fs.existsSync(stop)) {
  for (const n of names) {
    looks++;
    const st = fs.statSync(dir + '/' + n, { throwIfNoEntry: false });
    if (!st) { missing++; continue; }
    seen.add(st.ino);
    if (st.size !== size || (st.mode & 0o111) === 0) partial++;
  }
}
process.stdout.write(JSON.stringify({ looks, missing, partial, inodes: seen.size }));
`;

export interface WatchReport {
  looks: number;
  missing: number;
  partial: number;
  /** How many different files the names were seen as. */
  inodes: number;
}

/** Watch `names` in `dir` (each must always be a complete file of `size` bytes) until the returned stop() is called. */
export async function watchNames(dir: string, names: string[], size: number): Promise<{ stop: () => Promise<WatchReport> }> {
  const stopFile = path.join(dir, '..', `stop-${process.pid}-${Date.now()}`);
  const child = startOwned(process.execPath, ['-e', WATCHER, dir, stopFile, names.join(','), String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('close', () => reject(new Error('the name watcher ended before it started looking')));
  });
  return {
    stop: async () => {
      fs.writeFileSync(stopFile, '');
      await closed;
      fs.rmSync(stopFile, { force: true });
      return JSON.parse(out.slice(out.indexOf('\n') + 1)) as WatchReport;
    },
  };
}
