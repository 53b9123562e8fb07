#!/usr/bin/env node
// Node baseline for `bonsai bench engine`.
//
//   node --expose-gc --experimental-vm-modules js/bench/engine-baseline.mjs <input.json>
//
// input.json (written by the Rust bench):
//   {
//     "app": "/tmp/…/app.json",          // CompiledApp::to_bytes of the wux example
//     "page": "pages/index/index",       // the page the app is launched on
//     "fixture": "/tmp/…/fixture.json",  // the same for the list fixture
//     "fixture_page": "pages/list/index",
//     "items": 1000,                     // the fixture list's length
//     "expect_text": "item 500 v3",      // in the fixture page's text after its updates
//     "iterations": 10,                  // timed runs of each measurement
//     "instances": 20,                   // live instances per memory batch
//     "device": { … },                   // bonsai_engine::DeviceProfile, as the engine sends it
//     "app_manifest": { … },             // bonsai_engine::host_manifest of the app, as createHost gets it
//     "fixture_manifest": { … }          // the same for the fixture
//   }
//
// Runs the same work as the Rust side with the same JavaScript: glass-easel
// and its adapter from js/node_modules (pinned 0.12.1), and Bonsai's own
// host (crates/bonsai_engine/js/host.js). Each instance gets its own V8
// context (node:vm), as each Bonsai instance gets its own QuickJS runtime,
// and loads the framework into it; code compiled once is reused across
// contexts, as Bonsai reuses its precompiled bytecode. What Rust does around
// the host is mirrored here in JS: a virtual clock with the same timer order,
// the microtask drain after every task, and applying the task's tree
// operations to a node tree.
//
// Prints ONE JSON object on stdout, in the fields of the Rust report's
// `Measures`; timings are { min_ms, median_ms, runs_ms }:
//   cold_start  { first_ms, ms, new_ms, launch_ms, nodes, console, errors }
//   set_data    { items, first_render_ms, set_all_ms, set_one_ms, nodes, errors, checked }
//   memory      { instances, heap_bytes_per_instance, rss_bytes_per_instance, nodes, errors }
// plus node_version and glass_easel.

import vm from 'node:vm';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const JS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = join(JS_DIR, '../crates/bonsai_engine/js/host.js');
const GLASS_EASEL = 'glass-easel/dist/glass_easel.all.js';
const ADAPTER = 'glass-easel-miniprogram-adapter/dist/glass_easel_miniprogram_adapter.js';
// host.rs's MODULE_PARAMETERS: names a module sees as `undefined`, as in WeChat.
const MODULE_PARAMETERS = 'require,module,exports,__filename,__dirname,window,document,self,navigator,location,localStorage,XMLHttpRequest';
// AppInstance::settle's bound on rounds of zero-delay timers.
const SETTLE_ROUNDS = 10000;

function die(msg) {
  process.stderr.write(`engine-baseline: ${msg}\n`);
  process.exit(2);
}

const round = (x) => Math.round(x * 1000) / 1000;
const elapsedMs = (start) => Number(process.hrtime.bigint() - start) / 1e6;

// The same shape as the Rust report's `Timing`.
function timing(runs) {
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { min_ms: round(sorted[0]), median_ms: round(median), runs_ms: runs.map(round) };
}

// ---- the framework, compiled once --------------------------------------------

// As build.rs wraps the CommonJS bundles (in a module, hence strict).
const commonjs = (path) => {
  const file = join(JS_DIR, 'node_modules', path);
  if (!existsSync(file)) die(`${file} not found; run \`npm ci\` in ${JS_DIR}`);
  const source = readFileSync(file, 'utf8');
  return new vm.Script(`(function (exports, module, require) {'use strict';\n${source}\n})`, { filename: file });
};
const glassEaselScript = commonjs(GLASS_EASEL);
const adapterScript = commonjs(ADAPTER);
const hostSource = readFileSync(HOST, 'utf8');
// Filled by the first host module, so later contexts skip compiling it, as
// Bonsai loads host.js from bytecode.
let hostCache;

const instantiate = (script, context, require) => {
  const module = { exports: {} };
  script.runInContext(context)(module.exports, module, require);
  return module.exports;
};

async function loadHost(context) {
  const module = new vm.SourceTextModule(hostSource, { context, identifier: HOST, cachedData: hostCache });
  hostCache ??= module.createCachedData();
  await module.link(() => die('host.js must not import anything'));
  await module.evaluate();
  return module.namespace.default;
}

// ---- what Rust does around the host ------------------------------------------

