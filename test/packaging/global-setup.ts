// Build the executables and packages once for the whole package suite.
export default async function setup(): Promise<void> {
  // @ts-expect-error: a plain .mjs build script without type declarations
  const { buildPackages } = await import('../../scripts/package.mjs');
  await buildPackages();
}
