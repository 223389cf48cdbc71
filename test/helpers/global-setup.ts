// Every run tests the executables built from the current sources.
export default async function setup(): Promise<void> {
  // @ts-expect-error: a plain .mjs build script without type declarations
  const { buildCniBin } = await import('../../scripts/build.mjs');
  await buildCniBin();
}
