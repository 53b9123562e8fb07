#!/usr/bin/env node
// Node baseline for `bonsai bench compile`.
//
//   node js/bench/compile-wxml.mjs <input.json>
//
// input.json:
//   {
//     "groups": [
//       { "name": "wux",
//         "files":   [ { "path": "pages/index/index", "source": "<wxml text>" } ],
//         "scripts": [ { "path": "utils/x.wxs",      "source": "<wxs text>" } ] }
//     ],
//     "iterations": 5,          // optional, default 5: number of warm runs
//     "gen": "wx"               // optional: "wx" (getWxGenObjectGroups, default)
//                               //        or "tmpl" (getTmplGenObjectGroups)
//   }
//
// Template paths are given without extension (a trailing ".wxml" is stripped).
// Each WXS script is added under its path without extension AND with ".wxs",
// since WXML may refer to it either way.
//
// Prints ONE JSON object on stdout:
//   load_ms       time to load the compiler package (read + compile +
//                 instantiate the wasm module), first time in this process
//   cold_ms       first full compile of all groups in this process
//   warm_ms       median of `iterations` further full compiles, each with
//                 fresh TmplGroups
//   files         template count (all groups)
//   output_bytes  UTF-8 size of the generated group JS (all groups)
//   errors        parse diagnostics with isError === true (all groups)
// plus a few extra descriptive fields (warnings, warm_min_ms, ...).
//
// A "full compile" = for every group: new TmplGroup, addTmpl every template,
// addScript every script (twice, see above), generate the group JS. Freeing
// the wasm-side groups happens after the clock stops.
//
// The compiler is loaded from js/node_modules next to this script (run
// `npm ci` in js/ first), never from the caller's working directory.

import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMPILER = 'glass-easel-template-compiler';

function die(msg) {
  process.stderr.write(`compile-wxml: ${msg}\n`);
  process.exit(2);
}

function ms(start, end) {
  return Number(end - start) / 1e6;
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function totalBytes(strings) {
  return strings.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
}

function readInput(file) {
  let input;
  try {
    input = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    die(`cannot read ${file}: ${e.message}`);
  }
  if (!input || !Array.isArray(input.groups)) die('input must be an object with a "groups" array');
  const iterations = input.iterations === undefined ? 5 : input.iterations;
  if (!Number.isInteger(iterations) || iterations < 1) die('"iterations" must be a positive integer');
  const gen = input.gen === undefined ? 'wx' : input.gen;
  if (gen !== 'wx' && gen !== 'tmpl') die('"gen" must be "wx" or "tmpl"');
  const groups = input.groups.map((g, i) => {
    if (!g || typeof g !== 'object') die(`groups[${i}] is not an object`);
    const name = typeof g.name === 'string' ? g.name : `group${i}`;
    const files = (g.files || []).map((f, j) => {
      if (!f || typeof f.path !== 'string' || typeof f.source !== 'string') {
        die(`groups[${i}].files[${j}] needs string "path" and "source"`);
      }
      return { path: f.path.replace(/\.wxml$/, ''), source: f.source };
    });
    const scripts = (g.scripts || []).map((s, j) => {
      if (!s || typeof s.path !== 'string' || typeof s.source !== 'string') {
        die(`groups[${i}].scripts[${j}] needs string "path" and "source"`);
      }
      const base = s.path.replace(/\.wxs$/, '');
      return { base, withExt: `${base}.wxs`, source: s.source };
    });
    return { name, files, scripts };
  });
  return { groups, iterations, gen };
}

// One full compile of every group with fresh TmplGroups.
// Returns { elapsed_ms, outputs, diagnostics } — diagnostics only when asked.
function compileAll(TmplGroup, groups, gen, collectDiagnostics) {
  const tmplGroups = [];
  const outputs = [];
  const diagnostics = [];
  const start = process.hrtime.bigint();
  for (const g of groups) {
    const tg = new TmplGroup();
    tmplGroups.push(tg);
    for (const f of g.files) {
      const diags = tg.addTmpl(f.path, f.source);
      if (collectDiagnostics) diagnostics.push(diags);
    }
    for (const s of g.scripts) {
      tg.addScript(s.base, s.source);
      tg.addScript(s.withExt, s.source);
    }
    outputs.push(gen === 'wx' ? tg.getWxGenObjectGroups() : tg.getTmplGenObjectGroups());
  }
  const end = process.hrtime.bigint();
  for (const tg of tmplGroups) tg.free();
  return { elapsed_ms: ms(start, end), outputs, diagnostics };
}

function main() {
  const inputFile = process.argv[2];
  if (!inputFile || process.argv.length > 3) die('usage: node js/bench/compile-wxml.mjs <input.json>');
  const { groups, iterations, gen } = readInput(inputFile);

  const jsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const pkgDir = join(jsDir, 'node_modules', COMPILER);
  if (!existsSync(join(pkgDir, 'package.json'))) {
    die(`${pkgDir} not found; run \`npm ci\` in ${jsDir}`);
  }
  const require = createRequire(join(jsDir, 'package.json'));
  const compilerVersion = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;

  const loadStart = process.hrtime.bigint();
  const { TmplGroup } = require(pkgDir);
  const loadEnd = process.hrtime.bigint();

  const cold = compileAll(TmplGroup, groups, gen, true);

  let errors = 0;
  let warnings = 0;
  for (const diags of cold.diagnostics) {
    for (const d of diags || []) {
      if (d.isError) errors += 1;
      else warnings += 1;
    }
  }
  const outputBytes = totalBytes(cold.outputs);

  // The compiler's output is not byte-identical between runs (the order of
  // WXS script entries varies; it iterates a hash map), so only the size is
  // checked across runs.
  const warm = [];
  let outputSizeStable = true;
  for (let i = 0; i < iterations; i += 1) {
    const r = compileAll(TmplGroup, groups, gen, false);
    warm.push(r.elapsed_ms);
    if (totalBytes(r.outputs) !== outputBytes) outputSizeStable = false;
  }

  const files = groups.reduce((n, g) => n + g.files.length, 0);
  const scripts = groups.reduce((n, g) => n + g.scripts.length, 0);
  const inputBytes = groups.reduce(
    (n, g) =>
      n +
      g.files.reduce((m, f) => m + Buffer.byteLength(f.source, 'utf8'), 0) +
      g.scripts.reduce((m, s) => m + Buffer.byteLength(s.source, 'utf8'), 0),
    0,
  );

  const result = {
    engine: 'node',
    node_version: process.versions.node,
    compiler: `${COMPILER}@${compilerVersion}`,
    gen,
    groups: groups.length,
    files,
    scripts,
    input_bytes: inputBytes,
    iterations,
    load_ms: round(ms(loadStart, loadEnd)),
    cold_ms: round(cold.elapsed_ms),
    warm_ms: round(median(warm)),
    warm_min_ms: round(Math.min(...warm)),
    warm_max_ms: round(Math.max(...warm)),
    output_bytes: outputBytes,
    output_size_stable: outputSizeStable,
    errors,
    warnings,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
