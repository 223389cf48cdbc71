import path from 'node:path';
import { goBinary } from '../helpers/go-build.ts';

// Builds test/cnitool/libcni-client (Go) against Debian's
// golang-github-appc-cni-dev (libcni 1.1.2, GOPATH mode).

export const libcniClient = (): string =>
  goBinary(path.join(import.meta.dirname, 'libcni-client'), 'libcni-client', 'Debian packages golang-go and golang-github-appc-cni-dev');