// bonsai_engine's TimerQueue: due time, then creation order; virtual clock.
class Timers {
  constructor() {
    this.now = 0;
    this.seq = 0;
    this.due = new Map();
  }
  schedule(id, delay) {
    this.seq += 1;
    this.due.set(id, { at: this.now + delay, seq: this.seq });
  }
  cancel(id) {
    this.due.delete(id);
  }
  popDue(limit) {
    let best = null;
    for (const [id, t] of this.due) {
      if (t.at <= limit && (!best || t.at < best.t.at || (t.at === best.t.at && t.seq < best.t.seq))) best = { id, t };
    }
    if (!best) return null;
    this.due.delete(best.id);
    this.now = Math.max(this.now, best.t.at);
    return best.id;
  }
}

// bonsai_tree::NodeTree's structure: what the tree ops build, to count nodes.
class Tree {
  constructor() {
    this.nodes = new Map();
  }
  create(id, text) {
    this.nodes.set(id, { parent: null, children: [], text, attributes: new Map(), classes: [] });
  }
  detach(id) {
    const node = this.nodes.get(id);
    if (!node || node.parent === null) return;
    const siblings = this.nodes.get(node.parent).children;
    siblings.splice(siblings.indexOf(id), 1);
    node.parent = null;
  }
  adopt(parent, index, children) {
    for (const child of children) {
      this.detach(child);
      this.nodes.get(child).parent = parent;
    }
    this.nodes.get(parent).children.splice(index, 0, ...children);
  }
  indexOf(parent, child) {
    return this.nodes.get(parent).children.indexOf(child);
  }
  removeRange(parent, before, count) {
    const start = this.indexOf(parent, before);
    for (const child of this.nodes.get(parent).children.slice(start, start + count)) this.detach(child);
    return start;
  }
  apply(op) {
    const node = this.nodes.get(op[1]);
    switch (op[0]) {
      case 0: case 2: this.create(op[1], null); break;
      case 1: this.create(op[1], op[2]); break;
      case 3: this.adopt(op[1], node.children.length, [op[2]]); break;
      case 4: this.detach(op[2]); this.adopt(op[1], this.indexOf(op[1], op[3]), [op[2]]); break;
      case 5: this.detach(op[2]); break;
      case 6: {
        this.detach(op[2]);
        const index = this.indexOf(op[1], op[3]);
        this.detach(op[3]);
        this.adopt(op[1], index, [op[2]]);
        break;
      }
      case 7: {
        const moved = [...this.nodes.get(op[4]).children];
        const index = op[3] === 0 ? this.indexOf(op[1], op[2]) : this.removeRange(op[1], op[2], op[3]);
        this.adopt(op[1], index, moved);
        break;
      }
      case 8: this.adopt(op[1], node.children.length, [...this.nodes.get(op[2]).children]); break;
      case 9: this.removeRange(op[1], op[2], op[3]); break;
      case 10:
        this.detach(op[1]);
        for (const child of node.children) this.nodes.get(child).parent = null;
        this.nodes.delete(op[1]);
        break;
      case 14: node.classes.push(op[2]); break;
      case 17: node.attributes.set(op[2], op[3]); break;
      case 18: node.attributes.delete(op[2]); break;
      case 19: node.text = op[2]; break;
      default: break;
    }
  }
  count(root) {
    let n = 0;
    const stack = [root];
    while (stack.length) {
      const node = this.nodes.get(stack.pop());
      if (!node) continue;
      n += 1;
      stack.push(...node.children);
    }
    return n;
  }
  text(root) {
    const node = this.nodes.get(root);
    if (!node) return '';
    return (node.text ?? '') + node.children.map((c) => this.text(c)).join('');
  }
}

// Every task's microtasks run before the next step, as
// JsHost::run_task drains QuickJS's job queue. The contexts share Node's
// microtask queue, which is empty again by the time setImmediate fires.
const drainMicrotasks = () => new Promise((resolve) => setImmediate(resolve));

