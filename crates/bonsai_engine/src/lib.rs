//! The engine: runs a compiled mini program in its own QuickJS runtime with
//! glass-easel and the mini-program adapter, and keeps the rendered composed
//! tree in a Rust [`NodeTree`].
//!
//! One [`AppInstance`] is one app run: one QuickJS runtime (memory-limited,
//! interruptible), one glass-easel environment, one page stack. JS runs in
//! tasks (a launch, a navigation, an event, a timer); after each task the
//! microtask queue is drained and the task's batched tree operations cross
//! into Rust once.
//!
//! **Architecture invariants:** no I/O (the compiled app comes in as data);
//! nothing the app's JS does can panic the host or run unbounded: every task
//! has a time budget and the runtime a memory limit.

pub mod api;
mod clock;
mod device;
mod host;
mod source_map;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bonsai_compiler::CompiledApp;
use bonsai_tree::{NodeId, NodeTree, PrintOptions, Selector, SelectorError};
pub use clock::ClockMode;
pub use device::DeviceProfile;
pub use host::host_manifest;
use serde::Serialize;

/// How an instance is run.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// QuickJS heap limit; an allocation past it throws in JS.
    pub memory_limit: usize,
    /// How long one task (a lifecycle call, an event, a timer) may run before
    /// it is interrupted.
    pub task_time_limit: Duration,
    pub clock: ClockMode,
    pub device: DeviceProfile,
    /// The capabilities this app may use.
    pub grant: api::Grant,
    /// Where `wx.setStorage` data lives between runs; in memory when `None`.
    pub storage: Option<Arc<dyn StorageBackend>>,
    /// Who answers `wx.authorize` prompts; headless hosts deny.
    pub prompt_policy: api::scope::PromptPolicy,
    /// Performs `wx.request`; without one requests fail.
    pub network: Option<Arc<dyn api::network::NetworkProvider>>,
    /// The app's request domains (WeChat's admin-console allow-list).
    pub request_domains: Vec<String>,
}

/// Keeps an app's storage between runs. The engine does no I/O: a host
/// implements this (the CLI with files under the user's data directory).
pub trait StorageBackend: std::fmt::Debug {
    /// The stored entries of `app_id` (key → JSON-encoded value).
    fn load(&self, app_id: &str) -> std::collections::BTreeMap<String, String>;
    /// Replaces the stored entries of `app_id`. It must be atomic: a crash
    /// leaves the old or the new entries, never a mix.
    fn save(
        &self,
        app_id: &str,
        entries: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), String>;
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            memory_limit: 256 * 1024 * 1024,
            task_time_limit: Duration::from_secs(1),
            clock: ClockMode::Virtual,
            device: DeviceProfile::default(),
            grant: api::Grant::default(),
            storage: None,
            prompt_policy: api::scope::PromptPolicy::default(),
            network: None,
            request_domains: Vec::new(),
        }
    }
}

/// The launch options an app sees in `onLaunch` and `getLaunchOptionsSync`.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchOptions {
    /// `pages/x/y?a=1`; the entry page when `None`.
    pub url: Option<String>,
    pub scene: u32,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            url: None,
            scene: 1001,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleLevel {
    Log,
    Info,
    Warn,
    Error,
    Debug,
}

/// One line the app printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsoleMessage {
    pub level: ConsoleLevel,
    pub text: String,
}

/// An uncaught error in the app's JS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsError {
    /// What was running: `pages/index/index onLoad`, `timer`, `app.js`…
    pub context: String,
    pub message: String,
    /// The JS stack, with positions mapped back to the app's sources.
    pub stack: String,
}

impl std::fmt::Display for JsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.context.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(f, "{} (in {})", self.message, self.context)?;
        }
        if !self.stack.is_empty() {
            write!(f, "\n{}", self.stack.trim_end())?;
        }
        Ok(())
    }
}

/// Why an instance could not be created or driven at all.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the JS engine failed to start: {0}")]
    Startup(String),
    #[error("the compiled app is a component library, not an app")]
    NotAnApp,
    #[error(transparent)]
    Selector(#[from] SelectorError),
    #[error("no node matches `{0}` on the current page")]
    NoMatch(String),
    #[error("{0}")]
    Navigation(String),
}

