//! `wx.connectSocket` for `bonsai run`: real WebSockets (ws/wss) with
//! tungstenite, one thread per socket so the app's thread never blocks. The
//! engine has already checked the URL against the app's socket domains.
//!
//! The thread owns the connection: it polls the app's commands (send,
//! close) between short reads and reports open, messages, close and errors
//! through the engine's `SocketEvents`.

use std::net::TcpStream;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::Duration;

use bonsai_engine::api::socket::{
    SocketConnection, SocketEvent, SocketEvents, SocketMessage, SocketProvider, SocketRequest,
};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// How long a read waits before the thread looks for the app's commands.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug, Default)]
pub struct WebSockets;

impl SocketProvider for WebSockets {
    fn connect(
        &self,
        request: SocketRequest,
        events: SocketEvents,
    ) -> Result<Box<dyn SocketConnection>, String> {
        let (commands, inbox) = channel();
        std::thread::spawn(move || run(&request, &events, &inbox));
        Ok(Box::new(Connection { commands }))
    }
}

enum Command {
    Send(SocketMessage),
    Close(u16, String),
}

#[derive(Debug)]
struct Connection {
    commands: Sender<Command>,
}

impl SocketConnection for Connection {
    fn send(&self, message: SocketMessage) -> Result<(), String> {
        self.commands
            .send(Command::Send(message))
            .map_err(|_| "WebSocket is not connected".to_owned())
    }

    fn close(&self, code: u16, reason: &str) {
        // A socket that is already gone has nothing left to close.
        let _ = self.commands.send(Command::Close(code, reason.to_owned()));
    }
}

fn run(request: &SocketRequest, events: &SocketEvents, commands: &Receiver<Command>) {
    let mut socket = match open(request) {
        Ok((socket, header)) => {
            events.emit(SocketEvent::Open { header });
            socket
        }
        Err(reason) => {
            events.emit(SocketEvent::Error(reason));
            events.emit(SocketEvent::Close {
                code: 1006,
                reason: "abnormal closure".to_owned(),
            });
            return;
        }
    };
    let (code, reason) = pump(&mut socket, events, commands);
    events.emit(SocketEvent::Close { code, reason });
}

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn open(
    request: &SocketRequest,
) -> Result<(Socket, std::collections::BTreeMap<String, String>), String> {
    let mut http = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    for (name, value) in &request.header {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("invalid header {name}: {e}"))?;
        let value = tungstenite::http::HeaderValue::from_str(value)
            .map_err(|e| format!("invalid header value: {e}"))?;
        http.headers_mut().insert(name, value);
    }
    if !request.protocols.is_empty() {
        let protocols = request.protocols.join(", ");
        let value = tungstenite::http::HeaderValue::from_str(&protocols)
            .map_err(|e| format!("invalid protocols: {e}"))?;
        http.headers_mut().insert("Sec-WebSocket-Protocol", value);
    }
    let (socket, response) = tungstenite::connect(http).map_err(|e| e.to_string())?;
    let header = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let stream = match socket.get_ref() {
        MaybeTlsStream::Plain(stream) => Some(stream),
        MaybeTlsStream::Rustls(tls) => Some(tls.get_ref()),
        _ => None,
    };
    if let Some(stream) = stream {
        stream
            .set_read_timeout(Some(POLL))
            .map_err(|e| e.to_string())?;
    }
    Ok((socket, header))
}

/// Moves frames both ways until the socket closes; returns how it closed.
fn pump(socket: &mut Socket, events: &SocketEvents, commands: &Receiver<Command>) -> (u16, String) {
    loop {
        loop {
            let command = match commands.try_recv() {
                Ok(command) => command,
                Err(TryRecvError::Empty) => break,
                // The app is gone: close politely.
                Err(TryRecvError::Disconnected) => Command::Close(1000, String::new()),
            };
            let sent = match command {
                Command::Send(SocketMessage::Text(text)) => socket.send(Message::text(text)),
                Command::Send(SocketMessage::Binary(bytes)) => socket.send(Message::binary(bytes)),
                Command::Close(code, reason) => socket.close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                })),
            };
            if let Err(error) = sent {
                events.emit(SocketEvent::Error(error.to_string()));
            }
        }
        match socket.read() {
            Ok(Message::Text(text)) => {
                events.emit(SocketEvent::Message(SocketMessage::Text(text.to_string())));
            }
            Ok(Message::Binary(bytes)) => {
                events.emit(SocketEvent::Message(SocketMessage::Binary(bytes.to_vec())));
            }
            Ok(Message::Close(frame)) => {
                // tungstenite answers the close; the next read ends the loop.
                if let Some(frame) = frame {
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                return (1005, String::new());
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return (1000, String::new());
            }
            Err(error) => {
                events.emit(SocketEvent::Error(error.to_string()));
                return (1006, "abnormal closure".to_owned());
            }
        }
    }
}
