//! The `wx` API registry: every API Bonsai implements is one [`ApiSpec`],
//! declaring its name, whether it is synchronous, the capability it needs and
//! its handler. The JS host builds the `wx` object from this list, so
//! `wx.canIUse` answers from it, and every call crosses into Rust through one
//! function (`native.api`), where the capability is checked before the
//! handler runs.
//!
//! Arguments arrive as JSON and are deserialized with serde; a bad argument is
//! WeChat's `"<name>:fail …"`, never a panic. Names not in the registry fail
//! loudly in JS with `"<name>:fail not supported"`.

pub mod coverage;
pub mod device;
pub mod fs;
mod image;
pub mod network;
pub mod platform;
pub mod scope;
pub mod socket;
pub(crate) mod storage;
mod system;
pub mod ui;

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::HostState;

/// What an API may touch. An app's grant decides which it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Capability {
    /// Pure information about the device and the app.
    System,
    /// Toasts, modals, the navigation and tab bars.
    Ui,
    /// The app's own storage.
    Storage,
    /// HTTP and sockets, to the app's allowed domains.
    Network,
    /// The user's position (also needs `requiredPrivateInfos` and the
    /// user's consent to `scope.userLocation`).
    Location,
    /// Photos, videos, the camera and the code scanner.
    Media,
    /// Effects on the phone itself: vibration, the screen, dialling.
    Device,
    /// The platform's account and payment services (login, pay, messages).
    Platform,
    /// The app's own files under `wx.env.USER_DATA_PATH`, saved and temporary files.
    FileSystem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// Returns a value or throws (`getStorageSync`).
    Sync,
    /// Takes success/fail/complete callbacks or returns a Promise.
    Async,
}

/// The outcome of a handler: the result fields (merged into `{errMsg: "name:ok"}`)
/// or the reason after `"name:fail "`. A failure WeChat numbers (Bluetooth's
/// 10001…) also sets an errCode with [`fail_with_code`].
pub type ApiResult = Result<Value, String>;

/// Fails the running call with WeChat's numeric `errCode` beside the errMsg
/// reason (`openBluetoothAdapter:fail not available`, errCode 10001). The
/// code travels beside the reason, in the host state, to the answer JS gets
/// (`{"fail": reason, "errCode": code}`), which puts it on the result object.
pub(crate) fn fail_with_code(
    state: &mut HostState,
    code: i64,
    reason: impl Into<String>,
) -> ApiResult {
    state.fail_code = Some(code);
    Err(reason.into())
}

/// APIs WeChat runs only while the app handles a user's tap (their docs say
/// 限制：仅在点击行为时调用, or "after a click event"); called at any other
/// time they fail with `<name>:fail can only be invoked by user TAP gesture.`.
pub const TAP_ONLY: &[&str] = &[
    "openSetting",
    "requestSubscribeMessage",
    "getUserProfile",
    "navigateToMiniProgram",
    "openCustomerServiceChat",
];

/// Events that are a user's gesture: while one is dispatched (and during
/// the microtasks of that task), [`TAP_ONLY`] APIs may run. Answering a
/// modal or action sheet is a tap too.
pub const GESTURE_EVENTS: &[&str] = &["tap", "longpress", "longtap", "touchend"];

/// Whether the app is handling a user's tap now, in WeChat's fail wording.
pub(crate) fn require_gesture(state: &HostState) -> Result<(), String> {
    if state.user_gesture {
        Ok(())
    } else {
        Err("can only be invoked by user TAP gesture.".to_owned())
    }
}

pub struct ApiSpec {
    pub name: &'static str,
    pub kind: ApiKind,
    pub capability: Capability,
    handler: fn(&mut HostState, Value) -> ApiResult,
}

impl std::fmt::Debug for ApiSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiSpec({})", self.name)
    }
}

/// Deserializes an API's options, turning a type error into WeChat's
/// wording: `parameter error: parameter.title should be String instead of Number;`.
pub(crate) fn options<T: DeserializeOwned>(args: Value) -> Result<T, String> {
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        parameter_error(&path, &message)
    })
}

/// WeChat's type names for serde's.
fn js_type(serde_name: &str) -> &'static str {
    let name = serde_name.trim();
    if name.starts_with("integer")
        || name.starts_with("floating")
        || name.starts_with("u8")
        || name.starts_with("u16")
        || name.starts_with("u32")
        || name.starts_with("u64")
        || name.starts_with("i32")
        || name.starts_with("i64")
        || name.starts_with("f64")
    {
        "Number"
    } else if name.starts_with("string") || name.starts_with("a string") || name.starts_with("char")
    {
        "String"
    } else if name.starts_with("boolean") || name.starts_with("a boolean") {
        "Boolean"
    } else if name.starts_with("map") || name.starts_with("struct") || name.starts_with("a map") {
        "Object"
    } else if name.starts_with("sequence") || name.starts_with("a sequence") {
        "Array"
    } else if name.starts_with("null") || name.starts_with("unit") {
        "Null"
    } else {
        "Unknown"
    }
}