/// Storage is per app id; an app without one is stored as `unnamed`.
pub(crate) fn storage_key(app: &CompiledApp) -> String {
    app.app_id.clone().unwrap_or_else(|| "unnamed".to_owned())
}

impl HostState {
    /// A fresh id for a call whose answer comes later.
    pub(crate) fn next_waiting_id(&mut self) -> u32 {
        self.last_waiting_id += 1;
        self.last_waiting_id
    }

    /// Writes storage through to the host's backend after a change.
    pub(crate) fn persist_storage(&self) -> Result<(), String> {
        match &self.storage_backend {
            Some(backend) => backend.save(&storage_key(&self.app), &self.storage),
            None => Ok(()),
        }
    }
}

/// What the host's native functions share with the instance.
#[derive(Debug)]
pub(crate) struct HostState {
    pub app: Arc<CompiledApp>,
    pub timers: clock::TimerQueue,
    pub console: Vec<ConsoleMessage>,
    pub errors: Vec<JsError>,
    pub device: DeviceProfile,
    pub grant: api::Grant,
    /// Storage values, JSON-encoded, by key.
    pub storage: std::collections::BTreeMap<String, String>,
    pub storage_backend: Option<Arc<dyn StorageBackend>>,
    /// Scope answers so far (`scope.userLocation` → granted).
    pub scopes: std::collections::BTreeMap<String, bool>,
    pub prompt_policy: api::scope::PromptPolicy,
    pub network: Option<Arc<dyn api::network::NetworkProvider>>,
    pub network_policy: api::network::NetworkPolicy,
    /// Network answers waiting for the next task.
    pub inbox: api::network::Inbox,
    pub requests_in_flight: usize,
    /// The last id handed to a call that waits (a dialog, a request).
    pub last_waiting_id: u32,
    pub ui: api::ui::UiState,
}

/// A running app.
pub struct AppInstance {
    /// Decoded source maps by script key, filled as stacks need them.
    source_maps: RefCell<std::collections::HashMap<String, source_map::DecodedMap>>,
    js: host::JsHost,
    state: Rc<RefCell<HostState>>,
    tree: NodeTree,
    tree_errors: usize,
}

impl std::fmt::Debug for AppInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppInstance").finish_non_exhaustive()
    }
}

/// Which navigation a host asks for, with WeChat's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Navigation {
    NavigateTo,
    RedirectTo,
    SwitchTab,
    ReLaunch,
}

impl Navigation {
    fn js_name(self) -> &'static str {
        match self {
            Navigation::NavigateTo => "navigateTo",
            Navigation::RedirectTo => "redirectTo",
            Navigation::SwitchTab => "switchTab",
            Navigation::ReLaunch => "reLaunch",
        }
    }
}

impl AppInstance {
    /// Creates the runtime and loads the framework; no app code runs yet.
    pub fn new(app: Arc<CompiledApp>, options: &EngineOptions) -> Result<AppInstance, EngineError> {
        if app.library {
            return Err(EngineError::NotAnApp);
        }
        let state = Rc::new(RefCell::new(HostState {
            app: app.clone(),
            timers: clock::TimerQueue::new(options.clock),
            console: Vec::new(),
            errors: Vec::new(),
            device: options.device.clone(),
            grant: options.grant.clone(),
            storage: options
                .storage
                .as_ref()
                .map(|backend| backend.load(&storage_key(&app)))
                .unwrap_or_default(),
            storage_backend: options.storage.clone(),
            scopes: std::collections::BTreeMap::new(),
            prompt_policy: options.prompt_policy,
            network: options.network.clone(),
            network_policy: api::network::NetworkPolicy {
                url_check: app.url_check,
                request_domains: options.request_domains.clone(),
            },
            inbox: api::network::Inbox::default(),
            requests_in_flight: 0,
            last_waiting_id: 0,
            ui: api::ui::UiState::default(),
        }));
        let js = host::JsHost::new(state.clone(), options)?;
        let mut instance = AppInstance {
            source_maps: RefCell::default(),
            js,
            state,
            tree: NodeTree::new(),
            tree_errors: 0,
        };
        instance.flush();
        Ok(instance)
    }

    /// Runs app.js (`App()`, `onLaunch`, `onShow`) and opens the entry page
    /// (or `options.url`), then lets zero-delay timers run (`onReady`).
    pub fn launch(&mut self, options: &LaunchOptions) {
        let url = options.url.clone().unwrap_or_default();
        let scene = options.scene;
        self.task("launch", |call| call.launch(scene, &url));
        self.settle();
    }

