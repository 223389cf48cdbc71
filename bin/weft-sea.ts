import v8 from 'node:v8';
import { preloadAll, runMain } from './main.ts';

// Entry of the standalone executables. When the SEA blob is built with a V8
// startup snapshot, every plugin module is loaded and initialised now, at
// build time, and the snapshot holds the result: a run only deserialises it
// and calls runMain. Without a snapshot (the Windows build, which cannot be
// snapshotted on Linux) this is the plain entry.
if (v8.startupSnapshot?.isBuildingSnapshot()) {
  v8.startupSnapshot.setDeserializeMainFunction(runMain);
  void preloadAll();
} else {
  runMain();
}
