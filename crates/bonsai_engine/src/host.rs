//! The QuickJS side of an instance: the runtime with its limits, the
//! precompiled framework bytecode, the native functions JS calls, and the
//! calls Rust makes into the JS host (`js/host.js`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::function::Func;
use rquickjs::{Context, Ctx, Function, Module, Object, Persistent, Runtime, Value};
use serde_json::json;

use crate::{ConsoleLevel, ConsoleMessage, EngineError, EngineOptions, HostState, JsError};

static GLASS_EASEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/glass_easel.qbc"));
static ADAPTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/adapter.qbc"));
static HOST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/host.qbc"));

/// Names a module sees as `undefined`, as in WeChat, so code written for
/// both the web and mini programs takes its mini-program branch.
const MODULE_PARAMETERS: &str = "require,module,exports,__filename,__dirname,window,document,self,navigator,location,localStorage,XMLHttpRequest";

/// How many columns the module wrapper `(function(…){` adds to a script's first line.
pub(crate) const WRAPPER_PREFIX_LEN: u32 =
    MODULE_PARAMETERS.len() as u32 + "(function(){".len() as u32;

// Field order is drop order: the persistent handle must go before the
// context, and the context before the runtime.
pub(crate) struct JsHost {
    rejections: Rc<RefCell<Vec<PendingRejection>>>,
    host: Persistent<Object<'static>>,
    context: Context,
    runtime: Runtime,
    deadline: Rc<Cell<Option<Instant>>>,
    task_time_limit: Duration,
    state: Rc<RefCell<HostState>>,
    ops: Vec<String>,
}

struct PendingRejection {
    promise: Persistent<Value<'static>>,
    error: JsError,
}

/// Rust's view of the JS host object during one task.
pub(crate) struct HostCall<'a, 'js> {
    ctx: &'a Ctx<'js>,
    host: Object<'js>,
}

impl<'js> HostCall<'_, 'js> {
    fn call<A: rquickjs::function::IntoArgs<'js>, R: rquickjs::FromJs<'js>>(
        &self,
        name: &str,
        args: A,
    ) -> rquickjs::Result<R> {
        let function: Function<'js> = self.host.get(name)?;
        function.call(args)
    }

    fn json(&self, value: &serde_json::Value) -> rquickjs::Result<Value<'js>> {
        self.ctx.json_parse(value.to_string())
    }

    pub(crate) fn launch(&mut self, scene: u32, url: &str) -> rquickjs::Result<()> {
        let options = self.json(&json!({ "scene": scene }))?;
        let url = if url.is_empty() {
            None
        } else {
            Some(url.to_owned())
        };
        self.call("launch", (options, url))
    }

    pub(crate) fn navigate(&mut self, kind: &str, url: &str, delta: u32) -> rquickjs::Result<()> {
        self.call("navigate", (kind.to_owned(), url.to_owned(), delta))
    }

    pub(crate) fn dispatch(
        &mut self,
        node: u32,
        event: &str,
        detail: &serde_json::Value,
    ) -> rquickjs::Result<bool> {
        let detail = self.json(detail)?;
        self.call("dispatch", (node, event.to_owned(), detail))
    }

    pub(crate) fn fire_timer(&mut self, id: u32) -> rquickjs::Result<()> {
        self.call("fireTimer", (id,))
    }

    pub(crate) fn answer(
        &mut self,
        id: u32,
        ok: bool,
        result: &serde_json::Value,
    ) -> rquickjs::Result<()> {
        let result = self.json(result)?;
        self.call::<_, bool>("answer", (id, ok, result)).map(drop)
    }

    pub(crate) fn socket_event(
        &mut self,
        id: u32,
        event: &serde_json::Value,
    ) -> rquickjs::Result<()> {
        let event = self.json(event)?;
        self.call("socketEvent", (id, event))
    }

    pub(crate) fn call_page_method(
        &mut self,
        name: &str,
        arg: &serde_json::Value,
    ) -> rquickjs::Result<()> {
        let args = self.json(&json!([arg]))?;
        self.call("callPageMethod", (name.to_owned(), args))
    }
}