// The device APIs answer from the device profile as bonsai_engine::api
// does (the wux pages read them while loading); the rest fail, which no
// measured page depends on.
function answerApi(device, name) {
  const d = device;
  switch (name) {
    case 'getSystemInfoSync': case 'getSystemInfo':
      return { ok: d };
    case 'getWindowInfo':
      return {
        ok: {
          pixelRatio: d.pixelRatio, screenWidth: d.screenWidth, screenHeight: d.screenHeight,
          windowWidth: d.windowWidth, windowHeight: d.windowHeight, statusBarHeight: d.statusBarHeight,
          safeArea: { left: 0, right: d.screenWidth, top: d.statusBarHeight, bottom: d.screenHeight, width: d.screenWidth, height: d.screenHeight - d.statusBarHeight },
          screenTop: 0,
        },
      };
    case 'getDeviceInfo':
      return { ok: { brand: d.brand, model: d.model, system: d.system, platform: d.platform, abi: 'arm64', benchmarkLevel: 1 } };
    case 'getAppBaseInfo':
      return { ok: { SDKVersion: d.SDKVersion, language: d.language, version: d.version, theme: d.theme, enableDebug: false, host: { env: 'WeChat' } } };
    default:
      return { fail: 'not supported' };
  }
}

// The instance whose task runs now, which unhandled rejections belong to.
let running = null;

// One app instance: a context, the framework, the host, and the app's templates.
class Instance {
  static async create(app, manifest, device) {
    const self = new Instance();
    self.timers = new Timers();
    self.tree = new Tree();
    self.errors = [];
    self.console = [];
    self.context = vm.createContext({});
    const storage = new Map();
    const native = {
      log: (level, text) => self.console.push({ level, text }),
      error: (context, message, stack) => self.errors.push({ context, message, stack }),
      timer: (id, delay) => self.timers.schedule(id, Number.isFinite(delay) && delay > 0 ? Math.floor(delay) : 0),
      clearTimer: (id) => self.timers.cancel(id),
      now: () => self.timers.now,
      api: (name) => JSON.stringify(answerApi(device, name)),
      // host.rs's storage hot path, on a Map.
      storageGet: (key) => storage.get(key),
      storageSet: (key, json) => { storage.set(key, json); },
      storageRemove: (key) => { storage.delete(key); },
      cancel: () => false,
      // Layout is Rust's (bonsai_layout) and only runs when a page asks for
      // rects; the measured pages do not, so Node answers "no box".
      styleSheet: () => {},
      layout: () => [],
      computedStyle: () => undefined,
      tempFile: () => null,
      hasScript: (key) => Object.prototype.hasOwnProperty.call(app.scripts, key),
      template: (key) => app.templates.templates[key],
      // Mirrors host.rs: the module as a function expression, same first line.
      script: (key) => {
        const script = app.scripts[key];
        if (!script) throw new ReferenceError(`module "${key}" is not defined`);
        return vm.runInContext(`(function(${MODULE_PARAMETERS}){${script.code}\n})`, self.context, { filename: key });
      },
    };
    const glassEasel = instantiate(glassEaselScript, self.context, () => undefined);
    const adapter = instantiate(adapterScript, self.context, () => glassEasel);
    const createHost = await loadHost(self.context);
    self.host = createHost(native, glassEasel, adapter, manifest);
    // Mirrors host.rs: the shared template runtime once, templates on demand.
    vm.runInContext(
      `globalThis.__bonsaiTemplateRuntime=(function(){${app.templates.runtime}\nreturn {R:R,D:typeof D==='undefined'?undefined:D,X:X,Y:Y,Z:Z,P:P,Q:Q};})();`,
      self.context,
      { filename: '<templates>' },
    );
    await self.flush();
    return self;
  }

  async task(context, run) {
    running = this;
    try {
      run(this.host);
    } catch (err) {
      this.errors.push({ context, message: String(err && err.message), stack: String(err && err.stack) });
    }
    await this.flush();
  }

  async flush() {
    await drainMicrotasks();
    const batch = this.host.takeOps();
    if (batch) for (const op of JSON.parse(batch)) this.tree.apply(op);
  }

  async settle() {
    for (let i = 0; i < SETTLE_ROUNDS; i += 1) {
      const id = this.timers.popDue(this.timers.now);
      if (id === null) return;
      await this.task('timer', (host) => host.fireTimer(id));
    }
  }

  async launch(url) {
    await this.task('launch', (host) => host.launch({ scene: 1001 }, url));
    await this.settle();
  }

  async pageEvent(name, arg) {
    await this.task(name, (host) => host.callPageMethod(name, [arg]));
    await this.settle();
  }

  pageNodes() {
    const page = this.host.currentPage();
    return page === null ? 0 : this.tree.count(page);
  }
}

// ---- measurements -------------------------------------------------------------

// Each measurement gets the input it needs: { app, manifest, page, device, … }.
const launched = async (app, manifest, page, device) => {
  const instance = await Instance.create(app, manifest, device);
  await instance.launch(page);
  return instance;
};