fn parameter_error(path: &str, message: &str) -> String {
    let at = |field: &str| {
        if path.is_empty() || path == "." {
            format!("parameter.{field}")
        } else {
            format!("parameter.{path}.{field}")
        }
    };
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(field) = rest.split('`').next()
    {
        return format!(
            "parameter error: {} should be defined instead of Undefined;",
            at(field)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((actual, expected)) = rest.split_once(", expected ")
    {
        let actual = actual.split(" `").next().unwrap_or(actual);
        let target = if path.is_empty() || path == "." {
            "parameter".to_owned()
        } else {
            format!("parameter.{path}")
        };
        return format!(
            "parameter error: {target} should be {} instead of {};",
            js_type(expected),
            js_type(actual)
        );
    }
    if path.is_empty() || path == "." {
        format!("parameter error: {message}")
    } else {
        format!("parameter error: parameter.{path}: {message}")
    }
}

/// Every implemented API.
pub fn registry() -> &'static [ApiSpec] {
    static REGISTRY: std::sync::OnceLock<Vec<ApiSpec>> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut all = Vec::new();
        all.extend(system::apis());
        all.extend(storage::apis());
        all.extend(scope::apis());
        all.extend(network::apis());
        all.extend(socket::apis());
        all.extend(ui::apis());
        all.extend(device::apis());
        all.extend(image::apis());
        all.extend(platform::apis());
        all
    })
}

/// Answers from the host's providers waiting for the engine's next task:
/// (waiting id, result, errCode of a failure). Providers may answer from any
/// thread.
pub type Inbox = Arc<Mutex<Vec<(u32, Result<Value, String>, Option<i64>)>>>;

/// Turns a provider's raw answer into the call's result when it is
/// delivered, on the app's thread (e.g. media bytes become temp files).
pub(crate) struct Finisher(Box<FinishFn>);

type FinishFn = dyn FnOnce(&mut HostState, Result<Value, String>) -> ApiResult;

impl Finisher {
    pub(crate) fn finish(self, state: &mut HostState, result: Result<Value, String>) -> ApiResult {
        (self.0)(state, result)
    }
}

impl std::fmt::Debug for Finisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Finisher")
    }
}

/// Where a provider sends the answer to one deferred call.
#[derive(Debug)]
pub struct AnswerSender {
    id: u32,
    inbox: Inbox,
}

impl AnswerSender {
    pub fn send(self, result: Result<Value, String>) {
        self.push(result, None);
    }

    /// Fails the call with WeChat's numeric errCode beside the reason
    /// (`requestSubscribeMessage`'s 20004 when the user turned messages off).
    pub fn fail_with_code(self, code: i64, reason: impl Into<String>) {
        self.push(Err(reason.into()), Some(code));
    }

    fn push(self, result: Result<Value, String>, code: Option<i64>) {
        let mut inbox = self
            .inbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inbox.push((self.id, result, code));
    }
}

/// Starts a call that a provider answers later. The JS host holds the call
/// (`{"waitingFor": id}`) until the answer is delivered as a task, so
/// callbacks run on the app's thread, in order, as in WeChat.
pub(crate) fn defer(
    state: &mut HostState,
    finish: impl FnOnce(&mut HostState, Result<Value, String>) -> ApiResult + 'static,
) -> (Value, AnswerSender) {
    let id = state.next_waiting_id();
    state.pending.insert(id, Finisher(Box::new(finish)));
    let sender = AnswerSender {
        id,
        inbox: state.inbox.clone(),
    };
    (serde_json::json!({ "waitingFor": id }), sender)
}

/// Methods of the objects js/host.js builds (`FileSystemManager.readFile`,
/// `UpdateManager.check`):
/// called and checked against the grant like registry APIs, but not `wx`
/// names themselves, so neither `wx` nor the coverage lists them.
fn object_methods() -> &'static [ApiSpec] {
    static METHODS: std::sync::OnceLock<Vec<ApiSpec>> = std::sync::OnceLock::new();
    METHODS.get_or_init(|| {
        let mut methods = fs::methods();
        methods.extend(platform::update_manager_methods());
        methods
    })
}

pub(crate) fn spec(name: &str) -> Option<&'static ApiSpec> {
    registry()
        .iter()
        .chain(object_methods())
        .find(|s| s.name == name)
}

