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
pub mod network;
pub mod scope;
mod system;
pub mod ui;

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
/// or the reason after `"name:fail "`.
pub type ApiResult = Result<Value, String>;

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

/// Deserializes an API's options, turning a type error into WeChat's wording.
pub(crate) fn options<T: DeserializeOwned>(args: Value) -> Result<T, String> {
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| format!("parameter error: {e}"))
}

/// Every implemented API.
pub fn registry() -> &'static [ApiSpec] {
    static REGISTRY: std::sync::OnceLock<Vec<ApiSpec>> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut all = Vec::new();
        all.extend(system::apis());
        all.extend(scope::apis());
        all.extend(network::apis());
        all.extend(ui::apis());
        all
    })
}

pub(crate) fn spec(name: &str) -> Option<&'static ApiSpec> {
    registry().iter().find(|s| s.name == name)
}

/// Runs one API call from JS. The answer is JSON: `{"ok": result}` or `{"fail": reason}`.
pub(crate) fn call(state: &mut HostState, name: &str, args: &str) -> String {
    let outcome = match spec(name) {
        None => Err("not supported".to_owned()),
        Some(spec) if !state.grant.allows(spec.capability) => Err(format!(
            "permission denied: this app may not use {:?} APIs",
            spec.capability
        )),
        Some(spec) => match serde_json::from_str::<Value>(args) {
            Ok(args) => (spec.handler)(state, args),
            Err(e) => Err(format!("parameter error: {e}")),
        },
    };
    let answer = match outcome {
        Ok(value) => serde_json::json!({ "ok": value }),
        Err(reason) => serde_json::json!({ "fail": reason }),
    };
    answer.to_string()
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
