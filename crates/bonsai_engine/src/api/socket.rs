//! `wx.connectSocket` and its SocketTask: WebSockets to the app's socket
//! domains (wss only unless `urlCheck` is off), at most five open at once as
//! in WeChat. The connection itself belongs to the host's
//! [`SocketProvider`]; its events wait in the instance's socket inbox and are
//! delivered as tasks, in order, like every other answer from a provider.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::network::DomainKind;
use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::HostState;

/// WeChat allows at most this many sockets open at once.
const MAX_SOCKETS: usize = 5;

/// What `connectSocket` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketRequest {
    pub url: String,
    pub header: std::collections::BTreeMap<String, String>,
    pub protocols: Vec<String>,
    /// Milliseconds to wait for the connection.
    pub timeout: u64,
}

/// One frame either way.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketMessage {
    Text(String),
    Binary(Vec<u8>),
}

/// What happens on a socket, as SocketTask's listeners hear it.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketEvent {
    Open {
        header: std::collections::BTreeMap<String, String>,
    },
    Message(SocketMessage),
    Close {
        code: u16,
        reason: String,
    },
    Error(String),
}

/// Socket events waiting for the engine's next task: (socket id, event).
pub type SocketInbox = Arc<Mutex<Vec<(u32, SocketEvent)>>>;

/// Where a provider reports one socket's events, from any thread.
#[derive(Debug, Clone)]
pub struct SocketEvents {
    id: u32,
    inbox: SocketInbox,
}

impl SocketEvents {
    pub fn emit(&self, event: SocketEvent) {
        let mut inbox = self
            .inbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inbox.push((self.id, event));
    }
}

/// An open (or opening) connection the app can write to.
pub trait SocketConnection: std::fmt::Debug {
    fn send(&self, message: SocketMessage) -> Result<(), String>;
    /// Starts the closing handshake; the provider reports `Close` when done.
    fn close(&self, code: u16, reason: &str);
}

/// Opens WebSockets for an instance.
pub trait SocketProvider: std::fmt::Debug + Send + Sync {
    /// Starts connecting; `Open`, messages and `Close` arrive through
    /// `events`. An error here fails `connectSocket` itself.
    fn connect(
        &self,
        request: SocketRequest,
        events: SocketEvents,
    ) -> Result<Box<dyn SocketConnection>, String>;
}

#[derive(Deserialize)]
struct ConnectOptions {
    url: String,
    #[serde(default)]
    header: std::collections::BTreeMap<String, Value>,
    #[serde(default)]
    protocols: Vec<String>,
    #[serde(default = "default_timeout")]
    timeout: u64,
}

fn default_timeout() -> u64 {
    60_000
}

fn connect_socket(state: &mut HostState, args: Value) -> ApiResult {
    let ConnectOptions {
        url,
        header,
        protocols,
        timeout,
    } = options(args)?;
    state.network_policy.check(DomainKind::Socket, &url)?;
    let Some(provider) = state.sockets_provider.clone() else {
        return Err("no network: this host has no socket provider".to_owned());
    };
    if state.sockets.len() >= MAX_SOCKETS {
        return Err(format!(
            "exceeded the maximum of {MAX_SOCKETS} connected sockets"
        ));
    }
    let id = state.next_waiting_id();
    let events = SocketEvents {
        id,
        inbox: state.socket_inbox.clone(),
    };
    let header = header
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect();
    let request = SocketRequest {
        url,
        header,
        protocols,
        timeout,
    };
    let connection = provider.connect(request, events)?;
    state.sockets.insert(id, connection);
    Ok(json!({ "socketTaskId": id }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendOptions {
    /// The SocketTask's id; the newest socket when absent (the legacy
    /// `wx.sendSocketMessage`).
    #[serde(default)]
    socket_task_id: Option<u32>,
    #[serde(default)]
    data: Option<String>,
    /// An ArrayBuffer the JS host encoded.
    #[serde(default)]
    data_base64: Option<String>,
}

fn send_socket_message(state: &mut HostState, args: Value) -> ApiResult {
    let SendOptions {
        socket_task_id,
        data,
        data_base64,
    } = options(args)?;
    let connection = connection(state, socket_task_id)?;
    let message = match (data, data_base64) {
        (_, Some(encoded)) => SocketMessage::Binary(
            BASE64
                .decode(encoded)
                .map_err(|e| format!("parameter error: data: {e}"))?,
        ),
        (Some(text), None) => SocketMessage::Text(text),
        (None, None) => return Err("parameter error: data is required".to_owned()),
    };
    connection.send(message)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloseOptions {
    #[serde(default)]
    socket_task_id: Option<u32>,
    #[serde(default = "normal_closure")]
    code: u16,
    #[serde(default)]
    reason: String,
}

fn normal_closure() -> u16 {
    1000
}

fn close_socket(state: &mut HostState, args: Value) -> ApiResult {
    let CloseOptions {
        socket_task_id,
        code,
        reason,
    } = options(args)?;
    // 1000 or 3000–4999, as browsers allow apps to send.
    if code != 1000 && !(3000..=4999).contains(&code) {
        return Err(format!("parameter error: invalid close code {code}"));
    }
    let connection = connection(state, socket_task_id)?;
    connection.close(code, &reason);
    Ok(json!({}))
}

fn connection(state: &HostState, id: Option<u32>) -> Result<&dyn SocketConnection, String> {
    let id = id.or_else(|| state.sockets.keys().max().copied());
    id.and_then(|id| state.sockets.get(&id))
        .map(|c| c.as_ref())
        .ok_or_else(|| "WebSocket is not connected".to_owned())
}

/// An event as the JS host hands it to SocketTask listeners; a closed
/// socket is forgotten so its slot frees up.
pub(crate) fn event_for_js(state: &mut HostState, id: u32, event: SocketEvent) -> Value {
    match event {
        SocketEvent::Open { header } => {
            state.open_sockets.insert(id);
            json!({ "type": "open", "header": header })
        }
        SocketEvent::Message(SocketMessage::Text(text)) => {
            json!({ "type": "message", "data": text })
        }
        SocketEvent::Message(SocketMessage::Binary(bytes)) => {
            json!({ "type": "message", "dataBase64": BASE64.encode(bytes) })
        }
        SocketEvent::Close { code, reason } => {
            state.sockets.remove(&id);
            state.open_sockets.remove(&id);
            json!({ "type": "close", "code": code, "reason": reason })
        }
        SocketEvent::Error(message) => json!({ "type": "error", "errMsg": message }),
    }
}

pub(super) fn apis() -> Vec<ApiSpec> {
    // SocketTask.send/close call the other two with the task's id; without
    // one they act on the newest socket, as WeChat's legacy global API does.
    let api = |name, handler| ApiSpec {
        name,
        kind: ApiKind::Async,
        capability: Capability::Network,
        handler,
    };
    vec![
        api("connectSocket", connect_socket),
        api("sendSocketMessage", send_socket_message),
        api("closeSocket", close_socket),
    ]
}