    /// Navigates as `wx.navigateTo` and friends would, then settles.
    pub fn navigate(&mut self, kind: Navigation, url: &str) {
        let url = url.to_owned();
        self.task(kind.js_name(), |call| {
            call.navigate(kind.js_name(), &url, 0)
        });
        self.settle();
    }

    pub fn navigate_back(&mut self, delta: u32) {
        self.task("navigateBack", |call| {
            call.navigate("navigateBack", "", delta)
        });
        self.settle();
    }

    /// Calls a page event handler on the current page (`onPullDownRefresh`,
    /// `onReachBottom`, `onPageScroll`, `onShareAppMessage`).
    pub fn page_event(&mut self, name: &str, arg: serde_json::Value) {
        let name = name.to_owned();
        self.task(&name.clone(), |call| call.call_page_method(&name, &arg));
        self.settle();
    }

    /// Dispatches an event (e.g. `tap`) at a node, with WeChat's bubbling.
    pub fn dispatch(&mut self, node: NodeId, event: &str, detail: serde_json::Value) -> bool {
        let event = event.to_owned();
        let mut delivered = false;
        self.task(&format!("{event} event"), |call| {
            delivered = call.dispatch(node, &event, &detail)?;
            Ok(())
        });
        self.settle();
        delivered
    }

    /// Taps the first node on the current page matching `selector`.
    pub fn tap(&mut self, selector: &str) -> Result<NodeId, EngineError> {
        let node = self
            .query(selector)?
            .ok_or_else(|| EngineError::NoMatch(selector.to_owned()))?;
        self.dispatch(node, "tap", serde_json::json!({ "x": 0, "y": 0 }));
        Ok(node)
    }

    /// The first node on the current page matching `selector`.
    pub fn query(&self, selector: &str) -> Result<Option<NodeId>, EngineError> {
        let selector = Selector::parse(selector)?;
        Ok(self
            .current_page()
            .and_then(|page| self.tree.select(page, &selector)))
    }

    /// Moves the clock forward by `ms`, running every timer that falls due, in order.
    pub fn advance(&mut self, ms: u64) {
        self.deliver_network();
        let target = self.state.borrow().timers.now().saturating_add(ms);
        loop {
            let next = self.state.borrow_mut().timers.pop_due(target);
            let Some(id) = next else { break };
            self.task("timer", |call| call.fire_timer(id));
        }
        let mut state = self.state.borrow_mut();
        if state.timers.mode() == ClockMode::Real {
            drop(state);
            std::thread::sleep(Duration::from_millis(ms));
        } else {
            state.timers.set_virtual_now(target);
        }
    }

    /// Runs every timer already due (zero-delay work such as `onReady` and
    /// render callbacks), repeatedly, without moving the clock.
    pub fn settle(&mut self) {
        self.deliver_network();
        // A bounded number of rounds: an app that re-arms 0 ms timers forever
        // must not hang the host.
        for _ in 0..10_000 {
            let now = self.state.borrow().timers.now();
            let next = self.state.borrow_mut().timers.pop_due(now);
            let Some(id) = next else { return };
            self.task("timer", |call| call.fire_timer(id));
        }
    }

    /// Hands network answers that have arrived to the app, each as a task.
    fn deliver_network(&mut self) {
        let answers: Vec<(u32, Result<serde_json::Value, String>)> = {
            let state = self.state.borrow();
            let mut inbox = state
                .inbox
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::take(&mut *inbox)
        };
        for (id, result) in answers {
            {
                let mut state = self.state.borrow_mut();
                state.requests_in_flight = state.requests_in_flight.saturating_sub(1);
            }
            let (ok, value) = match result {
                Ok(value) => (true, value),
                Err(reason) => (false, serde_json::Value::String(reason)),
            };
            self.task("request answer", |call| call.answer(id, ok, &value));
        }
    }