/// Whether the app's grant allows `capability`, in WeChat's fail wording.
pub(crate) fn check_capability(state: &HostState, capability: Capability) -> Result<(), String> {
    if state.grant.allows(capability) {
        Ok(())
    } else {
        Err(format!(
            "permission denied: this app may not use {capability:?} APIs"
        ))
    }
}

/// Runs one API call from JS. The answer is JSON: `{"ok": result}`,
/// `{"fail": reason}` or `{"fail": reason, "errCode": code}`.
pub(crate) fn call(state: &mut HostState, name: &str, args: &str) -> String {
    state.fail_code = None;
    let outcome = match spec(name) {
        None => Err("not supported".to_owned()),
        Some(spec) => check_capability(state, spec.capability)
            .and_then(|()| {
                if TAP_ONLY.contains(&spec.name) {
                    require_gesture(state)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| match serde_json::from_str::<Value>(args) {
                Ok(args) => (spec.handler)(state, args),
                Err(e) => Err(format!("parameter error: {e}")),
            }),
    };
    let code = state.fail_code.take();
    encode_outcome(outcome, code)
}

/// Runs a registered API with already-decoded arguments (a call resumed
/// after the user granted a scope).
pub(crate) fn resume(state: &mut HostState, name: &str, args: Value) -> ApiResult {
    match spec(name) {
        Some(spec) => (spec.handler)(state, args),
        None => Err("not supported".to_owned()),
    }
}

/// Gives up on a call a provider has yet to answer (`RequestTask.abort`):
/// its finisher sees `abort`, and a late answer is dropped. Returns whether
/// the call was still waiting.
pub(crate) fn cancel(state: &mut HostState, id: u32) -> bool {
    match state.pending.remove(&id) {
        Some(finish) => {
            // Only the bookkeeping matters here (a slot freed); the JS host
            // reports the abort itself.
            let _ = finish.finish(state, Err("abort".to_owned()));
            true
        }
        None => false,
    }
}

fn encode_outcome(outcome: ApiResult, code: Option<i64>) -> String {
    let answer = match (outcome, code) {
        (Ok(value), _) => serde_json::json!({ "ok": value }),
        (Err(reason), None) => serde_json::json!({ "fail": reason }),
        (Err(reason), Some(code)) => serde_json::json!({ "fail": reason, "errCode": code }),
    };
    answer.to_string()
}

/// A failure as the JS host's `answer` takes it: the reason, or the reason
/// with its errCode.
pub(crate) fn failure_for_js(reason: String, code: Option<i64>) -> Value {
    match code {
        None => Value::String(reason),
        Some(code) => serde_json::json!({ "reason": reason, "errCode": code }),
    }
}

/// The capabilities an app instance holds. Deny wins: a capability is usable
/// only when granted and not denied.
#[derive(Debug, Clone)]
pub struct Grant {
    granted: Vec<Capability>,
    denied: Vec<Capability>,
}

impl Default for Grant {
    /// What every mini program gets without asking in WeChat.
    fn default() -> Self {
        Grant {
            granted: vec![
                Capability::System,
                Capability::Ui,
                Capability::Storage,
                Capability::Network,
                Capability::Location,
                Capability::Media,
                Capability::Device,
                Capability::Platform,
                Capability::FileSystem,
            ],
            denied: Vec::new(),
        }
    }
}

impl Grant {
    pub fn deny(mut self, capability: Capability) -> Self {
        self.denied.push(capability);
        self
    }

    pub fn allows(&self, capability: Capability) -> bool {
        self.granted.contains(&capability) && !self.denied.contains(&capability)
    }
}

/// The list the JS host builds `wx` from.
pub(crate) fn js_table() -> Value {
    registry()
        .iter()
        .map(|s| serde_json::json!({ "name": s.name, "kind": s.kind }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Toast {
        title: String,
        #[serde(default)]
        duration: u32,
    }

    #[test]
    fn bad_options_read_as_wechat_writes_them() {
        let error = |v: Value| options::<Toast>(v).expect_err("rejected");
        assert_eq!(
            error(serde_json::json!({ "title": 1 })),
            "parameter error: parameter.title should be String instead of Number;"
        );
        assert_eq!(
            error(serde_json::json!({})),
            "parameter error: parameter.title should be defined instead of Undefined;"
        );
        assert_eq!(
            error(serde_json::json!({ "title": "a", "duration": "long" })),
            "parameter error: parameter.duration should be Number instead of String;"
        );
        assert_eq!(
            error(serde_json::json!("x")),
            "parameter error: parameter should be Object instead of String;"
        );
    }
}
