// Bonsai's JS host: the mini-program environment around glass-easel.
//
// Runs once per app instance, after glass-easel and its adapter are loaded.
// It exports one function, `createHost(native, glassEasel, adapter)`, which
// installs the globals mini programs expect (App, Page, Component, Behavior,
// getApp, getCurrentPages, wx, console, timers) and returns the object Rust
// drives (`launch`, `navigate`, `dispatch`, `fireTimer`, `takeOps`).
//
// `native` holds the Rust functions: log, error, timer, clearTimer, script,
// now. Tree operations are batched in `ops` as compact arrays (see
// bonsai_protocol::TreeOp::from_compact) and taken by Rust once per task.

export default function createHost(native, glassEasel, adapter, manifest) {
  const global = globalThis;
  // WeChat exposes `global` in the logic layer; libraries use it to share state.
  global.global = global;
  // Properties are data, not fields of the element: a property named
  // `dataset` or `classList` must not clobber the node.
  glassEasel.globalOptions.writeFieldsToNode = false;
  // The tree answers `#id` queries, so ids must reach the backend.
  glassEasel.globalOptions.writeIdToDOM = true;
  const ops = [];
  let nextNodeId = 1;

  // ---- errors and console -------------------------------------------------

  const describe = (value) => {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.stack ? `${value.name}: ${value.message}\n${value.stack}` : `${value.name}: ${value.message}`;
    try {
      const seen = new WeakSet();
      return JSON.stringify(value, (k, v) => {
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[Circular]';
          seen.add(v);
        }
        if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
        if (typeof v === 'undefined') return '[undefined]';
        return v;
      }) ?? String(value);
    } catch (e) {
      return String(value);
    }
  };
  const reportError = (err, where) => {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : describe(err);
    const stack = err instanceof Error && err.stack ? String(err.stack) : '';
    native.error(where || '', message, stack);
  };
  // What app code is running now; an interrupted script cannot be caught
  // in JS, so Rust reads this to say where it happened.
  let activity = '';
  const guarded = (where, fn, self, args) => {
    const outer = activity;
    activity = where;
    try {
      return fn.apply(self, args || []);
    } catch (err) {
      reportError(err, where);
      return undefined;
    } finally {
      activity = outer;
    }
  };
  const console = {};
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    console[level] = (...args) => native.log(level, args.map(describe).join(' '));
  }
  console.trace = console.debug;
  console.group = console.groupEnd = console.time = console.timeEnd = () => {};
  global.console = console;
  glassEasel.addGlobalErrorListener((err, method, component) => {
    const where = typeof component === 'string' ? component : component && component.is;
    reportError(err, [where, method].filter(Boolean).join(' '));
    return false;
  });
  glassEasel.addGlobalWarningListener((message, component) => {
    const where = typeof component === 'string' ? component : component && component.is;
    native.log('warn', `[glass-easel] ${message}${where ? ` (${where})` : ''}`);
    return false;
  });

  // ---- timers ---------------------------------------------------------------

  const timers = new Map();
  let timerSeq = 0;
  const startTimer = (fn, ms, args, repeat) => {
    timerSeq += 1;
    const delay = Math.max(0, Number(ms) || 0);
    timers.set(timerSeq, { fn, args, delay, repeat });
    native.timer(timerSeq, delay);
    return timerSeq;
  };
  const clearTimer = (id) => {
    if (timers.delete(id)) native.clearTimer(id);
  };
  global.setTimeout = (fn, ms, ...args) => startTimer(fn, ms, args, false);
  global.setInterval = (fn, ms, ...args) => startTimer(fn, ms, args, true);
  global.clearTimeout = clearTimer;
  global.clearInterval = clearTimer;
  global.requestAnimationFrame = (fn) => startTimer(() => fn(native.now()), 16, [], false);
  global.cancelAnimationFrame = clearTimer;
  const fireTimer = (id) => {
    const timer = timers.get(id);
    if (!timer) return;
    if (timer.repeat) native.timer(id, Math.max(1, timer.delay));
    else timers.delete(id);
    if (typeof timer.fn === 'function') guarded('timer', timer.fn, undefined, timer.args);
  };

  // ---- the composed backend --------------------------------------------------

  const elements = new Map();
  class BackendElement {
    constructor(id, tag) {
      this.id = id;
      this.tag = tag;
      this.__wxElement = undefined;
      elements.set(id, this);
    }
    release() { ops.push([10, this.id]); elements.delete(this.id); }
    associateValue(v) {
      this.__wxElement = v;
      // Component hosts are all created as `wx-x`; name them as the template does.
      if (v && typeof v.tagName === 'string' && v.tagName !== this.tag && this.tag === 'wx-x') {
        ops.push([22, this.id, v.tagName, String(v.is || '')]);
      }
    }
    appendChild(child) { ops.push([3, this.id, child.id]); }
    removeChild(child) { ops.push([5, this.id, child.id]); }
    insertBefore(child, before) { ops.push([4, this.id, child.id, before.id]); }
    replaceChild(child, oldChild) { ops.push([6, this.id, child.id, oldChild.id]); }
    spliceBefore(before, deleteCount, list) { ops.push([7, this.id, before.id, deleteCount, list.id]); }
    spliceAppend(list) { ops.push([8, this.id, list.id]); }
    spliceRemove(before, deleteCount) { ops.push([9, this.id, before.id, deleteCount]); }
    // glass-easel prefixes ids per component to keep them unique in a flat
    // DOM; the tree keeps the id as the template wrote it.
    setId(id) { ops.push([11, this.id, this.__wxElement ? String(this.__wxElement.id) : id]); }
    setStyleScope(scope) { ops.push([13, this.id, scope]); }
    setStyle(style) {
      this.baseStyle = style;
      ops.push([12, this.id, withAnimation(style, this.animationStyle)]);
    }
    addClass(name, scope) { ops.push([14, this.id, name, scope || 0]); }
    removeClass(name, scope) { ops.push([15, this.id, name, scope || 0]); }
    clearClasses() { ops.push([16, this.id]); }
    setAttribute(name, value) {
      ops.push([17, this.id, name, attributeValue(value)]);
      // `animation="{{data}}"` (wx.createAnimation().export()): the view
      // shows where the steps end, as styles with their transition.
      if (name === 'animation') {
        this.animationStyle = animationStyle(value);
        ops.push([12, this.id, withAnimation(this.baseStyle || '', this.animationStyle)]);
      }
    }
    removeAttribute(name) { ops.push([18, this.id, name]); }
    setText(text) { ops.push([19, this.id, String(text)]); }
    setModelBindingStat() {}
    setListenerStats(type, capture) { ops.push([20, this.id, type, !!capture]); }
    // Geometry comes from Rust's headless layout, read in a later task (as
    // a view answers asynchronously), so this task's tree ops count.
    getBoundingClientRect(cb) { setTimeout(() => cb(boundingRect(this)), 0); }
    getScrollOffset(cb) { setTimeout(() => cb(scrollOffset(this)), 0); }
    // Observers are host.js's own (`IntersectionObserver` below); this
    // backend-level one is never reached.
    createIntersectionObserver() { return { disconnect() {} }; }
    getContext(cb) { cb(this.tag === 'canvas' ? headlessCanvas(this) : null); }
  }
  // The style an exported animation ends in: the last step's transform
  // (each step replaces it, as WeChat's views apply them), other
  // properties merged across steps, and the last step's transition.
  const ANIMATION_UNITS = { rotate: 'deg', rotateX: 'deg', rotateY: 'deg', rotateZ: 'deg', skew: 'deg', skewX: 'deg', skewY: 'deg', rotate3d: 'deg' };
  const STYLE_STEPS = { opacity: 'opacity', backgroundColor: 'background-color', width: 'width', height: 'height', left: 'left', right: 'right', top: 'top', bottom: 'bottom' };
  const animationStyle = (data) => {
    const actions = data && Array.isArray(data.actions) ? data.actions : [];
    if (actions.length === 0) return '';
    let transform = '';
    const properties = new Map();
    for (const action of actions) {
      const functions = [];
      for (const { type, args } of Array.isArray(action.animates) ? action.animates : []) {
        const list = Array.isArray(args) ? args : [];
        if (STYLE_STEPS[type]) {
          const value = list[0];
          properties.set(STYLE_STEPS[type], typeof value === 'number' && type !== 'opacity' ? `${value}px` : String(value));
          continue;
        }
        const unit = ANIMATION_UNITS[type] || (/^(translate|matrix|scale)/.test(type) ? (type.startsWith('translate') ? 'px' : '') : '');
        const rendered = list.map((v, i) => (typeof v === 'number' && unit && !(type === 'rotate3d' && i < 3) ? `${v}${unit}` : String(v)));
        functions.push(`${type}(${rendered.join(',')})`);
      }
      if (functions.length) transform = functions.join(' ');
    }
    const last = actions[actions.length - 1].option || {};
    const transition = last.transition || {};
    const parts = [];
    if (transform) parts.push(`transform:${transform}`);
    for (const [name, value] of properties) parts.push(`${name}:${value}`);
    if (last.transformOrigin) parts.push(`transform-origin:${last.transformOrigin}`);
    parts.push(`transition:all ${Number(transition.duration) || 0}ms ${transition.timingFunction || 'linear'} ${Number(transition.delay) || 0}ms`);
    return parts.join(';');
  };
  const withAnimation = (style, animation) => (animation ? (style ? `${style};${animation}` : animation) : style);
  // A canvas without pixels: drawing calls are recorded, queries answer
  // plausibly, so chart and signature components run headless. A context
  // has exactly the methods and properties of its kind (so feature
  // detection such as `typeof ctx.roundRect` answers as in WeChat):
  // '2d' is CanvasRenderingContext2D (canvas type="2d", offscreen canvases),
  // 'legacy' the CanvasContext of wx.createCanvasContext / wx.createContext.
  const CANVAS_DRAWING = {
    '2d': [
      'arc', 'arcTo', 'beginPath', 'bezierCurveTo', 'clearRect', 'clip', 'closePath', 'drawImage', 'ellipse', 'fill',
      'fillRect', 'fillText', 'lineTo', 'moveTo', 'putImageData', 'quadraticCurveTo', 'rect', 'resetTransform', 'restore',
      'rotate', 'roundRect', 'save', 'scale', 'setLineDash', 'setTransform', 'stroke', 'strokeRect', 'strokeText',
      'transform', 'translate',
    ],
    legacy: [
      'arc', 'arcTo', 'beginPath', 'bezierCurveTo', 'clearRect', 'clip', 'closePath', 'drawImage', 'fill', 'fillRect',
      'fillText', 'lineTo', 'moveTo', 'quadraticCurveTo', 'rect', 'restore', 'rotate', 'save', 'scale', 'setFillStyle',
      'setFontSize', 'setGlobalAlpha', 'setLineCap', 'setLineDash', 'setLineJoin', 'setLineWidth', 'setMiterLimit',
      'setShadow', 'setStrokeStyle', 'setTextAlign', 'setTextBaseline', 'setTransform', 'stroke', 'strokeRect',
      'strokeText', 'transform', 'translate',
    ],
  };
  const CANVAS_STYLE = {
    globalAlpha: 1, globalCompositeOperation: 'source-over', fillStyle: '#000000', strokeStyle: '#000000',
    lineCap: 'butt', lineDashOffset: 0, lineJoin: 'miter', lineWidth: 1, miterLimit: 10,
    shadowBlur: 0, shadowColor: 'rgba(0, 0, 0, 0)', shadowOffsetX: 0, shadowOffsetY: 0, font: '10px sans-serif',
  };
  const CANVAS_2D_STYLE = {
    filter: 'none', imageSmoothingEnabled: true, imageSmoothingQuality: 'low',
    direction: 'inherit', fontKerning: 'auto', textAlign: 'start', textBaseline: 'alphabetic',
  };
  const recordingContext = (kind, extra, canvas) => {
    const calls = [];
    const gradient = () => ({ addColorStop() {} });
    const imageData = (w, h) => {
      const width = Math.max(0, Math.floor(Number(w)) || 0);
      const height = Math.max(0, Math.floor(Number(h)) || 0);
      return { width, height, data: new Uint8ClampedArray(width * height * 4) };
    };
    const context = Object.assign({}, CANVAS_STYLE, kind === '2d' ? CANVAS_2D_STYLE : {});
    for (const name of CANVAS_DRAWING[kind]) {
      context[name] = (...args) => { calls.push([name, args]); };
    }
    let lineDash = [];
    const setLineDash = context.setLineDash;
    context.setLineDash = (segments, ...rest) => {
      lineDash = Array.isArray(segments) ? segments.map(Number) : [];
      setLineDash(segments, ...rest);
    };
    context.createLinearGradient = gradient;
    context.createPattern = () => ({ setTransform() {} });
    if (kind === '2d') {
      Object.assign(context, {
        measureText: (text) => {
          const width = String(text).length * 10;
          return {
            width,
            actualBoundingBoxLeft: 0,
            actualBoundingBoxRight: width,
            actualBoundingBoxAscent: 8,
            actualBoundingBoxDescent: 2,
            fontBoundingBoxAscent: 9,
            fontBoundingBoxDescent: 3,
          };
        },
        createRadialGradient: gradient,
        createConicGradient: gradient,
        getImageData: (x, y, w, h) => imageData(w, h),
        createImageData: (w, h) => (w && typeof w === 'object' ? imageData(w.width, w.height) : imageData(w, h)),
        isPointInPath: () => false,
        isPointInStroke: () => false,
        getLineDash: () => lineDash.slice(),
        getTransform: () => ({ a: 1, b: 0, c: 0, d: 1, e: 0, f: 0, is2D: true, isIdentity: true }),
        getContextAttributes: () => ({ alpha: true, colorSpace: 'srgb', desynchronized: false, willReadFrequently: false }),
      });
      context.canvas = canvas;
    } else {
      Object.assign(context, {
        measureText: (text) => ({ width: String(text).length * 10 }),
        createCircularGradient: gradient,
      });
    }
    Object.assign(context, extra);
    // What was drawn, for the host's own use (createContext's actions),
    // out of the app's sight.
    recordedCalls.set(context, calls);
    return context;
  };
  const recordedCalls = new WeakMap();
  const headlessCanvas = (element) => {
    if (element.canvas) return element.canvas;
    let context = null;
    element.canvas = {
      width: 300,
      height: 150,
      getContext: (type) => {
        if (type !== '2d') return null;
        if (!context) context = recordingContext('2d', {}, element.canvas);
        return context;
      },
      createImage: () => ({ src: '', width: 0, height: 0, onload: null, onerror: null }),
      requestAnimationFrame: (fn) => setTimeout(() => { if (typeof fn === 'function') fn(native.now()); }, 16),
      cancelAnimationFrame: clearTimer,
      toDataURL: () => blankDataUrl(element.canvas),
    };
    return element.canvas;
  };
  const attributeValue = (value) => {
    if (value === undefined || typeof value === 'function') return null;
    if (typeof value === 'object' && value !== null) {
      try { JSON.stringify(value); return value; } catch (e) { return String(value); }
    }
    return value;
  };
  const newElement = (tag, styling) => {
    const el = new BackendElement(nextNodeId++, tag);
    ops.push([0, el.id, tag, styling]);
    return el;
  };
  let renderCallbacks = null;
  const device = manifest.device;
  const backendContext = {
    mode: glassEasel.backend.BackendMode.Composed,
    destroy() {},
    getWindowWidth: () => device.windowWidth,
    getWindowHeight: () => device.windowHeight,
    getDevicePixelRatio: () => device.pixelRatio,
    getTheme: () => device.theme,
    registerStyleSheetContent() {},
    // glass-easel says which style scope each stylesheet styles (the URL is
    // the stylesheet's key in the compiled app); layout needs to know.
    appendStyleSheetPath: (() => {
      let id = 1;
      return (path, scope) => { native.styleSheet(String(path), Number(scope) || 0); return id++; };
    })(),
    disableStyleSheet() {},
    render(cb) {
      if (renderCallbacks) { renderCallbacks.push(cb); return; }
      renderCallbacks = [cb];
      setTimeout(() => {
        const callbacks = renderCallbacks;
        renderCallbacks = null;
        for (const callback of callbacks) guarded('render callback', callback, undefined, [null]);
      }, 0);
    },
    getRootNode: () => bodyElement,
    createElement: (tag, styling) => newElement(tag, styling),
    createTextNode(text) {
      const el = new BackendElement(nextNodeId++);
      ops.push([1, el.id, String(text)]);
      return el;
    },
    createFragment() {
      const el = new BackendElement(nextNodeId++);
      ops.push([2, el.id]);
      return el;
    },
    // Events come from Rust (`dispatch`), not from a DOM, so there is nothing to subscribe to.
    onEvent() {},
    createMediaQueryObserver() { return { disconnect() {} }; },
  };
  const bodyElement = newElement('body', 'body');

  // ---- environment and templates --------------------------------------------

  const env = new adapter.MiniProgramEnv();
  const backend = env.associateBackend(backendContext);
  const codeSpace = env.createCodeSpace('', true);
  // app.wxss styles every page (and components that share styles).
  if (manifest.appStyle) codeSpace.addStyleSheet('app', manifest.appStyle);
  // Template gen objects by key, evaluated on first use: a page pays only
  // for the templates it renders (and the ones they import).
  const templateGroup = new Proxy(Object.create(null), {
    get(loaded, key) {
      if (typeof key !== 'string') return undefined;
      if (!(key in loaded)) {
        const source = native.template(key);
        if (source === undefined || source === null) return undefined;
        const env = global.__bonsaiTemplateRuntime;
        // eslint-disable-next-line no-new-func
        loaded[key] = new Function('G', 'R', 'D', 'X', 'Y', 'Z', 'P', 'Q', `return ${source}`)(
          templateGroup, env.R, env.D, env.X, env.Y, env.Z, env.P, env.Q,
        );
      }
      return loaded[key];
    },
  });
  const addTemplate = (key) => {
    const content = templateGroup[key];
    // Legacy `bindtap` on native nodes needs the fallback listener.
    if (content) codeSpace.addCompiledTemplate(key, { groupList: templateGroup, content, fallbackListenerOnNativeNode: true });
  };
  global.getRegExp = (pattern, flags) => new RegExp(pattern, flags);
  global.getDate = (...args) => new Date(...args);

  // ---- WXS instances ------------------------------------------------------------
  //
  // WXS handlers receive ComponentDescriptors: `ownerInstance` for the
  // component that owns the template, `event.instance` / the fourth argument
  // of a `change:` observer for the element. The compiled templates route
  // both through `Q.A` (change observers) and `Q.C` (event listeners), which
  // bonsai_wxml points at the two functions below.
  const descriptors = new WeakMap();
  const styleText = (style) => (typeof style === 'string' ? style : Object.entries(style || {})
    .map(([k, v]) => `${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}:${typeof v === 'number' ? `${v}px` : v}`)
    .join(';'));
  const descriptorOf = (elem) => {
    if (!elem || typeof elem !== 'object') return null;
    const cached = descriptors.get(elem);
    if (cached) return cached;
    // A glass-easel component has a method caller; a method caller is one.
    const caller = typeof elem.getMethodCaller === 'function' ? elem.getMethodCaller() : elem;
    const state = {};
    const query = (selector, all) => {
      const root = typeof elem.getShadowRoot === 'function' && elem.getShadowRoot() ? elem.getShadowRoot() : elem;
      if (all) return (root.querySelectorAll ? root.querySelectorAll(selector) : []).map(descriptorOf);
      return descriptorOf(root.querySelector ? root.querySelector(selector) : null);
    };
    const descriptor = {
      selectComponent: (selector) => query(selector, false),
      selectAllComponents: (selector) => query(selector, true),
      setStyle(style) {
        if (typeof elem.setNodeStyle === 'function') elem.setNodeStyle(styleText(style));
        return descriptor;
      },
      addClass(name) { if (elem.classList) elem.classList.toggle(name, true); return descriptor; },
      removeClass(name) { if (elem.classList) elem.classList.toggle(name, false); return descriptor; },
      hasClass: (name) => Boolean(elem.classList && elem.classList.contains(name)),
      getDataset: () => elem.dataset || {},
      getState: () => state,
      callMethod(name, args) {
        const fn = caller && caller[name];
        if (typeof fn === 'function') return fn.call(caller, args);
        return undefined;
      },
      triggerEvent(name, detail) {
        if (caller && typeof caller.triggerEvent === 'function') caller.triggerEvent(name, detail);
      },
      requestAnimationFrame: (fn) => setTimeout(fn, 16),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimer(id),
      getComputedStyle: (names) => computedStyleOf(elem, names),
    };
    descriptors.set(elem, descriptor);
    return descriptor;
  };
  // glass-easel calls a change observer the first time while it is still
  // building the shadow tree; WeChat's view layer calls it once the nodes
  // exist (observers query their siblings), so the first call waits for the
  // end of the task.
  global.__bonsaiWxsChangeObserver = (listener) => (typeof listener !== 'function' ? listener
    : function changeObserver(newValue, oldValue, host, elem) {
      const call = () => listener.call(this, newValue, oldValue, descriptorOf(host), descriptorOf(elem));
      if (oldValue !== undefined) return call();
      Promise.resolve().then(() => guarded(`${host && host.is} change observer`, call));
      return undefined;
    });
  global.__bonsaiWxsEventListener = (caller, event, listener) => {
    const isMethod = caller && Object.keys(caller).some((key) => caller[key] === listener);
    if (isMethod || typeof caller !== 'object' || !caller) return listener.apply(caller, [event]);
    if (event && event.currentTarget && typeof event.currentTarget === 'object') {
      event.instance = descriptorOf(event.currentTarget);
    }
    return listener.call(caller, event, descriptorOf(caller));
  };

  // ---- modules ----------------------------------------------------------------

  const moduleCache = new Map();
  const dirname = (path) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
  const join = (base, rel) => {
    const parts = rel.startsWith('/') ? [] : base.split('/').filter(Boolean);
    for (const part of rel.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') parts.pop();
      else parts.push(part);
    }
    return parts.join('/');
  };
  const scriptKey = (path) => {
    for (const candidate of [path, `${path}.js`, `${path}/index.js`]) {
      if (native.hasScript(candidate)) return candidate;
    }
    return null;
  };
  const aliases = Object.entries((manifest.app && manifest.app.resolveAlias) || {});
  const resolveModule = (from, spec) => {
    let request = String(spec);
    for (const [key, target] of aliases) {
      if (key.endsWith('*') && request.startsWith(key.slice(0, -1))) {
        request = target.slice(0, -1) + request.slice(key.length - 1);
        break;
      }
      if (request === key) { request = target; break; }
    }
    const dir = dirname(from);
    const candidates = [];
    if (request.startsWith('/') || request.startsWith('.')) {
      candidates.push(join(dir, request));
    } else {
      candidates.push(join(dir, request));
      for (let d = dir; ; d = dirname(d)) {
        candidates.push(join(d, `miniprogram_npm/${request}`));
        if (d === '') break;
      }
      candidates.push(join('', request));
    }
    for (const candidate of candidates) {
      const key = scriptKey(candidate);
      if (key) return key;
    }
    return null;
  };
  const requireFrom = (from) => {
    const require = (spec) => {
      const key = resolveModule(from, spec);
      if (key === null) {
        throw new Error(`module "${spec}" is not defined, require args is '${spec}' (from ${from})`);
      }
      return loadModule(key);
    };
    require.async = (spec) => new Promise((resolve, reject) => {
      try { resolve(require(spec)); } catch (err) { reject(err); }
    });
    return require;
  };
  const loadModule = (key) => {
    const cached = moduleCache.get(key);
    if (cached) return cached.exports;
    const factory = native.script(key);
    const module = { exports: {}, id: key, loaded: false };
    moduleCache.set(key, module);
    try {
      factory.call(module.exports, requireFrom(key), module, module.exports, `/${key}`, `/${dirname(key)}`);
    } catch (err) {
      moduleCache.delete(key);
      throw err;
    }
    module.loaded = true;
    return module.exports;
  };
  global.requirePlugin = (name) => {
    throw new Error(`requirePlugin("${name}"): plugins are not supported by Bonsai`);
  };

  // ---- component registration ---------------------------------------------------

  let currentEnv = null;
  let registeredCurrent = false;
  let defaultEnv = null;
  codeSpace.componentEnv('__bonsai_default__', (componentEnv) => { defaultEnv = componentEnv; });
  // What every component gets that the adapter lacks. Headless there is no
  // animation to play: `animate` finishes after its duration.
  codeSpace.setOverallBehavior(codeSpace.getComponentSpace().defineBehavior({
    lifetimes: {
      // WeChat tells each component which renderer draws it; Bonsai's view
      // is the webview kind.
      created() { this.renderer = 'webview'; },
    },
    methods: {
      animate(selector, keyframes, duration, callback) {
        if (typeof callback === 'function') setTimeout(() => guarded('animate callback', callback, this), Number(duration) || 0);
      },
      clearAnimation(selector, options, callback) {
        const cb = typeof options === 'function' ? options : callback;
        if (typeof cb === 'function') setTimeout(() => guarded('clearAnimation callback', cb, this), 0);
      },
    },
  }));
  const formField = () => defaultEnv.Behavior({ properties: { name: String, value: null } });
  const builtinBehaviors = {};
  const mapBehaviors = (def) => {
    if (!def || !Array.isArray(def.behaviors)) return def;
    const behaviors = [];
    for (const behavior of def.behaviors) {
      if (typeof behavior !== 'string' || !behavior.startsWith('wx://')) { behaviors.push(behavior); continue; }
      // Built-in behaviors by name, which the adapter does not know.
      if (behavior === 'wx://component-export') continue;
      if (!builtinBehaviors[behavior]) {
        builtinBehaviors[behavior] = behavior === 'wx://form-field' ? formField() : defaultEnv.Behavior({});
      }
      behaviors.push(builtinBehaviors[behavior]);
    }
    return Object.assign({}, def, { behaviors });
  };
  // WeChat also reads style isolation from `Component({ options })`; the
  // adapter only from the JSON, so it is copied there before registering.
  let currentConfig = null;
  const adoptStyleOptions = (def) => {
    const options = def && def.options;
    if (!currentConfig || !options) return;
    if (currentConfig.styleIsolation === undefined && typeof options.styleIsolation === 'string') {
      currentConfig.styleIsolation = options.styleIsolation;
    }
    if (currentConfig.addGlobalClass === undefined && options.addGlobalClass) currentConfig.addGlobalClass = true;
  };
  global.Component = (def) => {
    if (!currentEnv) throw new Error('Component() called outside of a component\'s own script');
    registeredCurrent = true;
    adoptStyleOptions(def);
    return currentEnv.Component(mapBehaviors(def));
  };
  global.Page = (def) => {
    if (!currentEnv) throw new Error('Page() called outside of a page\'s own script');
    registeredCurrent = true;
    adoptStyleOptions(def);
    return currentEnv.Page(mapBehaviors(def));
  };
  global.Behavior = (def) => (currentEnv || defaultEnv).Behavior(mapBehaviors(def));

  const registered = new Set();
  const components = manifest.components;
  const register = (path) => {
    if (registered.has(path)) return;
    registered.add(path);
    const entry = components[path];
    if (!entry) throw new Error(`component "${path}" is not in the package`);
    const generics = entry.genericDefaults || {};
    for (const target of Object.values(entry.using).concat(Object.values(generics))) {
      if (target.startsWith('/')) register(target.slice(1));
    }
    const config = Object.assign({}, entry.config, { usingComponents: entry.using });
    // The package loader writes absent fields as null; the adapter tests
    // `=== undefined` (a null styleIsolation would isolate pages from app.wxss).
    for (const key of Object.keys(config)) if (config[key] === null) delete config[key];
    if (config.componentGenerics) {
      // Defaults resolved like usingComponents; a host's generic:x= still wins.
      const resolved = {};
      for (const [name, value] of Object.entries(config.componentGenerics)) {
        resolved[name] = generics[name] ? { default: generics[name] } : value;
      }
      config.componentGenerics = resolved;
    }
    if (entry.kind === 'component' && config.component === undefined) config.component = true;
    codeSpace.addComponentStaticConfig(path, config);
    // Before Component() runs: the style scope is named after the path.
    if (entry.style) codeSpace.addStyleSheet(path, entry.style, path);
    if (entry.template) addTemplate(entry.template);
    if (!entry.script) return;
    const previousEnv = currentEnv;
    const previousRegistered = registeredCurrent;
    const previousConfig = currentConfig;
    registeredCurrent = false;
    try {
      codeSpace.componentEnv(path, (componentEnv) => {
        currentEnv = componentEnv;
        currentConfig = config;
        loadModule(entry.script);
      });
      if (!registeredCurrent) {
        reportError(new Error(`${entry.kind} "${path}" did not call ${entry.kind === 'page' ? 'Page' : 'Component'}()`), path);
      }
    } catch (err) {
      reportError(err, path);
    } finally {
      currentEnv = previousEnv;
      registeredCurrent = previousRegistered;
      currentConfig = previousConfig;
    }
  };

  // ---- app, pages and navigation ----------------------------------------------------

  let appInstance = null;
  global.App = (def) => {
    appInstance = def || {};
    if (appInstance.globalData === undefined) appInstance.globalData = {};
    return appInstance;
  };
  global.getApp = () => appInstance;

  const stack = [];
  const tabPages = new Map();
  const tabBarList = ((manifest.app && manifest.app.tabBar && manifest.app.tabBar.list) || []).map((t) => t.pagePath);
  global.getCurrentPages = () => stack.map((p) => p.caller);
  let pageIdSeq = 0;

  class EventChannel {
    constructor(listeners) {
      this.listeners = new Map();
      for (const [name, fn] of Object.entries(listeners || {})) this.on(name, fn);
    }
    on(name, fn) { (this.listeners.get(name) || this.listeners.set(name, []).get(name)).push({ fn, once: false }); }
    once(name, fn) { (this.listeners.get(name) || this.listeners.set(name, []).get(name)).push({ fn, once: true }); }
    off(name, fn) {
      const list = this.listeners.get(name) || [];
      this.listeners.set(name, fn ? list.filter((l) => l.fn !== fn) : []);
    }
    emit(name, ...args) {
      const list = this.listeners.get(name) || [];
      this.listeners.set(name, list.filter((l) => !l.once));
      for (const l of list) guarded(`eventChannel ${name}`, l.fn, undefined, args);
    }
  }

  const parseUrl = (url, from) => {
    const [rawPath, rawQuery = ''] = String(url).split('?');
    const path = join(from ? dirname(from) : '', rawPath.replace(/\.(html|wxml|js)$/, ''));
    const query = {};
    for (const pair of rawQuery.split('&')) {
      if (!pair) continue;
      const index = pair.indexOf('=');
      const key = index < 0 ? pair : pair.slice(0, index);
      const value = index < 0 ? '' : pair.slice(index + 1);
      query[decodeURIComponent(key)] = decodeURIComponent(value);
    }
    return { path, query, rawQuery };
  };

  const callPage = (page, hook, args) => {
    const fn = page.caller[hook];
    if (typeof fn === 'function') guarded(`${page.path} ${hook}`, fn, page.caller, args || []);
  };
  const pageLifetime = (page, name, args) => {
    guarded(`${page.path} pageLifetimes.${name}`, () => page.component.triggerPageLifetime(name, args || []));
  };
  const showPage = (page) => {
    callPage(page, 'onShow');
    pageLifetime(page, 'show');
  };
  const hidePage = (page) => {
    callPage(page, 'onHide');
    pageLifetime(page, 'hide');
  };
  const unloadPage = (page) => {
    callPage(page, 'onUnload');
    // Detach the page's node before release(), which forgets it.
    const element = page.component.getBackendElement();
    if (element) bodyElement.removeChild(element);
    guarded(`${page.path} release`, () => page.root.release());
  };

  const createPage = (path, query, rawQuery, channel) => {
    if (!components[path] || components[path].kind !== 'page') {
      throw new Error(`page "${path}" is not found`);
    }
    register(path);
    const root = backend.createRoot('page', codeSpace, path + (rawQuery ? `?${rawQuery}` : ''));
    const component = root.getComponent();
    const caller = root.get();
    pageIdSeq += 1;
    const page = { path, query, root, component, caller, id: pageIdSeq, channel: channel || new EventChannel() };
    caller.route = path;
    caller.__route__ = path;
    caller.options = query;
    caller.getOpenerEventChannel = () => page.channel;
    caller.getPageId = () => `page-${page.id}`;
    caller.getTabBar = () => null;
    return page;
  };

  const mountPage = (page) => {
    // getCurrentPages() must see the page before its components' attached().
    stack.push(page);
    const placeholder = newElement('placeholder', 'placeholder');
    bodyElement.appendChild(placeholder);
    page.root.attach(bodyElement, placeholder);
    const element = page.component.getBackendElement();
    if (element) ops.push([21, element.id, page.path]);
    callPage(page, 'onLoad', [page.query]);
    showPage(page);
    setTimeout(() => {
      // Components are ready after the first render, innermost first, then the page.
      const components = [];
      glassEasel.ElementIterator.create(page.component, 'composed-descendants-root-last', glassEasel.Component)
        .forEach((component) => { if (component !== page.component) components.push(component); });
      for (const component of components) {
        guarded(`${component.is} ready`, () => component.triggerLifetime('ready', []));
      }
      callPage(page, 'onReady');
      page.ready = true;
    }, 0);
  };

  const top = () => stack[stack.length - 1];
  const navigate = (kind, url, delta, channel) => {
    const current = top();
    if (kind === 'navigateBack') {
      const count = Math.min(Math.max(1, Number(delta) || 1), stack.length - 1);
      if (count < 1) throw new Error('navigateBack:fail cannot navigate back at first page.');
      for (let i = 0; i < count; i += 1) {
        const page = stack.pop();
        if (tabBarList.includes(page.path)) { hidePage(page); continue; }
        unloadPage(page);
      }
      showPage(top());
      return;
    }
    const { path, query, rawQuery } = parseUrl(url, current && current.path);
    const isTab = tabBarList.includes(path);
    if (kind === 'navigateTo' || kind === 'redirectTo') {
      if (isTab) throw new Error(`${kind}:fail can not ${kind} a tabbar page`);
    }
    if (kind === 'switchTab' && !isTab) throw new Error(`switchTab:fail can not switch to no-tabBar page`);
    if (kind === 'navigateTo' && stack.length >= 10) throw new Error('navigateTo:fail webview count limit exceed');
    // Check the target before closing anything: a failed redirect keeps the stack.
    if (!components[path] || components[path].kind !== 'page') throw new Error(`page "${path}" is not found`);
    if (current) {
      if (kind === 'navigateTo') hidePage(current);
      else if (kind === 'redirectTo') { stack.pop(); unloadPage(current); }
      else {
        // switchTab and reLaunch close every page; tab pages stay alive (hidden).
        while (stack.length) {
          const page = stack.pop();
          if (tabBarList.includes(page.path) && kind === 'switchTab') {
            // Only the visible page gets onHide; tab pages below it already did.
            if (page === current) hidePage(page);
          } else { unloadPage(page); tabPages.delete(page.path); }
        }
      }
    }
    if (kind === 'switchTab' && tabPages.has(path)) {
      const page = tabPages.get(path);
      stack.push(page);
      showPage(page);
      return page;
    }
    const page = createPage(path, query, rawQuery, channel);
    if (isTab) tabPages.set(path, page);
    mountPage(page);
    return page;
  };

  // ---- wx -------------------------------------------------------------------------------

  // Unknown names fail loudly rather than being undefined: they fall
  // through to a Proxy on the prototype, so implemented APIs are plain own
  // properties (no trap on the hot path) and apps may still assign onto wx.
  const wx = Object.create(new Proxy(Object.create(null), {
    get(target, name) {
      if (typeof name !== 'string' || name === 'then' || name === 'toJSON') return undefined;
      if (name in Object.prototype) return Object.prototype[name];
      return unsupported(name);
    },
  }));
  const implemented = new Set();
  const define = (name, fn) => { wx[name] = fn; implemented.add(name); };
  // Calls waiting for the user (a modal, an action sheet), by id; the host
  // answers them through `answer`.
  const waiting = new Map();
  // `makeTask(id)`, for calls that return a task (RequestTask…): gives the
  // object returned when callbacks are passed, and `received(answer)`, run
  // before success so header and progress listeners hear first.
  const asyncApi = (name, run, makeTask) => define(name, (options = {}) => invoke(name, options, run, makeTask));
  // WeChat's calling convention for one call of `name`: callbacks or a Promise.
  // A failure WeChat numbers carries `errCode` beside errMsg (Rust's
  // `{"fail": reason, "errCode": n}`, an Error's `errCode`).
  const invoke = (name, options, run, makeTask) => {
    const finish = (ok, result, errCode) => {
      const res = Object.assign({ errMsg: ok ? `${name}:ok` : `${name}:fail ${result}` }, ok ? result : {});
      if (!ok && errCode !== undefined && errCode !== null) res.errCode = errCode;
      const callback = ok ? options.success : options.fail;
      if (typeof callback === 'function') guarded(`${name} callback`, callback, undefined, [res]);
      if (typeof options.complete === 'function') guarded(`${name} complete`, options.complete, undefined, [res]);
      return res;
    };
    const hasCallback = ['success', 'fail', 'complete'].some((k) => typeof options[k] === 'function');
    let result;
    try {
      result = run(options) || {};
    } catch (err) {
      const reason = err instanceof Error ? err.message.replace(new RegExp(`^${name}:fail `), '') : String(err);
      const errCode = err instanceof Error ? err.errCode : undefined;
      if (!hasCallback) return Promise.reject(finish(false, reason, errCode));
      // WeChat calls back in a later task, never before the call returns.
      setTimeout(() => finish(false, reason, errCode), 0);
      // A task that never started (id 0 is never used): abort is a no-op.
      return makeTask ? makeTask(0).object : undefined;
    }
    if (result.waitingFor === undefined) {
      if (!hasCallback) return Promise.resolve(finish(true, result));
      setTimeout(() => finish(true, result), 0);
      return undefined;
    }
    const task = makeTask ? makeTask(result.waitingFor) : null;
    const promise = new Promise((resolve, reject) => {
      waiting.set(result.waitingFor, (ok, answer, errCode) => {
        if (task && ok) task.received(answer);
        const res = finish(ok, answer, errCode);
        if (ok) resolve(res); else reject(res);
      });
    });
    if (!hasCallback) return promise;
    promise.catch(() => {});
    return task ? task.object : undefined;
  };
  // A transfer's task: abort() fails the call with "abort" (in a later
  // task, as WeChat calls back), header and progress listeners run when the
  // answer arrives.
  const transferTask = (name) => (id) => {
    const listeners = { headers: [], progress: [] };
    const on = (kind) => (fn) => { if (typeof fn === 'function') listeners[kind].push(fn); };
    const off = (kind) => (fn) => { listeners[kind] = fn ? listeners[kind].filter((f) => f !== fn) : []; };
    const object = {
      abort() {
        if (!native.cancel(id)) return;
        const complete = waiting.get(id);
        waiting.delete(id);
        if (complete) setTimeout(() => complete(false, 'abort'), 0);
      },
      onHeadersReceived: on('headers'), offHeadersReceived: off('headers'),
      onProgressUpdate: on('progress'), offProgressUpdate: off('progress'),
      // Bodies arrive whole, so there are no chunks to report.
      onChunkReceived() {}, offChunkReceived() {},
    };
    const received = (answer) => {
      for (const fn of listeners.headers) guarded(`${name} onHeadersReceived`, fn, undefined, [{ header: answer.header, statusCode: answer.statusCode, cookies: answer.cookies || [] }]);
      const size = answer.dataLength || 0;
      for (const fn of listeners.progress) guarded(`${name} onProgressUpdate`, fn, undefined, [{ progress: 100, totalBytesWritten: size, totalBytesExpectedToWrite: size, totalBytesSent: size, totalBytesExpectedToSend: size }]);
      if (answer.dataBase64 !== undefined) {
        answer.data = wx.base64ToArrayBuffer(answer.dataBase64);
        delete answer.dataBase64;
      }
    };
    return { object, received };
  };
  const TASK_APIS = new Set(['request', 'downloadFile', 'uploadFile']);
  // Options as they cross into Rust: no callbacks, bytes as base64.
  const plainArgs = (options) => {
    const args = Object.fromEntries(Object.entries(options || {}).filter(([, v]) => typeof v !== 'function'));
    if (args.data instanceof ArrayBuffer) {
      args.dataBase64 = wx.arrayBufferToBase64(args.data);
      delete args.data;
    }
    return args;
  };
  // WebSockets: connectSocket returns its SocketTask at once; events come
  // from Rust (`socketEvent`). The legacy global listeners follow the
  // newest socket.
  // SocketTask's methods return nothing: a failure reaches the callbacks
  // or the task's listeners, never an unhandled rejection.
  const quietly = (result) => { if (result && typeof result.catch === 'function') result.catch(() => {}); };
  const sockets = new Map();
  let newestSocket = 0;
  const legacySocket = { open: [], message: [], close: [], error: [] };
  define('connectSocket', (options = {}) => {
    const listeners = { open: [], message: [], close: [], error: [] };
    let id = 0;
    let readyState = 0;
    const on = (kind) => (fn) => { if (typeof fn === 'function') listeners[kind].push(fn); };
    const task = {
      CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3,
      get readyState() { return readyState; },
      send: (o = {}) => quietly(invoke('sendSocketMessage', o, (opts) => callRust('sendSocketMessage', Object.assign(plainArgs(opts), { socketTaskId: id })))),
      close: (o = {}) => quietly(invoke('closeSocket', o, (opts) => {
        if (readyState === 1) readyState = 2;
        return callRust('closeSocket', Object.assign(plainArgs(opts), { socketTaskId: id }));
      })),
      onOpen: on('open'), onMessage: on('message'), onClose: on('close'), onError: on('error'),
    };
    quietly(invoke('connectSocket', options, (opts) => {
      try {
        id = callRust('connectSocket', plainArgs(opts)).socketTaskId;
      } catch (err) {
        readyState = 3;
        // The task's own error listeners, registered after this returns, hear it too.
        setTimeout(() => { for (const fn of listeners.error) guarded('SocketTask.onError', fn, undefined, [{ errMsg: err.message }]); }, 0);
        throw err;
      }
      newestSocket = id;
      sockets.set(id, { listeners, setState: (state) => { readyState = state; } });
      return {};
    }));
    return task;
  });
  for (const kind of ['open', 'message', 'close', 'error']) {
    define(`onSocket${kind[0].toUpperCase()}${kind.slice(1)}`, (fn) => { if (typeof fn === 'function') legacySocket[kind].push(fn); });
  }
  const socketEvent = (id, event) => {
    const socket = sockets.get(id);
    if (!socket) return;
    const hear = (kind, res) => {
      const all = socket.listeners[kind].concat(id === newestSocket ? legacySocket[kind] : []);
      for (const fn of all) guarded(`SocketTask.on${kind}`, fn, undefined, [res]);
    };
    if (event.type === 'open') {
      socket.setState(1);
      hear('open', { header: event.header, profile: {} });
    } else if (event.type === 'message') {
      hear('message', { data: event.dataBase64 !== undefined ? wx.base64ToArrayBuffer(event.dataBase64) : event.data });
    } else if (event.type === 'close') {
      socket.setState(3);
      sockets.delete(id);
      hear('close', { code: event.code, reason: event.reason });
    } else {
      hear('error', { errMsg: event.errMsg });
    }
  };
  for (const kind of ['navigateTo', 'redirectTo', 'switchTab', 'reLaunch']) {
    asyncApi(kind, (options) => {
      const channel = new EventChannel(options.events);
      navigate(kind, options.url, 0, channel);
      return kind === 'navigateTo' ? { eventChannel: channel } : {};
    });
  }
  asyncApi('navigateBack', (options) => { navigate('navigateBack', '', options.delta); });
  define('nextTick', (fn) => { Promise.resolve().then(() => guarded('nextTick', fn)); });
  define('getLaunchOptionsSync', () => Object.assign({}, launchOptions));
  define('getEnterOptionsSync', () => Object.assign({}, launchOptions));
  // wx.canIUse(schema): `${API}.${method}.${param}.${option}` or
  // `${component}.${attribute}.${option}`. An API counts when Bonsai
  // implements it; its `.return` / `.success` / `.object` / `.callback`
  // fields are not tracked one by one, so any field of an implemented API is
  // true. A component counts when it is one of WeChat's built-in components
  // (Bonsai renders them all as elements), with any attribute and option.
  const BUILTIN_COMPONENTS = new Set([
    'view', 'scroll-view', 'swiper', 'swiper-item', 'movable-area', 'movable-view', 'cover-view', 'cover-image',
    'match-media', 'page-container', 'root-portal', 'share-element', 'grid-view', 'list-view', 'sticky-header',
    'sticky-section', 'icon', 'text', 'rich-text', 'progress', 'button', 'checkbox', 'checkbox-group', 'editor',
    'form', 'input', 'keyboard-accessory', 'label', 'picker', 'picker-view', 'picker-view-column', 'radio',
    'radio-group', 'slider', 'switch', 'textarea', 'functional-page-navigator', 'navigator', 'audio', 'camera',
    'channel-live', 'channel-video', 'image', 'live-player', 'live-pusher', 'video', 'voip-room', 'map', 'canvas',
    'web-view', 'ad', 'ad-custom', 'official-account', 'open-data', 'store-product', 'page-meta',
    'navigation-bar', 'block', 'slot',
  ]);
  const API_METHODS = new Set(['return', 'success', 'object', 'callback']);
  define('canIUse', (schema) => {
    if (typeof schema !== 'string' || schema === '') return false;
    const parts = schema.replace(/^wx\./, '').split('.');
    if (parts.some((part) => part === '')) return false;
    const [name, method] = parts;
    if (implemented.has(name)) return parts.length === 1 || API_METHODS.has(method);
    return BUILTIN_COMPONENTS.has(name);
  });
  // Ads cannot be served outside WeChat: the ad objects exist (apps create
  // them unguarded) but never load; every load/show rejects and onError
  // listeners hear why, as when WeChat has no ad to fill the slot.
  const adApi = (name) => define(name, () => {
    const errors = [];
    const failure = () => ({ errMsg: `${name}:fail not supported: ads are not served outside WeChat`, errCode: 1004 });
    const fail = () => {
      const res = failure();
      for (const fn of errors) setTimeout(() => guarded(`${name} onError`, fn, undefined, [res]), 0);
      return Promise.reject(res);
    };
    const noop = () => {};
    return {
      load: fail, show: fail, destroy: noop,
      onLoad: noop, offLoad: noop, onClose: noop, offClose: noop,
      onError(fn) { errors.push(fn); }, offError(fn) { const i = errors.indexOf(fn); if (i >= 0) errors.splice(i, 1); },
    };
  });
  // wx.createSelectorQuery() selects in the current page. Queries are
  // recorded and replayed on exec() after the pending render, as WeChat
  // answers them, so a query made while a page is still being created works.
  const deferredQuery = () => {
    const calls = [];
    let scope = null;
    const query = {
      in(component) { scope = component; return query; },
      selectViewport() { return nodesRef({ kind: 'selectViewport' }); },
      select(selector) { return nodesRef({ kind: 'select', selector }); },
      selectAll(selector) { return nodesRef({ kind: 'selectAll', selector }); },
      exec(callback) {
        setTimeout(() => {
          const owner = scope || (top() && top().caller);
          if (!owner) {
            reportError(new Error('createSelectorQuery: no page is open to query'), 'selector query');
            return;
          }
          const real = owner.createSelectorQuery();
          for (const call of calls) {
            const ref = call.kind === 'selectViewport' ? real.selectViewport() : real[call.kind](call.selector);
            for (const [method, args] of call.fields) {
              // `node` is answered below; the adapter has no node support.
              if (method !== 'node') ref[method](...args);
              else ref.fields({ id: true });
            }
          }
          real.exec((results) => {
            calls.forEach((call, index) => {
              if (!call.fields.some(([method, args]) => method === 'node' || (method === 'fields' && args[0] && args[0].node))) return;
              const found = queryElements(owner, call.selector, call.kind === 'selectAll');
              const nodes = found.map((e) => {
                const backendElement = e.getBackendElement && e.getBackendElement();
                return backendElement ? (backendElement.tag === 'canvas' ? headlessCanvas(backendElement) : {}) : null;
              });
              const attach = (entry, node) => (entry && typeof entry === 'object' ? Object.assign(entry, { node }) : entry);
              if (call.kind === 'selectAll') results[index] = (results[index] || []).map((entry, i) => attach(entry, nodes[i]));
              else results[index] = attach(results[index] || {}, nodes[0]);
              for (const [method, args] of call.fields) {
                if (method === 'node' && typeof args[0] === 'function') guarded('node callback', args[0], undefined, [results[index]]);
              }
            });
            if (typeof callback === 'function') callback(results);
          });
        }, 0);
        return query;
      },
    };
    const nodesRef = (call) => {
      call.fields = [];
      calls.push(call);
      const ref = {};
      for (const method of ['boundingClientRect', 'scrollOffset', 'fields', 'context', 'node']) {
        ref[method] = (...args) => { call.fields.push([method, args]); return query; };
      }
      return ref;
    };
    return query;
  };
  define('createSelectorQuery', deferredQuery);
  // The glass-easel elements a selector picks inside `caller`'s component.
  const queryElements = (caller, selector, all) => {
    const page = top();
    let component = page && page.caller === caller ? page.component : null;
    if (!component && page) {
      glassEasel.ElementIterator.create(page.component, 'composed-descendants-root-first', glassEasel.Component)
        .forEach((c) => {
          if (c.getMethodCaller() === caller) { component = c; return false; }
          return true;
        });
    }
    const root = component && component.getShadowRoot();
    if (!root || !selector) return [];
    return all ? root.querySelectorAll(selector) : [root.querySelector(selector)].filter(Boolean);
  };
  define('createIntersectionObserver', (component, options) => {
    const owner = component && typeof component.createIntersectionObserver === 'function' ? component : top().caller;
    return owner.createIntersectionObserver(component === owner ? options : component);
  });

  // ---- layout: rects, scrolling, intersection observers ------------------------------
  //
  // Rust lays pages out (bonsai_layout) from the composed tree as of the
  // last task. `native.layout(id)` answers [left, top, width, height, fixed,
  // scrollLeft, scrollTop, scrollWidth, scrollHeight, pageId] in page
  // coordinates (page unscrolled), or [] for a node without a box.
  const pageOfElement = (pageId) => stack.find((p) => {
    const element = p.component.getBackendElement();
    return element && element.id === pageId;
  });
  const pageGeometry = (element) => {
    const g = native.layout(element.id);
    if (!g || g.length < 10) return null;
    return {
      left: g[0], top: g[1], width: g[2], height: g[3], fixed: g[4] !== 0,
      scrollLeft: g[5], scrollTop: g[6], scrollWidth: g[7], scrollHeight: g[8], page: g[9],
    };
  };
  const pageScrollTop = (pageId) => {
    const page = pageOfElement(pageId);
    return (page && page.scrollTop) || 0;
  };
  const boundingRect = (element) => {
    const g = pageGeometry(element);
    if (!g) return { left: 0, top: 0, width: 0, height: 0 };
    if (g.page === element.id) {
      // The adapter reads the page's own rect as the viewport's scroll
      // offset (left/top) and scroll size (width/height).
      return {
        left: 0,
        top: pageScrollTop(element.id),
        width: Math.max(g.scrollWidth, device.windowWidth),
        height: Math.max(g.scrollHeight, device.windowHeight),
      };
    }
    // What the page scrolled moves everything but fixed boxes.
    const scrolled = g.fixed ? 0 : pageScrollTop(g.page);
    return { left: g.left, top: g.top - scrolled, width: g.width, height: g.height };
  };
  const scrollOffset = (element) => {
    const g = pageGeometry(element);
    if (!g) return { scrollLeft: 0, scrollTop: 0, scrollWidth: 0, scrollHeight: 0 };
    if (g.page === element.id) {
      const r = boundingRect(element);
      return { scrollLeft: 0, scrollTop: r.top, scrollWidth: r.width, scrollHeight: r.height };
    }
    return { scrollLeft: g.scrollLeft, scrollTop: g.scrollTop, scrollWidth: g.scrollWidth, scrollHeight: g.scrollHeight };
  };
  // Scrolls a page (clamped to its content), as pageScrollTo does.
  const scrollPage = (page, scrollTop) => {
    const element = page.component.getBackendElement();
    const g = element && pageGeometry(element);
    const max = g ? Math.max(0, g.scrollHeight - device.windowHeight) : 0;
    page.scrollTop = Math.min(Math.max(0, Number(scrollTop) || 0), max);
    layoutChanged();
    return page.scrollTop;
  };

  // Intersection observers with WeChat's semantics: the first check (after
  // the current render) reports only when the ratio differs from
  // `initialRatio` across a threshold, later ones whenever a threshold is
  // crossed. The adapter's own observer is replaced: it relies on a browser
  // IntersectionObserver, and its initial-ratio filter is inverted.
  const observed = new Set();
  let checkPending = false;
  // Called whenever a task changed the tree or a page scrolled.
  const layoutChanged = () => {
    if (observed.size === 0 || checkPending) return;
    checkPending = true;
    setTimeout(() => {
      checkPending = false;
      for (const entry of [...observed]) checkIntersection(entry);
    }, 0);
  };
  const edges = (r) => ({ left: r.left, top: r.top, right: r.left + r.width, bottom: r.top + r.height });
  const rectResult = (r) => ({ left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.right - r.left, height: r.bottom - r.top });
  const checkIntersection = (entry) => {
    const target = entry.element.getBackendElement && entry.element.getBackendElement();
    if (!target || !elements.has(target.id)) { observed.delete(entry); return; }
    const rect = edges(boundingRect(target));
    let area = { left: 0, top: 0, right: device.windowWidth, bottom: device.windowHeight };
    if (entry.relative) {
      const relative = entry.relative.getBackendElement && entry.relative.getBackendElement();
      if (!relative || !elements.has(relative.id)) { observed.delete(entry); return; }
      area = edges(boundingRect(relative));
    }
    const m = entry.margins;
    area = { left: area.left - m.left, top: area.top - m.top, right: area.right + m.right, bottom: area.bottom + m.bottom };
    const overlap = {
      left: Math.max(rect.left, area.left), top: Math.max(rect.top, area.top),
      right: Math.min(rect.right, area.right), bottom: Math.min(rect.bottom, area.bottom),
    };
    const intersecting = overlap.right >= overlap.left && overlap.bottom >= overlap.top;
    const targetArea = (rect.right - rect.left) * (rect.bottom - rect.top);
    let ratio = 0;
    if (intersecting) ratio = targetArea > 0 ? Math.min(1, ((overlap.right - overlap.left) * (overlap.bottom - overlap.top)) / targetArea) : 1;
    const level = (r) => entry.thresholds.filter((t) => (t === 0 ? r > 0 : r >= t)).length;
    const crossed = level(ratio) !== level(entry.ratio);
    entry.ratio = ratio;
    if (!crossed) return;
    const none = { left: 0, top: 0, right: 0, bottom: 0 };
    guarded('IntersectionObserver callback', entry.callback, undefined, [{
      id: entry.element.id || '',
      dataset: entry.element.dataset || {},
      time: native.now(),
      intersectionRatio: ratio,
      intersectionRect: rectResult(intersecting ? overlap : none),
      boundingClientRect: rectResult(rect),
      relativeRect: rectResult(area),
    }]);
  };
  const margins = (m) => Object.assign({ left: 0, top: 0, right: 0, bottom: 0 }, m);
  class IntersectionObserver {
    constructor(owner, options) {
      const o = options || {};
      this.owner = owner;
      this.thresholds = (Array.isArray(o.thresholds) && o.thresholds.length ? o.thresholds : [0]).map(Number);
      this.initialRatio = Number(o.initialRatio) || 0;
      this.observeAll = Boolean(o.observeAll);
      this.relative = null;
      // Without relativeTo…, WeChat measures against the viewport.
      this.margins = margins();
      this.entries = [];
    }
    relativeTo(selector, m) { this.relative = selector; this.margins = margins(m); return this; }
    relativeToViewport(m) { this.relative = null; this.margins = margins(m); return this; }
    observe(selector, callback) {
      const component = this.owner && this.owner._$;
      const root = component && typeof component.getShadowRoot === 'function' ? component.getShadowRoot() : null;
      if (!root || typeof callback !== 'function') return;
      const targets = this.observeAll ? root.querySelectorAll(selector) : [root.querySelector(selector)].filter(Boolean);
      const relative = this.relative === null ? null : root.querySelector(this.relative);
      if (this.relative !== null && !relative) {
        native.log('warn', `IntersectionObserver: no node matches relativeTo("${this.relative}")`);
        return;
      }
      for (const element of targets) {
        const entry = { element, relative, margins: this.margins, thresholds: this.thresholds, ratio: this.initialRatio, callback };
        this.entries.push(entry);
        observed.add(entry);
      }
      layoutChanged();
    }
    disconnect() {
      for (const entry of this.entries) observed.delete(entry);
      this.entries = [];
    }
  }
  adapter.component.ComponentCaller.prototype.createIntersectionObserver = function createIntersectionObserver(options) {
    return new IntersectionObserver(this, options);
  };

  // Computed styles, as `fields({ computedStyle: [...] })` and WXS's
  // getComputedStyle report them: each requested name (camelCase or
  // kebab-case) on the result, '' when nothing set it.
  const kebab = (name) => String(name).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const computedStyleOf = (element, names) => {
    const backendElement = element && typeof element.getBackendElement === 'function' ? element.getBackendElement() : null;
    const out = {};
    for (const name of Array.isArray(names) ? names : []) {
      const value = backendElement ? native.computedStyle(backendElement.id, kebab(name)) : undefined;
      out[name] = typeof value === 'string' ? value : '';
    }
    return out;
  };
  // The adapter's SelectorQuery ignores `computedStyle`; its queued requests
  // (`_$queue`: component, selector, single, fields, cb) get it added here.
  const adapterSelectorQuery = adapter.component.ComponentCaller.prototype.createSelectorQuery;
  adapter.component.ComponentCaller.prototype.createSelectorQuery = function createSelectorQuery() {
    const query = adapterSelectorQuery.call(this);
    const exec = query.exec;
    query.exec = function execWithComputedStyle(cb) {
      for (const request of Array.isArray(this._$queue) ? this._$queue : []) {
        const names = request.fields && request.fields.computedStyle;
        if (!Array.isArray(names) || request.selector === null || typeof request.cb !== 'function') continue;
        const callback = request.cb;
        request.cb = (res) => {
          const root = request.component && request.component._$ && request.component._$.getShadowRoot();
          const found = !root ? [] : request.single ? [root.querySelector(request.selector)] : root.querySelectorAll(request.selector);
          const entries = request.single ? [res] : res || [];
          entries.forEach((entry, i) => { if (entry && found[i]) Object.assign(entry, computedStyleOf(found[i], names)); });
          callback(res);
        };
      }
      return exec.call(this, cb);
    };
    return query;
  };
  const animationSteps = ['matrix', 'matrix3d', 'rotate', 'rotate3d', 'rotateX', 'rotateY', 'rotateZ', 'scale', 'scale3d', 'scaleX', 'scaleY', 'scaleZ', 'skew', 'skewX', 'skewY', 'translate', 'translate3d', 'translateX', 'translateY', 'translateZ', 'opacity', 'backgroundColor', 'width', 'height', 'left', 'right', 'top', 'bottom'];
  class Animation {
    constructor(options) {
      this.options = Object.assign({ duration: 400, timingFunction: 'linear', delay: 0, transformOrigin: '50% 50% 0' }, options);
      this.current = [];
      this.actions = [];
    }
    step(options) {
      const o = Object.assign({}, this.options, options);
      this.actions.push({
        animates: this.current,
        option: { transformOrigin: o.transformOrigin, transition: { duration: o.duration, timingFunction: o.timingFunction, delay: o.delay } },
      });
      this.current = [];
      return this;
    }
    export() {
      const actions = this.actions;
      this.actions = [];
      return { actions };
    }
  }
  for (const name of animationSteps) {
    Animation.prototype[name] = function step(...args) { this.current.push({ type: name, args }); return this; };
  }
  define('createAnimation', (options) => new Animation(options));
  // QuickJS-ng's native base64, captured now so app code cannot replace
  // it: megabytes cross in milliseconds (a byte loop in JS takes seconds).
  const nativeToBase64 = Uint8Array.prototype.toBase64;
  const nativeFromBase64 = Uint8Array.fromBase64;
  const bytesToBase64 = (bytes) => nativeToBase64.call(bytes);
  const base64ToBuffer = (text) => {
    const bytes = nativeFromBase64.call(Uint8Array, text);
    return bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.buffer.slice(0, bytes.byteLength);
  };
  define('arrayBufferToBase64', (buffer) => bytesToBase64(ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer)));
  // Lenient like WeChat's: URL-safe letters, missing padding and stray
  // characters are accepted.
  define('base64ToArrayBuffer', (text) => {
    const clean = String(text).replace(/-/g, '+').replace(/_/g, '/').replace(/[^A-Za-z0-9+/]/g, '');
    return base64ToBuffer(clean.length % 4 === 1 ? clean.slice(0, -1) : clean.padEnd(Math.ceil(clean.length / 4) * 4, '='));
  });
  wx.env = { USER_DATA_PATH: 'wxfile://usr' };
  define('getExptInfoSync', () => ({}));
  // Updates come from the platform's registry (the host's platform client
  // knows which version this run is); a run from a project directory is
  // always the newest version. As in WeChat, the check starts by itself
  // (here: when the app first asks for the manager), a found version is
  // downloaded at once, and listeners registered late still hear the result.
  // One manager for the app, as WeChat's getUpdateManager returns.
  const [updateManager, startUpdateCheck] = (() => {
    const listeners = { check: [], ready: [], failed: [] };
    const heard = {};
    const emit = (kind, res) => {
      heard[kind] = res;
      for (const fn of listeners[kind]) guarded(`UpdateManager ${kind}`, fn, undefined, [res]);
    };
    const on = (kind) => (fn) => {
      if (typeof fn !== 'function') return;
      listeners[kind].push(fn);
      if (kind in heard) setTimeout(() => guarded(`UpdateManager ${kind}`, fn, undefined, [heard[kind]]), 0);
    };
    const step = (name) => invoke(name, {}, (o) => callRust(name, plainArgs(o)));
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      step('UpdateManager.check').then(
        ({ hasUpdate }) => {
          emit('check', { hasUpdate: !!hasUpdate });
          if (hasUpdate) step('UpdateManager.download').then(() => emit('ready', {}), () => emit('failed', {}));
        },
        (err) => {
          console.warn(`[bonsai] update check failed: ${err.errMsg}`);
          emit('check', { hasUpdate: false });
        },
      );
    };
    const manager = {
      onCheckForUpdate: on('check'),
      onUpdateReady: on('ready'),
      onUpdateFailed: on('failed'),
      applyUpdate() {
        if (!('ready' in heard)) throw new Error('applyUpdate:fail update is not ready');
        step('UpdateManager.applyUpdate').catch(() => {});
      },
    };
    return [manager, start];
  })();
  define('getUpdateManager', () => {
    startUpdateCheck();
    return updateManager;
  });
  define('getPerformance', () => ({
    now: () => native.now(),
    getEntries: () => [],
    getEntriesByName: () => [],
    getEntriesByType: () => [],
    setBufferSize() {},
    createObserver: () => ({ observe() {}, disconnect() {} }),
  }));
  // Scrolling the page reports onPageScroll, as a user's scroll does.
  asyncApi('pageScrollTo', (options) => {
    const page = top();
    let scrollTop = Number(options.scrollTop) || 0;
    if (options.selector !== undefined && page) {
      const [target] = queryElements(page.caller, String(options.selector), false);
      const element = target && target.getBackendElement && target.getBackendElement();
      const geometry = element && pageGeometry(element);
      if (geometry) scrollTop = geometry.top + (Number(options.offsetTop) || 0);
    }
    setTimeout(() => {
      if (!top()) return;
      const scrolled = scrollPage(top(), scrollTop);
      callPage(top(), 'onPageScroll', [{ scrollTop: scrolled }]);
    }, Number(options.duration) || 0);
  });
  // ---- media and canvas ---------------------------------------------------------------
  //
  // Headless there is no screen, speaker or camera. Contexts keep WeChat's
  // state and call back as it does; pictures come from the device provider
  // (the camera) or are blank images of the requested size (canvas exports,
  // snapshots), so the paths apps pass on are real files.
  const optionsOf = (value) => (value && typeof value === 'object' ? value : {});
  // A transparent PNG. With no pixels drawn every row is zero bytes (1-bit
  // grey, tRNS making grey 0 transparent), so the zlib stream is one
  // literal then runs of 258 (fixed Huffman codes, distance 1): a few
  // kilobytes even at the size cap, built in milliseconds.
  const MAX_IMAGE_SIDE = 4096;
  const CRC_TABLE = new Int32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    CRC_TABLE[n] = c;
  }
  const crc32 = (bytes) => {
    let c = -1;
    for (let i = 0; i < bytes.length; i += 1) c = CRC_TABLE[(c ^ bytes[i]) & 255] ^ (c >>> 8);
    return (c ^ -1) >>> 0;
  };
  const zlibOfZeros = (length) => {
    const runs = Math.floor((length - 1) / 258);
    const literals = 1 + ((length - 1) % 258);
    const out = new Uint8Array(2 + Math.ceil((3 + 8 * literals + 13 * runs + 7) / 8) + 4);
    out[0] = 0x78;
    out[1] = 0x01;
    let at = 2;
    let bits = 0;
    let count = 0;
    // Deflate packs bits least significant first, Huffman codes reversed.
    const put = (value, n) => {
      bits |= value << count;
      count += n;
      while (count >= 8) { out[at++] = bits & 255; bits >>>= 8; count -= 8; }
    };
    put(0b011, 3); // the final block, fixed codes
    put(0x0c, 8); // literal 0
    for (let i = 0; i < runs; i += 1) put(0xa3, 13); // length 258 (code 285), distance 1 (code 0)
    for (let i = 1; i < literals; i += 1) put(0x0c, 8);
    put(0, 7); // end of block
    if (count > 0) out[at++] = bits & 255;
    // Adler-32 of zeros: a stays 1, b counts them.
    const b = length % 65521;
    out.set([b >>> 8, b & 255, 0, 1], at);
    return out;
  };
  const blankPng = (width, height) => {
    const header = new Uint8Array(13);
    new DataView(header.buffer).setUint32(0, width);
    new DataView(header.buffer).setUint32(4, height);
    header[8] = 1; // bit depth; colour type 0 (grey), no interlace
    const chunks = [['IHDR', header], ['tRNS', new Uint8Array(2)], ['IDAT', zlibOfZeros(height * (1 + Math.ceil(width / 8)))], ['IEND', new Uint8Array(0)]];
    const png = new Uint8Array(8 + chunks.reduce((sum, [, data]) => sum + 12 + data.length, 0));
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer);
    let at = 8;
    for (const [type, data] of chunks) {
      view.setUint32(at, data.length);
      for (let i = 0; i < 4; i += 1) png[at + 4 + i] = type.charCodeAt(i);
      png.set(data, at + 8);
      view.setUint32(at + 8 + data.length, crc32(png.subarray(at + 4, at + 8 + data.length)));
      at += 12 + data.length;
    }
    return png;
  };
  // Whole pixels, at least one and at most the cap; throws WeChat's parameter error.
  const imageSize = (width, height) => {
    const w = Math.round(Number(width));
    const h = Math.round(Number(height));
    if (!(w >= 1 && h >= 1)) throw new Error(`parameter error: the image would be empty (${width}x${height})`);
    if (w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE) throw new Error(`parameter error: ${w}x${h} is larger than ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE}`);
    return [w, h];
  };
  const blankImageFile = (width, height) => {
    const [w, h] = imageSize(width, height);
    const path = native.tempFile(bytesToBase64(blankPng(w, h)), 'png');
    if (!path) throw new Error('the image could not be stored');
    return { path, width: w, height: h };
  };
  const blankDataUrl = (canvas) => {
    try {
      const [w, h] = imageSize(canvas.width, canvas.height);
      return `data:image/png;base64,${bytesToBase64(blankPng(w, h))}`;
    } catch (err) {
      return 'data:,';
    }
  };
  // The legacy canvas API: drawing is recorded, `draw` completes.
  define('createCanvasContext', () => recordingContext('legacy', {
    draw(reserve, callback) {
      const cb = typeof reserve === 'function' ? reserve : callback;
      if (typeof cb === 'function') setTimeout(() => guarded('canvas draw callback', cb), 0);
    },
  }));
  // The oldest canvas API: a context whose calls are actions, drawn by drawCanvas.
  define('createContext', () => {
    const context = recordingContext('legacy', {
      getActions: () => recordedCalls.get(context).map(([method, data]) => ({ method, data })),
      clearActions: () => { recordedCalls.get(context).length = 0; },
    });
    return context;
  });
  const drawnActions = new Map();
  define('drawCanvas', (options) => quietly(invoke('drawCanvas', optionsOf(options), (o) => {
    const id = String(o.canvasId ?? '');
    const actions = Array.isArray(o.actions) ? o.actions : [];
    drawnActions.set(id, (o.reserve ? drawnActions.get(id) || [] : []).concat(actions));
  })));
  define('createOffscreenCanvas', (options, height) => {
    const o = typeof options === 'number' ? { width: options, height } : optionsOf(options);
    // WeChat's default type is webgl, which has no headless context.
    const type = o.type === '2d' ? '2d' : 'webgl';
    const canvas = headlessCanvas({});
    if (Number(o.width) > 0) canvas.width = Math.floor(Number(o.width));
    if (Number(o.height) > 0) canvas.height = Math.floor(Number(o.height));
    const getContext = canvas.getContext;
    canvas.getContext = (kind) => (kind === type ? getContext(kind) : null);
    return canvas;
  });
  // A blank image of the requested part of the canvas. A 2d canvas's size
  // is in pixels already; a legacy one (canvasId) is 300×150 CSS pixels
  // (no element sizes are read) scaled by the pixel ratio, as WeChat scales.
  define('canvasToTempFilePath', (options) => invoke('canvasToTempFilePath', optionsOf(options), (o) => {
    let size = [300, 150];
    let scale = device.pixelRatio || 1;
    if (o.canvas && typeof o.canvas === 'object') {
      size = [Number(o.canvas.width) || 0, Number(o.canvas.height) || 0];
      scale = 1;
    } else if (o.canvasId === undefined || o.canvasId === null || o.canvasId === '') {
      throw new Error('parameter error: canvasId or canvas is required');
    }
    const width = o.width !== undefined ? Number(o.width) : size[0] - (Number(o.x) || 0);
    const height = o.height !== undefined ? Number(o.height) : size[1] - (Number(o.y) || 0);
    const image = blankImageFile(
      o.destWidth !== undefined ? o.destWidth : width * scale,
      o.destHeight !== undefined ? o.destHeight : height * scale,
    );
    return { tempFilePath: image.path };
  }));

  // A native component's context: each method changes state (`run`) and
  // answers its callbacks; like WeChat's, it returns nothing. WeChat
  // answers with the name of the native call behind the context
  // (`operateVideoPlayer:ok`, `operateLivePusher:ok`) where it has one,
  // with the method's own name otherwise.
  const componentContext = (methods, operation) => {
    const context = {};
    for (const [name, run] of Object.entries(methods)) {
      context[name] = (options) => quietly(invoke(operation || name, optionsOf(options), () => run(options)));
    }
    return context;
  };
  const idle = (names) => Object.fromEntries(names.map((name) => [name, () => {}]));
  // A component event (bindplay, bindfullscreenchange…) on the node `#id`
  // of `component`'s view (the current page's by default), in a later task.
  const fireOn = (id, component, type, detail) => setTimeout(() => {
    const owner = component || (top() && top().caller);
    let found = [];
    try { found = owner ? queryElements(owner, `#${id}`, false) : []; } catch (err) { found = []; }
    if (found[0]) glassEasel.triggerEvent(found[0], type, detail, { originalEvent: undefined, bubbles: false, composed: false, capturePhase: false });
  }, 0);
  const snapshot = () => {
    const image = blankImageFile(device.windowWidth, device.windowHeight);
    return { tempImagePath: image.path, width: image.width, height: image.height };
  };
  define('createVideoContext', (id, component) => {
    const state = { playing: false, fullScreen: false, pictureInPicture: false };
    const fire = (type, detail) => fireOn(String(id), component, type, detail || {});
    const toggle = (key, on, type, detail) => {
      if (state[key] === on) return;
      state[key] = on;
      fire(type, detail);
    };
    return componentContext(Object.assign(idle(['playbackRate', 'showStatusBar', 'hideStatusBar', 'sendDanmu', 'requestBackgroundPlayback', 'exitBackgroundPlayback']), {
      play: () => toggle('playing', true, 'play'),
      pause: () => toggle('playing', false, 'pause'),
      stop: () => { state.playing = false; },
      seek: (position) => fire('seekcomplete', { position: Math.max(0, Number(position) || 0) }),
      requestFullScreen: (o) => {
        const direction = Math.abs(Number(optionsOf(o).direction)) === 90 ? 'horizontal' : 'vertical';
        toggle('fullScreen', true, 'fullscreenchange', { fullScreen: true, direction });
      },
      exitFullScreen: () => toggle('fullScreen', false, 'fullscreenchange', { fullScreen: false, direction: 'vertical' }),
      requestPictureInPicture: () => toggle('pictureInPicture', true, 'enterpictureinpicture'),
      exitPictureInPicture: () => toggle('pictureInPicture', false, 'leavepictureinpicture'),
    }), 'operateVideoPlayer');
  });
  define('createLivePlayerContext', () => componentContext(Object.assign(idle([
    'play', 'stop', 'mute', 'pause', 'resume', 'requestFullScreen', 'exitFullScreen', 'requestPictureInPicture',
    'exitPictureInPicture', 'startCasting', 'switchCasting', 'reconnectCasting', 'exitCasting',
  ]), { snapshot })));
  define('createLivePusherContext', () => componentContext(Object.assign(idle([
    'start', 'stop', 'pause', 'resume', 'switchCamera', 'toggleTorch', 'startPreview', 'stopPreview', 'playBGM',
    'stopBGM', 'pauseBGM', 'resumeBGM', 'setBGMVolume', 'setMICVolume', 'sendMessage', 'exitPictureInPicture',
  ]), { snapshot }), 'operateLivePusher'));
  // What the camera sees comes from the device provider, asked as
  // chooseMedia({sourceType: ['camera']}) asks it; answers say operateCamera.
  define('createCameraContext', () => {
    let recording = null;
    const shoot = (options, mediaType, shape) => {
      const received = (answer) => {
        const file = (Array.isArray(answer.tempFiles) && answer.tempFiles[0]) || {};
        const result = shape(file);
        for (const key of Object.keys(answer)) delete answer[key];
        Object.assign(answer, result);
      };
      quietly(invoke('operateCamera', optionsOf(options), () => {
        let answer;
        try {
          answer = callRust('chooseMedia', { count: 1, mediaType: [mediaType], sourceType: ['camera'] });
        } catch (err) {
          throw new Error(String(err.message).replace(/^chooseMedia:fail /, ''));
        }
        if (answer.waitingFor === undefined) received(answer);
        return answer;
      }, () => ({ object: undefined, received })));
    };
    // A video's thumbnail is a blank image of its size.
    const video = (file) => {
      let tempThumbPath = '';
      try {
        const scale = Math.min(1, MAX_IMAGE_SIDE / (file.width || 1), MAX_IMAGE_SIDE / (file.height || 1));
        tempThumbPath = blankImageFile((file.width || 320) * scale, (file.height || 240) * scale).path;
      } catch (err) {
        tempThumbPath = '';
      }
      return { tempThumbPath, tempVideoPath: file.tempFilePath };
    };
    const camera = componentContext({ setZoom: (o) => ({ zoom: Number(optionsOf(o).zoom) || 1 }) });
    camera.takePhoto = (options) => shoot(options, 'image', (file) => ({ tempImagePath: file.tempFilePath, width: file.width, height: file.height }));
    camera.startRecord = (options) => {
      const o = optionsOf(options);
      quietly(invoke('operateCamera', o, () => {
        if (recording) clearTimeout(recording);
        // WeChat stops a recording after `timeout` seconds (30, at most 300).
        const seconds = Math.min(Math.max(Number(o.timeout) || 30, 1), 300);
        recording = setTimeout(() => {
          recording = null;
          shoot({ success: o.timeoutCallback }, 'video', video);
        }, seconds * 1000);
      }));
    };
    camera.stopRecord = (options) => {
      if (!recording) {
        quietly(invoke('operateCamera', optionsOf(options), () => { throw new Error('the camera is not recording'); }));
        return;
      }
      clearTimeout(recording);
      recording = null;
      shoot(options, 'video', video);
    };
    // No frames ever arrive; the listener starts and stops.
    camera.onCameraFrame = () => componentContext(idle(['start', 'stop']));
    return camera;
  });

  // Audio without a speaker: players keep WeChat's state machine (setting
  // src, play, pause, stop, seek; events in later tasks), so players render
  // and react. Nothing decodes the source: duration stays 0, time does not
  // advance and `ended` never fires.
  const AUDIO_EVENTS = ['canplay', 'waiting', 'error', 'play', 'pause', 'seeking', 'seeked', 'ended', 'stop', 'timeUpdate'];
  // `startsOnSrc()`: whether setting src starts playback.
  const audioPlayer = (label, events, startsOnSrc) => {
    const listeners = {};
    const emit = (name) => {
      for (const fn of listeners[name] || []) setTimeout(() => guarded(`${label}.on${name}`, fn, undefined, [{}]), 0);
    };
    const state = { src: '', paused: true, currentTime: 0, startTime: 0 };
    const start = () => { state.paused = false; emit('play'); };
    const player = {
      playbackRate: 1,
      get src() { return state.src; },
      set src(value) {
        state.src = value === undefined || value === null ? '' : String(value);
        state.paused = true;
        state.currentTime = state.startTime;
        if (!state.src) return;
        emit('canplay');
        if (startsOnSrc()) start();
      },
      get paused() { return state.paused; },
      get currentTime() { return state.currentTime; },
      get duration() { return 0; },
      get buffered() { return 0; },
      get startTime() { return state.startTime; },
      set startTime(value) { state.startTime = Math.max(0, Number(value) || 0); },
      play() { if (state.src && state.paused) start(); },
      pause() {
        if (state.paused) return;
        state.paused = true;
        emit('pause');
      },
      stop() {
        if (!state.src) return;
        state.paused = true;
        state.currentTime = 0;
        emit('stop');
      },
      seek(position) {
        if (!state.src) return;
        emit('seeking');
        state.currentTime = Math.max(0, Number(position) || 0);
        emit('seeked');
      },
    };
    for (const name of events) {
      const key = name[0].toUpperCase() + name.slice(1);
      player[`on${key}`] = (fn) => { if (typeof fn === 'function') (listeners[name] = listeners[name] || []).push(fn); };
      player[`off${key}`] = (fn) => { listeners[name] = (listeners[name] || []).filter((f) => fn && f !== fn); };
    }
    // Silences the player for good: no more events, nothing to play.
    const destroy = () => {
      for (const name of Object.keys(listeners)) delete listeners[name];
      state.src = '';
      state.paused = true;
    };
    return { player, destroy };
  };
  let backgroundAudio = null;
  define('getBackgroundAudioManager', () => {
    if (backgroundAudio) return backgroundAudio;
    backgroundAudio = audioPlayer('BackgroundAudioManager', AUDIO_EVENTS.concat(['next', 'prev']), () => true).player;
    return Object.assign(backgroundAudio, { title: '', epname: '', singer: '', coverImgUrl: '', webUrl: '', protocol: 'http', referrerPolicy: '' });
  });
  define('createInnerAudioContext', () => {
    const audio = audioPlayer('InnerAudioContext', AUDIO_EVENTS, () => audio.player.autoplay === true);
    return Object.assign(audio.player, { autoplay: false, loop: false, volume: 1, obeyMuteSwitch: true, referrerPolicy: '', destroy: audio.destroy });
  });
  // Web Audio without output: a graph can be built, started and stopped,
  // and nothing sounds. Scheduled parameter changes land at once.
  define('createWebAudioContext', () => {
    let state = 'running';
    let runningSince = native.now();
    let ranBefore = 0;
    const param = (value) => {
      const p = { value, defaultValue: value, minValue: -3.4028234663852886e38, maxValue: 3.4028234663852886e38 };
      const jump = (v) => {
        if (Number.isFinite(Number(v))) p.value = Number(v);
        return p;
      };
      return Object.assign(p, {
        setValueAtTime: jump, linearRampToValueAtTime: jump, exponentialRampToValueAtTime: jump, setTargetAtTime: jump,
        setValueCurveAtTime: (curve) => jump(curve && curve[curve.length - 1]),
        cancelScheduledValues: () => p, cancelAndHoldAtTime: () => p,
      });
    };
    const node = (fields) => Object.assign({
      numberOfInputs: 1, numberOfOutputs: 1, channelCount: 2, channelCountMode: 'max', channelInterpretation: 'speakers',
      connect: (destination) => destination,
      disconnect() {},
    }, fields);
    // Sources end when stopped, or when a buffer without loop has played through.
    const source = (fields) => {
      const n = node(Object.assign({ numberOfInputs: 0, onended: null }, fields));
      let started = false;
      let ended = false;
      const end = (ms) => setTimeout(() => {
        if (ended) return;
        ended = true;
        if (typeof n.onended === 'function') guarded('WebAudioContext onended', n.onended, n, [{}]);
      }, Math.max(0, ms));
      n.start = (when, offset, duration) => {
        if (started) return;
        started = true;
        const buffer = n.buffer;
        if (buffer && !n.loop && buffer.duration > 0) {
          const length = Number(duration) > 0 ? Number(duration) : buffer.duration - (Number(offset) || 0);
          end(((Number(when) || 0) + length) * 1000);
        }
      };
      n.stop = () => { if (started) end(0); };
      return n;
    };
    const audioBuffer = (options) => {
      const o = optionsOf(options);
      const channels = Math.min(Math.max(Math.floor(Number(o.numberOfChannels)) || 1, 1), 32);
      const length = Math.max(Math.floor(Number(o.length)) || 0, 0);
      const sampleRate = Number(o.sampleRate) > 0 ? Number(o.sampleRate) : 44100;
      const data = [];
      const channel = (i) => {
        const index = Math.min(Math.max(Math.floor(Number(i)) || 0, 0), channels - 1);
        if (!data[index]) {
          try { data[index] = new Float32Array(length); } catch (err) { data[index] = new Float32Array(0); }
        }
        return data[index];
      };
      return {
        sampleRate, length, duration: length / sampleRate, numberOfChannels: channels,
        getChannelData: channel,
        copyFromChannel(destination, i, start) {
          if (destination && typeof destination.set === 'function') destination.set(channel(i).subarray(Number(start) || 0, (Number(start) || 0) + destination.length));
        },
        copyToChannel(from, i, start) {
          try { channel(i).set(from, Number(start) || 0); } catch (err) { /* out of range: nothing copied */ }
        },
      };
    };
    const fill = (value) => (array) => { if (array && typeof array.fill === 'function') array.fill(value); };
    const context = {
      get state() { return state; },
      get currentTime() { return (ranBefore + (state === 'running' ? native.now() - runningSince : 0)) / 1000; },
      sampleRate: 44100,
      onstatechange: null,
      destination: node({ numberOfOutputs: 0, maxChannelCount: 2 }),
      listener: Object.assign(idle(['setPosition', 'setOrientation']), {
        positionX: param(0), positionY: param(0), positionZ: param(0),
        forwardX: param(0), forwardY: param(0), forwardZ: param(-1), upX: param(0), upY: param(1), upZ: param(0),
      }),
      createBufferSource: () => source({ buffer: null, loop: false, loopStart: 0, loopEnd: 0, playbackRate: param(1), detune: param(0) }),
      createOscillator: () => source({ type: 'sine', frequency: param(440), detune: param(0), setPeriodicWave() {} }),
      createConstantSource: () => source({ offset: param(1) }),
      createGain: () => node({ gain: param(1) }),
      createBiquadFilter: () => node({ type: 'lowpass', frequency: param(350), Q: param(1), gain: param(0), detune: param(0), getFrequencyResponse() {} }),
      createDelay: () => node({ delayTime: param(0) }),
      createDynamicsCompressor: () => node({ threshold: param(-24), knee: param(30), ratio: param(12), attack: param(0.003), release: param(0.25), reduction: 0 }),
      createWaveShaper: () => node({ curve: null, oversample: 'none' }),
      createPanner: () => node(Object.assign(idle(['setPosition', 'setOrientation']), { panningModel: 'equalpower', distanceModel: 'inverse', positionX: param(0), positionY: param(0), positionZ: param(0) })),
      createChannelMerger: () => node({}),
      createChannelSplitter: () => node({}),
      createIIRFilter: () => node({ getFrequencyResponse() {} }),
      createScriptProcessor: (bufferSize) => node({ bufferSize: Number(bufferSize) || 4096, onaudioprocess: null }),
      // Silence: no frequencies, a flat wave.
      createAnalyser: () => node({
        fftSize: 2048, frequencyBinCount: 1024, minDecibels: -100, maxDecibels: -30, smoothingTimeConstant: 0.8,
        getByteFrequencyData: fill(0), getByteTimeDomainData: fill(128), getFloatFrequencyData: fill(-Infinity), getFloatTimeDomainData: fill(0),
      }),
      createPeriodicWave: () => ({}),
      createBuffer: (numberOfChannels, length, sampleRate) => audioBuffer({ numberOfChannels, length, sampleRate }),
      decodeAudioData(data, success, fail) {
        const error = new Error('decodeAudioData: Bonsai has no audio decoder (headless, no sound)');
        if (typeof fail === 'function') setTimeout(() => guarded('WebAudioContext decodeAudioData', fail, undefined, [error]), 0);
        return typeof success === 'function' || typeof fail === 'function' ? undefined : Promise.reject(error);
      },
      suspend: () => moveTo('suspended'),
      resume: () => moveTo('running'),
      close: () => moveTo('closed'),
    };
    const moveTo = (next) => {
      if (state !== 'closed' && state !== next) {
        const now = native.now();
        if (state === 'running') ranBefore += now - runningSince;
        if (next === 'running') runningSince = now;
        state = next;
        setTimeout(() => {
          if (typeof context.onstatechange === 'function') guarded('WebAudioContext onstatechange', context.onstatechange, context, [{}]);
        }, 0);
      }
      return Promise.resolve();
    };
    return context;
  });

  // ---- Skyline shims ---------------------------------------------------------------
  //
  // Skyline's worklet API without a UI thread: shared values are plain
  // boxes, worklets run on the JS thread, and animations jump to their end
  // (the callback hears `finished: true` in a later task).
  const DECAY = Symbol('decay');
  const animationDone = (callback) => {
    if (typeof callback === 'function') setTimeout(() => guarded('worklet animation callback', callback, undefined, [true]), 0);
  };
  const toTarget = (toValue, options, callback) => {
    animationDone(typeof options === 'function' ? options : callback);
    return toValue;
  };
  const fnOr = (fn) => (typeof fn === 'function' ? fn : (t) => t);
  // A cubic Bézier easing, x solved by bisection.
  const bezier = (x1, y1, x2, y2) => {
    const curve = (a, b) => (t) => 3 * a * t * (1 - t) ** 2 + 3 * b * t * t * (1 - t) + t ** 3;
    const x = curve(Number(x1), Number(x2));
    const y = curve(Number(y1), Number(y2));
    return (t) => {
      if (!(t > 0)) return 0;
      if (t >= 1) return 1;
      let low = 0;
      let high = 1;
      for (let i = 0; i < 32; i += 1) {
        const middle = (low + high) / 2;
        if (x(middle) < t) low = middle; else high = middle;
      }
      return y((low + high) / 2);
    };
  };
  const bounce = (t) => {
    const k = 7.5625;
    if (t < 1 / 2.75) return k * t * t;
    if (t < 2 / 2.75) return k * (t - 1.5 / 2.75) ** 2 + 0.75;
    if (t < 2.5 / 2.75) return k * (t - 2.25 / 2.75) ** 2 + 0.9375;
    return k * (t - 2.625 / 2.75) ** 2 + 0.984375;
  };
  define('worklet', {
    shared(value) {
      let current = value;
      return {
        get value() { return current; },
        // A decay starts from the value it is assigned to.
        set value(next) { current = next && typeof next === 'object' && next[DECAY] ? next[DECAY](current) : next; },
      };
    },
    derived: (fn) => ({ get value() { return typeof fn === 'function' ? fn() : undefined; } }),
    runOnJS: (fn) => (typeof fn === 'function' ? fn : () => {}),
    runOnUI: (fn) => (typeof fn === 'function' ? fn : () => {}),
    timing: toTarget,
    spring: toTarget,
    // Where a fling stops: velocity (per second) times deceleration / (1 - deceleration), clamped.
    decay(options, callback) {
      const o = optionsOf(options);
      animationDone(typeof options === 'function' ? options : callback);
      return {
        [DECAY]: (from) => {
          const deceleration = Number(o.deceleration) > 0 && Number(o.deceleration) < 1 ? Number(o.deceleration) : 0.998;
          let to = (Number(from) || 0) + ((Number(o.velocity) || 0) * deceleration) / (1 - deceleration) / 1000;
          if (Array.isArray(o.clamp) && o.clamp.length === 2) to = Math.min(Math.max(to, Number(o.clamp[0])), Number(o.clamp[1]));
          return to;
        },
      };
    },
    sequence: (...animations) => animations[animations.length - 1],
    repeat: (animation, count, reverse, callback) => {
      animationDone(callback);
      return animation;
    },
    delay: (ms, animation) => animation,
    cancelAnimation() {},
    Easing: {
      linear: (t) => t,
      ease: bezier(0.42, 0, 1, 1),
      quad: (t) => t * t,
      cubic: (t) => t * t * t,
      poly: (n) => (t) => t ** n,
      sin: (t) => 1 - Math.cos((t * Math.PI) / 2),
      circle: (t) => 1 - Math.sqrt(1 - t * t),
      exp: (t) => 2 ** (10 * (t - 1)),
      elastic: (bounciness = 1) => (t) => 1 - Math.cos((t * Math.PI) / 2) ** 3 * Math.cos(t * bounciness * Math.PI),
      back: (s = 1.70158) => (t) => t * t * ((s + 1) * t - s),
      bounce,
      bezier,
      bezierFn: bezier,
      steps: (n = 10, roundToNextStep = true) => (t) => (roundToNextStep ? Math.ceil : Math.floor)(Math.min(Math.max(t, 0), 1) * n) / n,
      in: fnOr,
      out: (fn) => (t) => 1 - fnOr(fn)(1 - t),
      inOut: (fn) => (t) => (t < 0.5 ? fnOr(fn)(t * 2) / 2 : 1 - fnOr(fn)((1 - t) * 2) / 2),
    },
  });
  // Custom routes register; navigation runs WeChat's default transition
  // (none headless), so builders are never called.
  const routeBuilders = new Map();
  const routeContexts = new WeakMap();
  define('router', {
    addRouteBuilder(routeType, builder) { if (typeof builder === 'function') routeBuilders.set(String(routeType), builder); },
    removeRouteBuilder(routeType) { routeBuilders.delete(String(routeType)); },
    getRouteContext(component) {
      if (!component || typeof component !== 'object') return {};
      if (!routeContexts.has(component)) routeContexts.set(component, {});
      return routeContexts.get(component);
    },
  });
  adApi('createInterstitialAd');
  adApi('createRewardedVideoAd');
  // ---- files ------------------------------------------------------------------------
  //
  // wx.getFileSystemManager() and the saved-file functions. The sandbox
  // (paths, quota, where files live) is Rust's (bonsai_engine::api::fs),
  // reached as `FileSystemManager.<method>`; binary data crosses as base64.
  // Async methods do their work at once and call back in a later task, as
  // WeChat's do; `…Sync` ones return a value or throw `<name>Sync:fail …`.
  const fileCall = (method, args) => {
    let encoded;
    try { encoded = JSON.stringify(args); } catch (e) { throw new Error(`parameter error: ${e.message}`); }
    const answer = JSON.parse(native.api(`FileSystemManager.${method}`, encoded));
    if ('fail' in answer) throw new Error(answer.fail);
    return answer.ok;
  };
  const typeName = (v) => {
    if (v === null) return 'Null';
    if (Array.isArray(v)) return 'Array';
    return typeof v === 'object' ? 'Object' : `${(typeof v)[0].toUpperCase()}${(typeof v).slice(1)}`;
  };
  const filePayload = (data, encoding) => {
    if (typeof data === 'string') return { data, encoding: encoding === undefined || encoding === null ? 'utf8' : String(encoding) };
    if (data instanceof ArrayBuffer) return { base64: bytesToBase64(new Uint8Array(data)) };
    if (ArrayBuffer.isView(data)) return { base64: bytesToBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
    throw new Error(`parameter error: parameter.data should be String/ArrayBuffer instead of ${typeName(data)};`);
  };
  class Stats {
    constructor(fields) { Object.assign(this, fields); }
    isDirectory() { return (this.mode & 0o170000) === 0o040000; }
    isFile() { return (this.mode & 0o170000) === 0o100000; }
  }
  const statsOf = (stats) => (Array.isArray(stats) ? stats.map((e) => ({ path: e.path, stats: new Stats(e.stats) })) : new Stats(stats));
  // Each method: what it sends, its `…Sync` form's positional arguments
  // ('object': one object, as truncateSync takes; none: no sync form), and
  // the result field that form returns.
  const fileMethods = {
    access: { sync: ['path'], run: (o) => fileCall('access', { path: o.path }) },
    appendFile: { sync: ['filePath', 'data', 'encoding'], run: (o) => fileCall('appendFile', Object.assign({ filePath: o.filePath }, filePayload(o.data, o.encoding))) },
    copyFile: { sync: ['srcPath', 'destPath'], run: (o) => fileCall('copyFile', { srcPath: o.srcPath, destPath: o.destPath }) },
    getFileInfo: { run: (o) => fileCall('getFileInfo', { filePath: o.filePath, digestAlgorithm: o.digestAlgorithm }) },
    getSavedFileList: { run: () => fileCall('getSavedFileList', {}) },
    mkdir: { sync: ['dirPath', 'recursive'], run: (o) => fileCall('mkdir', { dirPath: o.dirPath, recursive: Boolean(o.recursive) }) },
    readdir: { sync: ['dirPath'], value: 'files', run: (o) => fileCall('readdir', { dirPath: o.dirPath }) },
    readFile: {
      sync: ['filePath', 'encoding', 'position', 'length'],
      value: 'data',
      run: (o) => {
        const read = fileCall('readFile', { filePath: o.filePath, encoding: o.encoding, position: o.position, length: o.length });
        return { data: read.base64 !== undefined ? base64ToBuffer(read.base64) : read.data };
      },
    },
    removeSavedFile: { run: (o) => fileCall('removeSavedFile', { filePath: o.filePath }) },
    rename: { sync: ['oldPath', 'newPath'], run: (o) => fileCall('rename', { oldPath: o.oldPath, newPath: o.newPath }) },
    rmdir: { sync: ['dirPath', 'recursive'], run: (o) => fileCall('rmdir', { dirPath: o.dirPath, recursive: Boolean(o.recursive) }) },
    saveFile: { sync: ['tempFilePath', 'filePath'], value: 'savedFilePath', run: (o) => fileCall('saveFile', { tempFilePath: o.tempFilePath, filePath: o.filePath }) },
    stat: { sync: ['path', 'recursive'], value: 'stats', run: (o) => ({ stats: statsOf(fileCall('stat', { path: o.path, recursive: Boolean(o.recursive) }).stats) }) },
    truncate: { sync: 'object', run: (o) => fileCall('truncate', { filePath: o.filePath, length: o.length }) },
    unlink: { sync: ['filePath'], run: (o) => fileCall('unlink', { filePath: o.filePath }) },
    writeFile: { sync: ['filePath', 'data', 'encoding'], run: (o) => fileCall('writeFile', Object.assign({ filePath: o.filePath }, filePayload(o.data, o.encoding))) },
  };
  const runFileMethod = (run, options) => {
    try {
      return [true, run(options) || {}];
    } catch (err) {
      return [false, err instanceof Error ? err.message : String(err)];
    }
  };
  // Calls back in a later task; with `promise`, also settles a Promise.
  const fileResultLater = (name, options, ok, result, promise) => {
    const res = ok ? Object.assign({ errMsg: `${name}:ok` }, result) : { errMsg: `${name}:fail ${result}` };
    const deliver = () => {
      const callback = ok ? options.success : options.fail;
      if (typeof callback === 'function') guarded(`${name} callback`, callback, undefined, [res]);
      if (typeof options.complete === 'function') guarded(`${name} complete`, options.complete, undefined, [res]);
    };
    if (!promise) {
      setTimeout(deliver, 0);
      return undefined;
    }
    return new Promise((resolve, reject) => setTimeout(() => {
      deliver();
      if (ok) resolve(res); else reject(res);
    }, 0));
  };
  const fileSystemManager = {};
  for (const [method, spec] of Object.entries(fileMethods)) {
    fileSystemManager[method] = (options) => {
      const o = options && typeof options === 'object' ? options : {};
      const [ok, result] = runFileMethod(spec.run, o);
      fileResultLater(method, o, ok, result, false);
    };
    if (!spec.sync) continue;
    fileSystemManager[`${method}Sync`] = (...args) => {
      const o = spec.sync === 'object'
        ? (args[0] && typeof args[0] === 'object' ? args[0] : {})
        : Object.fromEntries(spec.sync.map((key, i) => [key, args[i]]));
      const [ok, result] = runFileMethod(spec.run, o);
      if (!ok) throw new Error(`${method}Sync:fail ${result}`);
      return spec.value ? result[spec.value] : undefined;
    };
  }
  define('getFileSystemManager', () => fileSystemManager);
  // The older saved-file functions, which also answer as Promises.
  const savedFileApis = {
    saveFile: (o) => fileCall('saveFile', { tempFilePath: o.tempFilePath }),
    getSavedFileList: () => fileCall('getSavedFileList', {}),
    getSavedFileInfo: (o) => fileCall('getSavedFileInfo', { filePath: o.filePath }),
    removeSavedFile: (o) => fileCall('removeSavedFile', { filePath: o.filePath }),
    getFileInfo: (o) => fileCall('getFileInfo', { filePath: o.filePath, digestAlgorithm: o.digestAlgorithm }),
  };
  for (const [name, run] of Object.entries(savedFileApis)) {
    define(name, (options) => {
      const o = options && typeof options === 'object' ? options : {};
      const [ok, result] = runFileMethod(run, o);
      const hasCallback = ['success', 'fail', 'complete'].some((k) => typeof o[k] === 'function');
      return fileResultLater(name, o, ok, result, !hasCallback);
    });
  }
  // Everything else implemented lives in Rust (bonsai_engine::api), behind one call.
  // The stored JSON of keys read or written through the sync hot path,
  // mirroring Rust's storage (the only writer is this app's own code): a
  // repeated getStorageSync skips the crossing. Any other storage call
  // (setStorage, clearStorage…) forgets it all.
  const storageMirror = new Map();
  const callRust = (name, args) => {
    if (name.includes('Storage')) storageMirror.clear();
    let encoded;
    try { encoded = JSON.stringify(args === undefined ? null : args); } catch (e) { encoded = 'null'; }
    const answer = JSON.parse(native.api(name, encoded));
    if ('fail' in answer) {
      const err = new Error(`${name}:fail ${answer.fail}`);
      if (answer.errCode !== undefined) err.errCode = answer.errCode;
      throw err;
    }
    return answer.ok;
  };
  // Tab bar APIs work only while a tab page is shown.
  const TAB_BAR_APIS = new Set([
    'setTabBarStyle', 'setTabBarItem', 'setTabBarBadge', 'removeTabBarBadge',
    'showTabBarRedDot', 'hideTabBarRedDot', 'showTabBar', 'hideTabBar',
  ]);
  const requireTabPage = (name) => {
    const page = top();
    if (!page || !tabBarList.includes(page.path)) throw new Error(`${name}:fail not TabBar page`);
  };
  for (const { name, kind } of manifest.apis) {
    if (kind === 'sync') {
      define(name, (...args) => {
        const result = callRust(name, args.length > 1 || typeof args[0] !== 'object' ? args : args[0]);
        // Rust's null is an API that returns nothing (reportEvent).
        return result === null ? undefined : result;
      });
    } else {
      if (name === 'connectSocket') continue;
      const run = TAB_BAR_APIS.has(name)
        ? (options) => { requireTabPage(name); return callRust(name, plainArgs(options)); }
        : (options) => callRust(name, plainArgs(options));
      asyncApi(name, run, TASK_APIS.has(name) ? transferTask(name) : undefined);
    }
  }
  // The storage hot path: dedicated natives, no JSON envelope.
  const storageKey = (name, key) => {
    if (typeof key !== 'string') {
      throw new Error(`${name}:fail parameter error: parameter.key should be String instead of ${key === undefined ? 'Undefined' : typeName(key)};`);
    }
    return key;
  };
  define('getStorageSync', (key) => {
    let json = storageMirror.get(storageKey('getStorageSync', key));
    if (json === undefined) {
      json = native.storageGet(key);
      if (json === undefined) return '';
      storageMirror.set(key, json);
    }
    // A fresh copy each call: changing it must not change what is stored.
    return JSON.parse(json);
  });
  define('setStorageSync', (key, data) => {
    const stringified = JSON.stringify(data);
    const encoded = stringified === undefined ? 'null' : stringified;
    const failure = native.storageSet(storageKey('setStorageSync', key), encoded);
    if (failure !== undefined) throw new Error(`setStorageSync:fail ${failure}`);
    storageMirror.set(key, encoded);
  });
  define('removeStorageSync', (key) => {
    storageMirror.delete(storageKey('removeStorageSync', key));
    const failure = native.storageRemove(key);
    if (failure !== undefined) throw new Error(`removeStorageSync:fail ${failure}`);
  });
  // APIs that return an object (a manager, a context, a task) are
  // synchronous in WeChat, so they fail by throwing, like `…Sync` ones.
  // Global event subscriptions. Registering always works; a listener runs
  // when its event happens (the host emits them: theme, network, resize…).
  const appEventListeners = new Map();
  for (const name of manifest.appEvents) {
    appEventListeners.set(name, []);
    define(`on${name}`, (fn) => { if (typeof fn === 'function') appEventListeners.get(name).push(fn); });
    define(`off${name}`, (fn) => {
      const list = appEventListeners.get(name);
      appEventListeners.set(name, fn ? list.filter((f) => f !== fn) : []);
    });
  }
  const emitAppEvent = (name, payload) => {
    for (const fn of appEventListeners.get(name) || []) guarded(`wx.on${name}`, fn, undefined, [payload]);
  };
  // Starting a refresh from code runs the page's handler, as a pull does.
  asyncApi('startPullDownRefresh', () => {
    callRust('startPullDownRefresh', null);
    setTimeout(() => { if (top()) callPage(top(), 'onPullDownRefresh'); }, 0);
  });
  const returnsObject = (name) => /Sync$/.test(name) || /^(create|get)\w*(Manager|Context|Task|Observer|Recorder|Player)$/.test(name);
  const unsupported = (name) => (options) => {
    const errMsg = `${name}:fail not supported`;
    if (returnsObject(name)) throw new Error(errMsg);
    const res = { errMsg };
    const hasCallback = options && ['fail', 'complete'].some((k) => typeof options[k] === 'function');
    if (options && typeof options.fail === 'function') guarded(`${name} fail`, options.fail, undefined, [res]);
    if (options && typeof options.complete === 'function') guarded(`${name} complete`, options.complete, undefined, [res]);
    native.log('warn', `wx.${name} is not supported by Bonsai yet`);
    return hasCallback ? undefined : Promise.reject(res);
  };
  global.wx = wx;
  global.__wxConfig = { envVersion: 'develop', platform: 'devtools', pages: manifest.pages };

  // ---- entry points for Rust ----------------------------------------------------------

  // LaunchOptionsApp: forwardMaterials, chatType and shareTicket come only
  // from the scenes that carry them (chat files, group chats, shares).
  let launchOptions = { path: '', query: {}, scene: 1001, referrerInfo: {}, apiCategory: 'default' };
  return {
    launch(options, url) {
      const target = parseUrl(url || manifest.entryPage);
      launchOptions = { path: target.path, query: target.query, scene: options.scene || 1001, referrerInfo: {}, apiCategory: 'default' };
      if (native.hasScript('app.js')) {
        try { loadModule('app.js'); } catch (err) { reportError(err, 'app.js'); }
      }
      if (appInstance) {
        if (typeof appInstance.onLaunch === 'function') guarded('App onLaunch', appInstance.onLaunch, appInstance, [Object.assign({}, launchOptions)]);
        if (typeof appInstance.onShow === 'function') guarded('App onShow', appInstance.onShow, appInstance, [Object.assign({}, launchOptions)]);
      }
      navigate(tabBarList.includes(target.path) ? 'switchTab' : 'reLaunch', url || manifest.entryPage);
    },
    navigate(kind, url, delta) { navigate(kind, url, delta); },
    dispatch(nodeId, type, detail) {
      const element = elements.get(nodeId);
      if (!element || !element.__wxElement) return false;
      // As a view would report a user's touch: bubbling and composed, from the target.
      glassEasel.triggerEvent(element.__wxElement, type, detail, { originalEvent: undefined, bubbles: true, composed: true, capturePhase: true });
      return true;
    },
    fireTimer,
    takeOps() {
      if (ops.length === 0) return '';
      layoutChanged();
      const batch = JSON.stringify(ops);
      ops.length = 0;
      return batch;
    },
    currentPage() {
      const page = top();
      if (!page) return null;
      const element = page.component.getBackendElement();
      return element ? element.id : null;
    },
    pagePaths: () => stack.map((p) => p.path),
    activity: () => activity,
    currentPageReady: () => Boolean(top() && top().ready),
    wxNames: () => [...implemented].sort(),
    emitAppEvent,
    socketEvent,
    answer(id, ok, result) {
      const complete = waiting.get(id);
      if (!complete) return false;
      waiting.delete(id);
      // A call resumed after a consent prompt may wait again, on a new id.
      if (ok && result && result.waitingFor !== undefined) waiting.set(result.waitingFor, complete);
      // A failure is its reason, or `{reason, errCode}` when WeChat numbers it.
      else if (!ok && result && typeof result === 'object') complete(false, String(result.reason), result.errCode);
      else complete(ok, ok ? result : String(result));
      return true;
    },
    callPageMethod(name, args) {
      const page = top();
      if (page) callPage(page, name, args);
    },
  };
}
