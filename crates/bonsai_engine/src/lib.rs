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
mod layout;
mod source_map;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub use api::fs::{FileMeta, FileSystemBackend, FsError, MemoryFileSystem, SandboxPath};
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
    /// Performs `wx.request`, `downloadFile`, `uploadFile`; without one they fail.
    pub network: Option<Arc<dyn api::network::NetworkProvider>>,
    /// Opens `wx.connectSocket`'s WebSockets; without one they fail.
    pub sockets: Option<Arc<dyn api::socket::SocketProvider>>,
    /// The app's domain allow-lists (WeChat's admin console).
    pub domains: api::network::Domains,
    /// Answers location, media and scan requests; without one they fail.
    pub device_provider: Option<Arc<dyn api::device::DeviceProvider>>,
    /// The platform behind `wx.login` and `wx.requestPayment`; without one they fail.
    pub platform: Option<Arc<dyn api::platform::PlatformClient>>,
    /// Where the app's files (`wx.env.USER_DATA_PATH`, saved files) live
    /// between runs; in memory, for this instance only, when `None`.
    pub file_system: Option<Arc<dyn FileSystemBackend>>,
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
            sockets: None,
            domains: api::network::Domains::default(),
            device_provider: None,
            platform: None,
            file_system: None,
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

/// The app id storage, files and the platform know the app by; an app
/// without one (no project.config.json) is `unnamed`.
pub fn app_key(app: &CompiledApp) -> String {
    app.app_id.clone().unwrap_or_else(|| "unnamed".to_owned())
}

impl HostState {
    /// A fresh id for a call whose answer comes later.
    pub(crate) fn next_waiting_id(&mut self) -> u32 {
        self.last_waiting_id += 1;
        self.last_waiting_id
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
    pub storage: api::storage::AppStorage,
    /// Scope answers so far (`scope.userLocation` → granted).
    pub scopes: std::collections::BTreeMap<String, bool>,
    pub prompt_policy: api::scope::PromptPolicy,
    pub network: Option<Arc<dyn api::network::NetworkProvider>>,
    pub network_policy: api::network::NetworkPolicy,
    /// Provider answers waiting for the next task.
    pub inbox: api::Inbox,
    /// Calls a provider has yet to answer, with what finishes each.
    pub pending: std::collections::HashMap<u32, api::Finisher>,
    /// Calls waiting for the user's consent to a scope: the API and its
    /// arguments, resumed when the user agrees.
    pub after_consent: std::collections::HashMap<u32, (&'static str, serde_json::Value)>,
    pub requests_in_flight: usize,
    pub device_provider: Option<Arc<dyn api::device::DeviceProvider>>,
    pub platform: Option<Arc<dyn api::platform::PlatformClient>>,
    pub sockets_provider: Option<Arc<dyn api::socket::SocketProvider>>,
    /// Open sockets by SocketTask id.
    pub sockets: std::collections::HashMap<u32, Box<dyn api::socket::SocketConnection>>,
    pub socket_inbox: api::socket::SocketInbox,
    /// Sockets whose connection opened (the rest are still connecting).
    pub open_sockets: std::collections::HashSet<u32>,
    /// When the last socket event was delivered.
    pub last_socket_event: Option<std::time::Instant>,
    pub effects: api::device::DeviceEffects,
    /// The last id handed to a call that waits (a dialog, a request).
    pub last_waiting_id: u32,
    pub ui: api::ui::UiState,
    /// The app's files and this run's temporary files.
    pub files: api::fs::Files,
    /// Stylesheets and page layouts, for selector queries and intersection observers.
    pub layout: layout::PageLayouts,
    /// Whether the running task handles a user's gesture (a tap, or the
    /// answer to a modal or action sheet), when `api::TAP_ONLY` APIs may run.
    pub user_gesture: bool,
    /// The errCode of the failure the running call reports (`api::fail_with_code`).
    pub fail_code: Option<i64>,
}

/// How long socket traffic must pause before a host waiting for the app
/// ([`AppInstance::wait_for_providers`]) considers it quiet.
pub const QUIET_PERIOD: Duration = Duration::from_millis(100);

/// A running app.
pub struct AppInstance {
    /// Decoded source maps by script key, filled as stacks need them.
    source_maps: RefCell<std::collections::HashMap<String, source_map::DecodedMap>>,
    js: host::JsHost,
    state: Rc<RefCell<HostState>>,
    /// Shared with [`HostState::layout`], which lays it out when JS asks.
    tree: Rc<RefCell<NodeTree>>,
    tree_errors: usize,
}

impl std::fmt::Debug for AppInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppInstance").finish_non_exhaustive()
    }
}