/// Loads a precompiled module and returns its default export.
#[allow(unsafe_code)]
fn load_bytecode<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> rquickjs::Result<Function<'js>> {
    // SAFETY: the bytes were written by `Module::write` in build.rs, with the
    // same rquickjs (and so the same QuickJS) this binary links.
    let module = unsafe { Module::load(ctx.clone(), bytes)? };
    let (module, _) = module.eval()?;
    module.get("default")
}

/// Evaluates a CommonJS bundle's factory and returns its `module.exports`.
fn instantiate_commonjs<'js>(
    ctx: &Ctx<'js>,
    factory: Function<'js>,
    require: Function<'js>,
) -> rquickjs::Result<Value<'js>> {
    let exports = Object::new(ctx.clone())?;
    let module = Object::new(ctx.clone())?;
    module.set("exports", exports.clone())?;
    factory.call::<_, ()>((exports, module.clone(), require))?;
    module.get("exports")
}

/// The error a failed JS call left behind, as a [`JsError`].
fn take_exception(ctx: &Ctx<'_>, context: &str, error: &rquickjs::Error) -> JsError {
    if !error.is_exception() {
        return JsError {
            context: context.to_owned(),
            message: error.to_string(),
            stack: String::new(),
        };
    }
    let value = ctx.catch();
    describe_exception(context, &value)
}

fn describe_exception(context: &str, value: &Value<'_>) -> JsError {
    let (message, stack) = match value.as_object() {
        Some(object) => {
            let name: Option<String> = object.get("name").ok();
            let message: Option<String> = object.get("message").ok();
            let stack: Option<String> = object.get("stack").ok();
            let err_msg: Option<String> = object.get("errMsg").ok();
            let message = match (name, message, err_msg) {
                (Some(name), Some(message), _) => format!("{name}: {message}"),
                (None, Some(message), _) | (None, None, Some(message)) => message,
                _ => value
                    .ctx()
                    .json_stringify(value.clone())
                    .ok()
                    .flatten()
                    .and_then(|s| s.to_string().ok())
                    .unwrap_or_else(|| "a non-Error object was thrown".to_owned()),
            };
            (message, stack.unwrap_or_default())
        }
        None => (
            value
                .as_string()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_else(|| format!("{value:?}")),
            String::new(),
        ),
    };
    let message = if message.contains("interrupted") {
        format!("script ran longer than the task time limit and was interrupted ({message})")
    } else {
        message
    };
    JsError {
        context: context.to_owned(),
        message,
        stack,
    }
}

