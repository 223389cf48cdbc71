#!/usr/bin/env node
// A stand-in for powershell.exe running weft-hns.ps1, for tests on Linux. It
// insists on exactly the command line weft must use, records each start (the
// command line, a hash of the script it was given, the request), runs the
// plan from WEFT_HNS_REQUEST against the HNS model in WEFT_FAKE_HNS_STATE and
// prints one JSON answer, as the real script does.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { interpret } from './interpreter.mjs';

const stateFile = process.env.WEFT_FAKE_HNS_STATE;
if (!stateFile) {
  process.stderr.write('fake-powershell: WEFT_FAKE_HNS_STATE is not set\n');
  process.exit(2);
}
const argv = process.argv.slice(2);
const script = argv[5] ?? '';
const fixed = ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File'];
const request = process.env.WEFT_HNS_REQUEST;
fs.appendFileSync(
  `${stateFile}.calls`,
  `${JSON.stringify({
    argv,
    scriptSha256: fs.existsSync(script) ? crypto.createHash('sha256').update(fs.readFileSync(script)).digest('hex') : null,
    request: request ?? null,
    cniVarsSeen: Object.keys(process.env).filter((k) => k.startsWith('CNI_')),
  })}\n`,
);
if (argv.length !== 6 || fixed.some((a, i) => argv[i] !== a) || path.basename(script) !== 'weft-hns.ps1' || !fs.existsSync(script)) {
  process.stderr.write(`fake-powershell: unexpected command line ${JSON.stringify(argv)}\n`);
  process.exit(2);
}
let answer;
try {
  answer = interpret(JSON.parse(request ?? ''), stateFile);
} catch (e) {
  answer = { ok: false, outputs: {}, ran: [], stopped: null, error: { step: null, hr: null, message: `weft-hns: ${e.message}`, record: null }, tolerated: [], undone: [] };
}
process.stdout.write(`${JSON.stringify(answer)}\n`);