/// A box in CSS px (see [`AppInstance::layout_rect`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
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
        let tree = Rc::new(RefCell::new(NodeTree::new()));
        let state = Rc::new(RefCell::new(HostState {
            layout: layout::PageLayouts::new(&app, tree.clone(), &options.device),
            app: app.clone(),
            timers: clock::TimerQueue::new(options.clock),
            console: Vec::new(),
            errors: Vec::new(),
            device: options.device.clone(),
            grant: options.grant.clone(),
            storage: api::storage::AppStorage::load(app_key(&app), options.storage.clone()),
            scopes: std::collections::BTreeMap::new(),
            prompt_policy: options.prompt_policy,
            network: options.network.clone(),
            network_policy: api::network::NetworkPolicy {
                url_check: app.url_check,
                domains: options.domains.clone(),
            },
            inbox: api::Inbox::default(),
            pending: std::collections::HashMap::new(),
            after_consent: std::collections::HashMap::new(),
            requests_in_flight: 0,
            device_provider: options.device_provider.clone(),
            platform: options.platform.clone(),
            sockets_provider: options.sockets.clone(),
            sockets: std::collections::HashMap::new(),
            socket_inbox: api::socket::SocketInbox::default(),
            open_sockets: std::collections::HashSet::new(),
            last_socket_event: None,
            effects: api::device::DeviceEffects::default(),
            last_waiting_id: 0,
            ui: api::ui::UiState::default(),
            files: api::fs::Files::new(options.file_system.clone(), app_key(&app)),
            user_gesture: false,
            fail_code: None,
        }));
        let js = host::JsHost::new(state.clone(), options)?;
        let mut instance = AppInstance {
            source_maps: RefCell::default(),
            js,
            state,
            tree,
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
    /// A tap, long press or touchend is the user's gesture: while its task
    /// runs, APIs WeChat allows only then (`api::TAP_ONLY`) work.
    pub fn dispatch(&mut self, node: NodeId, event: &str, detail: serde_json::Value) -> bool {
        let event = event.to_owned();
        let mut delivered = false;
        let gesture = api::GESTURE_EVENTS.contains(&event.as_str());
        self.gesture_task(gesture, &format!("{event} event"), |call| {
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
            .and_then(|page| self.tree.borrow().select(page, &selector)))
    }

    /// Moves the clock forward by `ms`, running every timer that falls due, in order.
    pub fn advance(&mut self, ms: u64) {
        self.deliver_answers();
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
        self.deliver_answers();
        // A bounded number of rounds: an app that re-arms 0 ms timers forever
        // must not hang the host.
        for _ in 0..10_000 {
            let now = self.state.borrow().timers.now();
            let next = self.state.borrow_mut().timers.pop_due(now);
            let Some(id) = next else { return };
            self.task("timer", |call| call.fire_timer(id));
        }
    }

    /// Hands provider answers that have arrived to the app, each as a task.
    fn deliver_answers(&mut self) {
        type Answer = (u32, Result<serde_json::Value, String>, Option<i64>);
        let answers: Vec<Answer> = {
            let state = self.state.borrow();
            let mut inbox = state
                .inbox
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::take(&mut *inbox)
        };
        for (id, result, code) in answers {
            let (result, code) = {
                let mut state = self.state.borrow_mut();
                match state.pending.remove(&id) {
                    Some(finish) => {
                        // The finisher may keep the provider's errCode or set its own.
                        state.fail_code = code;
                        let result = finish.finish(&mut state, result);
                        (result, state.fail_code.take())
                    }
                    // Not a call this instance made: nothing to answer.
                    None => continue,
                }
            };
            let (ok, value) = match result {
                Ok(value) => (true, value),
                Err(reason) => (false, api::failure_for_js(reason, code)),
            };
            self.task("provider answer", |call| call.answer(id, ok, &value));
        }
        let events: Vec<(u32, api::socket::SocketEvent)> = {
            let state = self.state.borrow();
            let mut inbox = state
                .socket_inbox
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::take(&mut *inbox)
        };
        for (id, event) in events {
            let value = {
                let mut state = self.state.borrow_mut();
                state.last_socket_event = Some(std::time::Instant::now());
                api::socket::event_for_js(&mut state, id, event)
            };
            self.task("socket event", |call| call.socket_event(id, &value));
        }
    }

    /// Waits (in real time) until the app is quiet: every call a provider
    /// has yet to answer (requests, device and platform calls) is answered
    /// and delivered, no socket is still connecting, and no socket event has
    /// arrived for [`QUIET_PERIOD`], or `timeout` passes. Returns whether
    /// the app went quiet. An open socket alone does not keep it waiting.
    pub fn wait_for_providers(&mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.settle();
            let state = self.state.borrow();
            let connecting = state.sockets.len() > state.open_sockets.len();
            let recent = state
                .last_socket_event
                .is_some_and(|at| at.elapsed() < QUIET_PERIOD);
            if state.pending.is_empty() && !connecting && !recent {
                return true;
            }
            drop(state);
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

    pub fn tree(&self) -> std::cell::Ref<'_, NodeTree> {
        self.tree.borrow()
    }

    /// The current page's root node.
    pub fn current_page(&self) -> Option<NodeId> {
        let id = self.js.current_page()?;
        self.tree.borrow().get(id).map(|n| n.id)
    }

    /// A node's border box as headless layout computes it, in CSS px from
    /// its page's top-left corner (the page unscrolled). `None` when the node
    /// makes no box (`display: none`, released, not in a page).
    pub fn layout_rect(&self, node: NodeId) -> Option<Rect> {
        let geometry = self.state.borrow_mut().layout.geometry(node)?;
        Some(Rect {
            left: f64::from(geometry.x),
            top: f64::from(geometry.y),
            width: f64::from(geometry.width),
            height: f64::from(geometry.height),
        })
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
            .map(|page| self.tree.borrow().to_wxml(page, options))
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
        let mut outcome = answer.result(&dialog);
        self.state.borrow_mut().fail_code = None;
        if let api::ui::DialogKind::Authorize { scope } = &dialog.kind {
            let granted = *answer == api::ui::DialogAnswer::Confirm;
            let mut state = self.state.borrow_mut();
            state.scopes.insert(scope.clone(), granted);
            // A call that asked for the scope goes on now (`getLocation`);
            // if it waits again, the JS host follows it to the new id.
            if let Some((api, args)) = state.after_consent.remove(&id)
                && granted
            {
                outcome = api::resume(&mut state, api, args);
            }
        }
        let code = self.state.borrow_mut().fail_code.take();
        let (ok, result) = match outcome {
            Ok(value) => (true, value),
            Err(reason) => (false, api::failure_for_js(reason, code)),
        };
        // The user tapped the dialog: its callbacks run in that gesture, as
        // WeChat lets a modal's confirm open the settings or a subscription.
        let gesture = !matches!(dialog.kind, api::ui::DialogKind::Authorize { .. });
        self.gesture_task(gesture, "dialog answer", |call| {
            call.answer(id, ok, &result)
        });
        self.settle();
        true
    }

    /// Toasts, titles and dialogs the app shows now.
    pub fn ui(&self) -> api::ui::UiState {
        self.state.borrow().ui.clone()
    }

    /// Gives the app a temporary file (`wxfile://tmp_….ext`), as a download
    /// or the camera would; it is gone with the instance.
    pub fn add_temp_file(&mut self, bytes: Vec<u8>, extension: &str) -> String {
        self.state.borrow_mut().create_temp_file(bytes, extension)
    }

    /// The content of a file the app can read (`wxfile://usr/…`,
    /// `wxfile://store_…`, `wxfile://tmp_…`), checked like the app's own reads.
    pub fn read_user_file(&self, path: &str) -> Result<Vec<u8>, String> {
        self.state.borrow().read_file(path)
    }

    /// What the app asked of the phone (vibration, calls, the screen).
    pub fn device_effects(&self) -> api::device::DeviceEffects {
        self.state.borrow().effects.clone()
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

    /// Runs one task as [`AppInstance::task`] does, as the user's gesture
    /// when `gesture` (its microtasks included; timers it starts are not).
    fn gesture_task(
        &mut self,
        gesture: bool,
        context: &str,
        run: impl FnOnce(&mut host::HostCall<'_, '_>) -> rquickjs::Result<()>,
    ) {
        self.state.borrow_mut().user_gesture = gesture;
        self.task(context, run);
        self.state.borrow_mut().user_gesture = false;
    }

    /// Runs one task, drains microtasks, and applies its tree operations.
    fn task(
        &mut self,
        context: &str,
        run: impl FnOnce(&mut host::HostCall<'_, '_>) -> rquickjs::Result<()>,
    ) {
        self.js.run_task(context, run);
        self.flush();
        let saved = self.state.borrow_mut().storage.flush();
        if let Err(reason) = saved {
            // The entries stay in memory and the save is retried after the next task.
            self.state.borrow_mut().console.push(ConsoleMessage {
                level: ConsoleLevel::Error,
                text: format!("wx storage could not be saved: {reason}"),
            });
        }
    }

    fn flush(&mut self) {
        let mut tree = self.tree.borrow_mut();
        for batch in self.js.take_ops() {
            match serde_json::from_str::<Vec<serde_json::Value>>(&batch) {
                Ok(ops) => {
                    for op in &ops {
                        let applied = bonsai_protocol::TreeOp::from_compact(op)
                            .map_err(|e| e.to_string())
                            .and_then(|op| tree.apply(&op).map_err(|e| e.to_string()));
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
