import { execFileSync } from 'node:child_process';

// Build the executables and packages once for the whole package suite. The
// timestamp is fixed here so that the rebuild in the reproducibility test
// uses the same one even if a commit lands while the suite runs.
export default async function setup(): Promise<void> {
  process.env.SOURCE_DATE_EPOCH ??= execFileSync('git', ['log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim();
  // @ts-expect-error: a plain .mjs build script without type declarations
  const { buildPackages } = await import('../../scripts/package.mjs');
  await buildPackages();
}
