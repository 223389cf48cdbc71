import { prepare as prepareWindows } from '../os/windows/hns-standin/build.ts';

// Every run tests the executables built from the current sources, on a
// machine that has what the suite needs (npm test installs it first; a
// bare `vitest run` is told what is missing instead of failing tests).
export default async function setup(): Promise<void> {
  // @ts-expect-error: plain .mjs scripts without type declarations
  const [{ buildCniBin }, { ensure }] = await Promise.all([import('../../scripts/build.mjs'), import('../../scripts/test-deps.mjs')]);
  if (ensure(['test'], { install: false }) !== 0) throw new Error('the machine lacks what the test suite needs (see the line above; npm test installs it)');
  await buildCniBin();
  // The Windows tests' native HNS stand-in, and weft-hns.cs compiled as install.ps1 does.
  prepareWindows();
}