    /// Waits (in real time) until every request in flight is answered and
    /// delivered, or `timeout` passes. Returns whether all were answered.
    pub fn wait_for_network(&mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.settle();
            if self.state.borrow().requests_in_flight == 0 {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// When the next timer is due, in ms since launch.
    pub fn next_timer(&self) -> Option<u64> {
        self.state.borrow().timers.next_due()
    }

    pub fn now_ms(&self) -> u64 {
        self.state.borrow().timers.now()
    }

    pub fn tree(&self) -> &NodeTree {
        &self.tree
    }

    /// The current page's root node.
    pub fn current_page(&self) -> Option<NodeId> {
        let id = self.js.current_page()?;
        self.tree.get(id).map(|n| n.id)
    }

    /// Whether the current page's `onReady` has run.
    pub fn current_page_ready(&self) -> bool {
        self.js.current_page_ready()
    }

    /// The names the app's `wx` object implements (what `wx.canIUse` answers).
    pub fn wx_names(&self) -> Vec<String> {
        self.js.wx_names()
    }

    /// Page paths on the stack, bottom first.
    pub fn page_stack(&self) -> Vec<String> {
        self.js.page_paths()
    }

    /// The current page printed as WXML-like text.
    pub fn page_wxml(&self, options: PrintOptions) -> String {
        self.current_page()
            .map(|page| self.tree.to_wxml(page, options))
            .unwrap_or_default()
    }

    /// Answers a modal or action sheet the app opened (see [`AppInstance::ui`]).
    /// Returns false when no such dialog is waiting.
    pub fn answer_dialog(&mut self, id: u32, answer: &api::ui::DialogAnswer) -> bool {
        let dialog = {
            let mut state = self.state.borrow_mut();
            let Some(index) = state.ui.dialogs.iter().position(|d| d.id == id) else {
                return false;
            };
            state.ui.dialogs.remove(index)
        };
        if let api::ui::DialogKind::Authorize { scope } = &dialog.kind {
            let granted = *answer == api::ui::DialogAnswer::Confirm;
            self.state
                .borrow_mut()
                .scopes
                .insert(scope.clone(), granted);
        }
        let (ok, result) = match answer.result(&dialog) {
            Ok(value) => (true, value),
            Err(reason) => (false, serde_json::Value::String(reason)),
        };
        self.task("dialog answer", |call| call.answer(id, ok, &result));
        self.settle();
        true
    }

    /// Toasts, titles and dialogs the app shows now.
    pub fn ui(&self) -> api::ui::UiState {
        self.state.borrow().ui.clone()
    }

    pub fn console(&self) -> Vec<ConsoleMessage> {
        self.state.borrow().console.clone()
    }

    /// Uncaught errors so far, with stack positions mapped to the app's sources.
    pub fn errors(&self) -> Vec<JsError> {
        let state = self.state.borrow();
        let mut maps = self.source_maps.borrow_mut();
        let source_map_of = |key: &str| state.app.scripts.get(key).map(|s| s.source_map.clone());
        state
            .errors
            .iter()
            .map(|error| JsError {
                stack: source_map::map_stack(
                    &error.stack,
                    &mut maps,
                    source_map_of,
                    host::WRAPPER_PREFIX_LEN,
                ),
                ..error.clone()
            })
            .collect()
    }

    /// Tree operations the backend sent that did not apply (a Bonsai bug).
    pub fn tree_errors(&self) -> usize {
        self.tree_errors
    }

    /// Bytes the QuickJS heap uses now.
    pub fn memory_used(&self) -> usize {
        self.js.memory_used()
    }

    /// Runs one task, drains microtasks, and applies its tree operations.
    fn task(
        &mut self,
        context: &str,
        run: impl FnOnce(&mut host::HostCall<'_, '_>) -> rquickjs::Result<()>,
    ) {
        self.js.run_task(context, run);
        self.flush();
    }

    fn flush(&mut self) {
        for batch in self.js.take_ops() {
            match serde_json::from_str::<Vec<serde_json::Value>>(&batch) {
                Ok(ops) => {
                    for op in &ops {
                        let applied = bonsai_protocol::TreeOp::from_compact(op)
                            .map_err(|e| e.to_string())
                            .and_then(|op| self.tree.apply(&op).map_err(|e| e.to_string()));
                        if let Err(err) = applied {
                            self.tree_errors += 1;
                            tracing::warn!("{err}");
                        }
                    }
                }
                Err(err) => {
                    self.tree_errors += 1;
                    tracing::warn!("undecodable tree op batch: {err}");
                }
            }
        }
    }
}