impl JsHost {
    pub(crate) fn new(
        state: Rc<RefCell<HostState>>,
        options: &EngineOptions,
    ) -> Result<JsHost, EngineError> {
        let startup = |e: rquickjs::Error| EngineError::Startup(e.to_string());
        let runtime = Runtime::new().map_err(startup)?;
        runtime.set_memory_limit(options.memory_limit);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let handler_deadline = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || {
            handler_deadline.get().is_some_and(|d| Instant::now() > d)
        })));
        // A rejection is only unhandled if no handler is attached by the end
        // of the task, so candidates wait in `rejections` until then.
        let rejections: Rc<RefCell<Vec<PendingRejection>>> = Rc::default();
        let tracked = rejections.clone();
        runtime.set_host_promise_rejection_tracker(Some(Box::new(
            move |ctx, promise, reason, handled| {
                let mut pending = tracked.borrow_mut();
                if handled {
                    pending.retain(|p| {
                        p.promise
                            .clone()
                            .restore(&ctx)
                            .map_or(true, |v| v != promise)
                    });
                } else {
                    let mut error = describe_exception("unhandled promise rejection", &reason);
                    error.message = format!("Uncaught (in promise) {}", error.message);
                    pending.push(PendingRejection {
                        promise: Persistent::save(&ctx, promise),
                        error,
                    });
                }
            },
        )));
        let context = Context::full(&runtime).map_err(startup)?;
        let manifest = host_manifest(&state.borrow().app, &options.device);
        // The shared template runtime (helpers and WXS files) runs once;
        // each template's own code is evaluated when a page first needs it.
        let templates = format!(
            "globalThis.__bonsaiTemplateRuntime=(function(){{{}\nreturn {{R:R,D:typeof D==='undefined'?undefined:D,X:X,Y:Y,Z:Z,P:P,Q:Q}};}})();",
            state.borrow().app.templates.runtime
        );
        let host = context.with(|ctx| -> Result<Persistent<Object<'static>>, EngineError> {
            let fail = |e: rquickjs::Error| {
                EngineError::Startup(take_exception(&ctx, "startup", &e).to_string())
            };
            let glass_easel_factory = load_bytecode(&ctx, GLASS_EASEL).map_err(fail)?;
            let no_require = Function::new(ctx.clone(), || ()).map_err(fail)?;
            let glass_easel =
                instantiate_commonjs(&ctx, glass_easel_factory, no_require).map_err(fail)?;
            let adapter_factory = load_bytecode(&ctx, ADAPTER).map_err(fail)?;
            let ge = glass_easel.clone();
            let require_glass_easel =
                Function::new(ctx.clone(), move || ge.clone()).map_err(fail)?;
            let adapter =
                instantiate_commonjs(&ctx, adapter_factory, require_glass_easel).map_err(fail)?;
            let native = native_functions(&ctx, &state).map_err(fail)?;
            let create_host = load_bytecode(&ctx, HOST).map_err(fail)?;
            let manifest = ctx.json_parse(manifest.to_string()).map_err(fail)?;
            let host: Object = create_host
                .call((native, glass_easel, adapter, manifest))
                .map_err(fail)?;
            let mut options = rquickjs::context::EvalOptions::default();
            options.global = true;
            options.strict = false;
            options.filename = Some("<templates>".to_owned());
            ctx.eval_with_options::<(), _>(templates, options)
                .map_err(fail)?;
            Ok(Persistent::save(&ctx, host))
        })?;
        Ok(JsHost {
            rejections,
            runtime,
            context,
            host,
            deadline,
            task_time_limit: options.task_time_limit,
            state,
            ops: Vec::new(),
        })
    }

    /// Runs `run` as one task under the time budget, drains microtasks, and
    /// collects the tree operations it produced.
    pub(crate) fn run_task(
        &mut self,
        context: &str,
        run: impl FnOnce(&mut HostCall<'_, '_>) -> rquickjs::Result<()>,
    ) {
        let limit = self.task_time_limit;
        self.deadline.set(Some(Instant::now() + limit));
        let host = self.host.clone();
        let state = self.state.clone();
        let deadline = self.deadline.clone();
        self.context.with(|ctx| {
            let host = match host.restore(&ctx) {
                Ok(host) => host,
                Err(e) => {
                    state
                        .borrow_mut()
                        .errors
                        .push(take_exception(&ctx, context, &e));
                    return;
                }
            };
            let mut call = HostCall {
                ctx: &ctx,
                host: host.clone(),
            };
            if let Err(e) = run(&mut call) {
                let mut error = take_exception(&ctx, context, &e);
                // Bookkeeping after the app's code must not be interrupted itself.
                deadline.set(None);
                if error.message.contains("interrupted") {
                    // An interrupt skips the host's own bookkeeping, which
                    // still names the app code that was running.
                    let activity = host
                        .get::<_, Function>("activity")
                        .and_then(|f| f.call::<_, String>(()))
                        .unwrap_or_default();
                    if !activity.is_empty() {
                        error.context = activity;
                    }
                }
                state.borrow_mut().errors.push(error);
            }
        });
        // Microtasks are app code too, with a budget of their own.
        self.deadline.set(Some(Instant::now() + limit));
        loop {
            match self.runtime.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => break,
                Err(job) => {
                    let error = job.0.with(|ctx| {
                        let value = ctx.catch();
                        describe_exception("microtask", &value)
                    });
                    self.state.borrow_mut().errors.push(error);
                }
            }
        }
        let unhandled: Vec<JsError> = self
            .rejections
            .borrow_mut()
            .drain(..)
            .map(|p| p.error)
            .collect();
        self.state.borrow_mut().errors.extend(unhandled);
        self.deadline.set(None);
        self.collect_ops();
    }

    fn collect_ops(&mut self) {
        let host = self.host.clone();
        let batch = self.context.with(|ctx| -> rquickjs::Result<String> {
            let host = host.restore(&ctx)?;
            let take: Function = host.get("takeOps")?;
            take.call(())
        });
        match batch {
            Ok(batch) if !batch.is_empty() => self.ops.push(batch),
            Ok(_) => {}
            Err(e) => tracing::warn!("taking tree ops failed: {e}"),
        }
    }

    pub(crate) fn take_ops(&mut self) -> Vec<String> {
        if self.ops.is_empty() {
            self.collect_ops();
        }
        std::mem::take(&mut self.ops)
    }

    fn query<T: for<'js> rquickjs::FromJs<'js>>(&self, name: &str) -> Option<T> {
        let host = self.host.clone();
        self.context.with(|ctx| {
            let host = host.restore(&ctx).ok()?;
            let function: Function = host.get(name).ok()?;
            function.call(()).ok()
        })
    }

    pub(crate) fn current_page(&self) -> Option<u32> {
        self.query::<Option<u32>>("currentPage").flatten()
    }

    pub(crate) fn current_page_ready(&self) -> bool {
        self.query("currentPageReady").unwrap_or(false)
    }

    pub(crate) fn wx_names(&self) -> Vec<String> {
        self.query("wxNames").unwrap_or_default()
    }

    pub(crate) fn page_paths(&self) -> Vec<String> {
        self.query("pagePaths").unwrap_or_default()
    }

    pub(crate) fn memory_used(&self) -> usize {
        usize::try_from(self.runtime.memory_usage().memory_used_size).unwrap_or(0)
    }
}

