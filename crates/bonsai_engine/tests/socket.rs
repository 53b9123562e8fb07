//! `wx.connectSocket` as apps use it: SocketTask listeners, the legacy
//! global socket API, WeChat's wss-only socket allow-list and its limit of
//! five sockets, against an echoing provider.

mod support;

use std::sync::Arc;

use bonsai_engine::EngineOptions;
use bonsai_engine::api::network::Domains;
use bonsai_engine::api::socket::{
    SocketConnection, SocketEvent, SocketEvents, SocketMessage, SocketProvider, SocketRequest,
};
use support::{logs, run_page};

/// Opens at once and echoes every frame; closing answers with the app's code.
#[derive(Debug)]
struct EchoSockets;

#[derive(Debug)]
struct EchoConnection {
    events: SocketEvents,
}

impl SocketConnection for EchoConnection {
    fn send(&self, message: SocketMessage) -> Result<(), String> {
        let echoed = match message {
            SocketMessage::Text(text) => SocketMessage::Text(format!("echo: {text}")),
            SocketMessage::Binary(mut bytes) => {
                bytes.reverse();
                SocketMessage::Binary(bytes)
            }
        };
        self.events.emit(SocketEvent::Message(echoed));
        Ok(())
    }

    fn close(&self, code: u16, reason: &str) {
        self.events.emit(SocketEvent::Close {
            code,
            reason: reason.to_owned(),
        });
    }
}

impl SocketProvider for EchoSockets {
    fn connect(
        &self,
        request: SocketRequest,
        events: SocketEvents,
    ) -> Result<Box<dyn SocketConnection>, String> {
        let header = [("x-url".to_owned(), request.url)].into();
        events.emit(SocketEvent::Open { header });
        Ok(Box::new(EchoConnection { events }))
    }
}

fn run(script: &str) -> Vec<String> {
    let options = EngineOptions {
        sockets: Some(Arc::new(EchoSockets)),
        domains: Domains {
            socket: vec!["live.shop.example".to_owned()],
            ..Domains::default()
        },
        ..EngineOptions::default()
    };
    let page = format!(
        "onLoad() {{\nconst log = (...a) => console.log(a.map((x) => typeof x === 'string' ? x : JSON.stringify(x)).join(' '));\n{script}\n}}"
    );
    let mut instance = run_page("<view/>", &page, &options);
    for _ in 0..5 {
        instance.advance(10);
    }
    assert!(instance.errors().is_empty(), "{:?}", instance.errors());
    logs(&instance)
}

#[test]
fn a_socket_task_opens_talks_and_closes() {
    let logs = run(r#"
        const task = wx.connectSocket({ url: 'wss://live.shop.example/room/1', success: (r) => log('connect', r.errMsg) });
        log('state', task.readyState);
        task.onOpen((r) => {
          log('open', task.readyState, r.header);
          task.send({ data: 'hi', success: (s) => log('sent', s.errMsg) });
          task.send({ data: new Uint8Array([1, 2, 3]).buffer });
        });
        task.onMessage((m) => {
          log('message', typeof m.data === 'string' ? m.data : Array.from(new Uint8Array(m.data)));
          if (typeof m.data !== 'string') task.close({ code: 4000, reason: 'bye' });
        });
        task.onClose((r) => log('close', task.readyState, r));
    "#);
    insta::assert_snapshot!(logs.join("\n"), @r#"
    state 0
    open 1 {"x-url":"wss://live.shop.example/room/1"}
    connect connectSocket:ok
    sent sendSocketMessage:ok
    message echo: hi
    message [3,2,1]
    close 3 {"code":4000,"reason":"bye"}
    "#);
}

#[test]
fn the_allow_list_limit_and_legacy_api_hold() {
    let logs = run(r#"
        wx.connectSocket({ url: 'ws://live.shop.example/', fail: (r) => log('plain ws', r.errMsg) });
        wx.connectSocket({ url: 'wss://evil.example/', fail: (r) => log('other domain', r.errMsg) }).onError((r) => log('task error', r.errMsg));
        wx.onSocketOpen(() => wx.sendSocketMessage({ data: 'legacy' }));
        wx.onSocketMessage((m) => { log('legacy message', m.data); wx.closeSocket(); });
        wx.onSocketClose((r) => log('legacy close', r.code));
        const tasks = [];
        for (let i = 0; i < 5; i += 1) tasks.push(wx.connectSocket({ url: 'wss://live.shop.example/' + i }));
        wx.connectSocket({ url: 'wss://live.shop.example/6', fail: (r) => log('sixth', r.errMsg) });
    "#);
    insta::assert_snapshot!(logs.join("\n"), @r"
    plain ws connectSocket:fail url not in domain list: ws://live.shop.example/ (only wss is allowed)
    task error connectSocket:fail url not in domain list: wss://evil.example/
    other domain connectSocket:fail url not in domain list: wss://evil.example/
    sixth connectSocket:fail exceeded the maximum of 5 connected sockets
    legacy message echo: legacy
    legacy close 1000
    ");
}
