#!/usr/bin/env node
'use strict';
// The node-run entry of dist/cni-bin (the standalone executables start from
// bin/weft-sea.ts instead). It compiles the bundled weft-main.cjs with the V8
// code cache the build left beside it, so a start skips parsing ~200 KB of
// JavaScript. A cache from another Node version is rejected by V8 and the
// bundle is simply compiled as usual.
const entry = process.hrtime.bigint();
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const main = path.join(__dirname, 'weft-main.cjs');
let cachedData;
try {
  cachedData = fs.readFileSync(path.join(__dirname, 'weft-main.cache'));
} catch {
  // no cache: compile from source
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(main, 'utf8')}\n})`, {
  filename: main,
  cachedData,
});
const compiled = process.hrtime.bigint();
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, require, bundle, main, __dirname);
// The marks let WEFT_PROFILE show what the compile and the evaluation cost.
bundle.exports.runMain({ entry, compiled, evaluated: process.hrtime.bigint() });