/// What the JS host (js/host.js `createHost`) is given about the app: its
/// components, config, pages, the device, and the API tables. Public so a
/// baseline running the same host elsewhere gets exactly the same input.
pub fn host_manifest(
    app: &bonsai_compiler::CompiledApp,
    device: &crate::DeviceProfile,
) -> serde_json::Value {
    let components: serde_json::Map<String, serde_json::Value> = app
        .components
        .iter()
        .map(|(path, c)| {
            (
                path.clone(),
                json!({ "kind": c.kind, "config": c.config, "using": c.using, "genericDefaults": c.generic_defaults, "script": c.script, "template": c.template, "style": c.style }),
            )
        })
        .collect();
    let pages: Vec<&String> = app.packages.iter().flat_map(|p| &p.pages).collect();
    let entry = app
        .app_config
        .as_ref()
        .and_then(|a| a.get("entryPagePath"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .or_else(|| pages.first().map(|p| (*p).clone()))
        .unwrap_or_default();
    json!({
        "components": components,
        "app": app.app_config,
        "pages": pages,
        "entryPage": entry,
        "device": device,
        "apis": crate::api::js_table(),
        "appEvents": crate::api::coverage::APP_EVENTS,
        "appStyle": app.styles.contains_key("app.wxss").then_some("app.wxss"),
    })
}

/// The functions JS calls into Rust.
fn native_functions<'js>(
    ctx: &Ctx<'js>,
    state: &Rc<RefCell<HostState>>,
) -> rquickjs::Result<Object<'js>> {
    let native = Object::new(ctx.clone())?;
    let s = state.clone();
    native.set(
        "log",
        Func::from(move |level: String, text: String| {
            let level = match level.as_str() {
                "warn" => ConsoleLevel::Warn,
                "error" => ConsoleLevel::Error,
                "info" => ConsoleLevel::Info,
                "debug" => ConsoleLevel::Debug,
                _ => ConsoleLevel::Log,
            };
            s.borrow_mut().console.push(ConsoleMessage { level, text });
        }),
    )?;
    let s = state.clone();
    native.set(
        "error",
        Func::from(move |context: String, message: String, stack: String| {
            s.borrow_mut().errors.push(JsError {
                context,
                message,
                stack,
            });
        }),
    )?;
    let s = state.clone();
    native.set(
        "timer",
        Func::from(move |id: u32, delay: f64| {
            let delay = if delay.is_finite() && delay > 0.0 {
                delay as u64
            } else {
                0
            };
            s.borrow_mut().timers.schedule(id, delay);
        }),
    )?;
    let s = state.clone();
    native.set(
        "clearTimer",
        Func::from(move |id: u32| s.borrow_mut().timers.cancel(id)),
    )?;
    let s = state.clone();
    native.set("now", Func::from(move || s.borrow().timers.now() as f64))?;
    let s = state.clone();
    native.set(
        "api",
        Func::from(move |name: String, args: String| {
            crate::api::call(&mut s.borrow_mut(), &name, &args)
        }),
    )?;
    // The storage hot path (`getStorageSync`, `setStorageSync`,
    // `removeStorageSync`): plain strings both ways, no JSON envelope, the
    // grant checked as for every API. `storageGet` answers the stored JSON
    // or `undefined`, and throws WeChat's fail error when storage is denied;
    // the others answer a fail reason or nothing.
    let s = state.clone();
    native.set(
        "storageGet",
        Func::from(
            move |ctx: Ctx<'js>, key: String| -> rquickjs::Result<Option<String>> {
                let state = s.borrow();
                if let Err(reason) =
                    crate::api::check_capability(&state, crate::api::Capability::Storage)
                {
                    return Err(rquickjs::Exception::throw_message(
                        &ctx,
                        &format!("getStorageSync:fail {reason}"),
                    ));
                }
                Ok(state.storage.get(&key).map(str::to_owned))
            },
        ),
    )?;
    let s = state.clone();
    native.set(
        "storageSet",
        Func::from(move |key: String, encoded: String| -> Option<String> {
            let mut state = s.borrow_mut();
            crate::api::check_capability(&state, crate::api::Capability::Storage)
                .and_then(|()| state.storage.set(&key, encoded))
                .err()
        }),
    )?;
    let s = state.clone();
    native.set(
        "storageRemove",
        Func::from(move |key: String| -> Option<String> {
            let mut state = s.borrow_mut();
            crate::api::check_capability(&state, crate::api::Capability::Storage)
                .map(|()| state.storage.remove(&key))
                .err()
        }),
    )?;
    let s = state.clone();
    native.set(
        "cancel",
        Func::from(move |id: u32| crate::api::cancel(&mut s.borrow_mut(), id)),
    )?;
    let s = state.clone();
    native.set(
        "template",
        Func::from(move |key: String| s.borrow().app.templates.templates.get(&key).cloned()),
    )?;
    let s = state.clone();
    native.set(
        "hasScript",
        Func::from(move |key: String| s.borrow().app.scripts.contains_key(&key)),
    )?;
    let s = state.clone();
    native.set(
        "script",
        Func::from(
            move |ctx: Ctx<'js>, key: String| -> rquickjs::Result<Function<'js>> {
                let code = s
                    .borrow()
                    .app
                    .scripts
                    .get(&key)
                    .map(|script| script.code.clone());
                let Some(code) = code else {
                    return Err(rquickjs::Exception::throw_reference(
                        &ctx,
                        &format!("module \"{key}\" is not defined"),
                    ));
                };
                let mut options = rquickjs::context::EvalOptions::default();
                options.global = true;
                options.strict = false;
                options.filename = Some(key.clone());
                // Same first line as the source, so line numbers stay true.
                ctx.eval_with_options(
                    format!("(function({MODULE_PARAMETERS}){{{code}\n}})"),
                    options,
                )
            },
        ),
    )?;
    // Files host.js makes itself (canvas exports, snapshots): base64 bytes
    // in, a `wxfile://tmp_…` path out; `null` when the base64 is bad.
    let s = state.clone();
    native.set(
        "tempFile",
        Func::from(move |base64: String, extension: String| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(base64)
                .ok()?;
            Some(s.borrow_mut().create_temp_file(bytes, &extension))
        }),
    )?;
    crate::layout::install(&native, state)?;
    Ok(native)
}
