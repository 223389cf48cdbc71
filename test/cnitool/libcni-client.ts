import path from 'node:path';
import { goProgram } from '../helpers/go-program.ts';

// Builds test/cnitool/libcni-client (Go) against Debian's
// golang-github-appc-cni-dev (libcni 1.1.2, GOPATH mode).

export const libcniClient = (): string => goProgram(path.join(import.meta.dirname, 'libcni-client'), 'golang-github-appc-cni-dev');