async function coldStart({ app, manifest, page, device }, iterations) {
  const run = async () => {
    const start = process.hrtime.bigint();
    const instance = await Instance.create(app, manifest, device);
    const created = elapsedMs(start);
    await instance.launch(page);
    return { instance, created, total: elapsedMs(start) };
  };
  // The process's first instance, reported apart: it compiles what later
  // instances find cached.
  const first = await run();
  let last = first.instance;
  const [total, created, launch] = [[], [], []];
  for (let i = 0; i < iterations; i += 1) {
    const r = await run();
    total.push(r.total);
    created.push(r.created);
    launch.push(r.total - r.created);
    last = r.instance;
  }
  return {
    first_ms: round(first.total),
    ms: timing(total),
    new_ms: timing(created),
    launch_ms: timing(launch),
    nodes: last.pageNodes(),
    console: last.console.length,
    errors: last.errors.length,
  };
}

async function setData({ fixture, manifest, page, device, items, expectText }, iterations) {
  const [firstRender, setAll, setOne] = [[], [], []];
  let nodes = 0;
  let errors = 0;
  let checked = true;
  // A fresh page per run, so every first render starts from an empty list;
  // run 0 is untimed, as on the Rust side.
  for (let i = 0; i <= iterations; i += 1) {
    const instance = await launched(fixture, manifest, page, device);
    const timed = async (method) => {
      const start = process.hrtime.bigint();
      await instance.pageEvent(method, null);
      return elapsedMs(start);
    };
    const render = await timed('benchSetAll');
    const all = await timed('benchSetAll');
    const one = await timed('benchSetOne');
    if (i > 0) {
      firstRender.push(render);
      setAll.push(all);
      setOne.push(one);
    }
    nodes = instance.pageNodes();
    checked &&= nodes > items && instance.tree.text(instance.host.currentPage()).includes(expectText);
    errors += instance.errors.length;
  }
  return {
    items,
    first_render_ms: timing(firstRender),
    set_all_ms: timing(setAll),
    set_one_ms: timing(setOne),
    nodes,
    errors,
    checked,
  };
}

// Two batches of live instances; only the second is measured, as on the Rust side.
async function memory({ app, manifest, page, device }, count) {
  const gc = globalThis.gc || die('run node with --expose-gc');
  const batch = async () => {
    const live = [];
    for (let i = 0; i < count; i += 1) live.push(await launched(app, manifest, page, device));
    return live;
  };
  const warm = await batch();
  gc();
  const before = process.memoryUsage();
  const measured = await batch();
  gc();
  const after = process.memoryUsage();
  return {
    instances: count,
    heap_bytes_per_instance: Math.max(0, Math.round((after.heapUsed - before.heapUsed) / count)),
    rss_bytes_per_instance: Math.max(0, Math.round((after.rss - before.rss) / count)),
    nodes: measured[measured.length - 1].pageNodes(),
    errors: [...warm, ...measured].reduce((n, instance) => n + instance.errors.length, 0),
  };
}

async function main() {
  // A rejection nobody handles is the running instance's error, as
  // JsHost::run_task records it; it must not end the process.
  process.on('unhandledRejection', (reason) => {
    if (running) running.errors.push({ context: 'unhandled promise rejection', message: String(reason && (reason.message || reason.errMsg)), stack: '' });
  });
  const inputFile = process.argv[2];
  if (!inputFile || process.argv.length > 3) die('usage: node js/bench/engine-baseline.mjs <input.json>');
  let input;
  try {
    input = JSON.parse(readFileSync(inputFile, 'utf8'));
  } catch (e) {
    die(`cannot read ${inputFile}: ${e.message}`);
  }
  const { iterations, instances, device } = input;
  const app = JSON.parse(readFileSync(input.app, 'utf8'));
  const fixture = JSON.parse(readFileSync(input.fixture, 'utf8'));
  const wux = { app, manifest: input.app_manifest, page: input.page, device };
  const list = {
    fixture,
    manifest: input.fixture_manifest,
    page: input.fixture_page,
    device,
    items: input.items,
    expectText: input.expect_text,
  };
  const glassEaselVersion = JSON.parse(readFileSync(join(JS_DIR, 'node_modules/glass-easel/package.json'), 'utf8')).version;

  const result = {
    node_version: process.versions.node,
    glass_easel: glassEaselVersion,
    cold_start: await coldStart(wux, iterations),
    set_data: await setData(list, iterations),
    memory: await memory(wux, instances),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
