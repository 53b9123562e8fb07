//! `bonsai run` as a user runs it, on our example shop: the README's main job.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop")
}

fn bonsai_run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .arg("run")
        .arg(shop())
        .arg("--no-persist")
        .args(args)
        .output()
        .expect("bonsai runs")
}

#[test]
fn the_shop_home_page_renders() {
    let out = bonsai_run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("pages/index/index\n"), "{stdout}");
    assert!(
        stdout.contains("<text class=\"card__title\">Juniper Bonsai</text>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("¥128.00"),
        "WXS price formatting ran: {stdout}"
    );
    assert!(
        stderr.contains("[console.log] [app] launched from scene 1001"),
        "{stderr}"
    );
}

#[test]
fn taps_navigate_and_update_the_cart() {
    let out = bonsai_run(&[
        "--page",
        "pages/detail/detail?id=p002",
        "--tap",
        ".btn--primary",
        "--tap",
        ".actions__btn",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["ok"], true);
    assert_eq!(report["page_stack"], serde_json::json!(["pages/cart/cart"]));
    let tree = report["tree"].as_str().unwrap_or_default();
    assert!(tree.contains("Chinese Elm"), "{tree}");
    assert!(tree.contains("¥89.50"), "{tree}");
}

#[test]
fn an_unmatched_tap_is_an_error() {
    let out = bonsai_run(&["--tap", "#nothing-has-this-id"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no node matches `#nothing-has-this-id`")
    );
}

#[test]
fn a_page_that_throws_exits_1_and_names_its_line() {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/run/throws");
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["run", "--no-persist"])
        .arg(app)
        .output()
        .expect("bonsai runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("uncaught error: Error: boom in onLoad (in pages/index/index onLoad)"),
        "{stderr}"
    );
    assert!(stderr.contains("(pages/index/index.js:3:"), "{stderr}");
}

/// Runs `tests/fixtures/run/<fixture>` on its index page, telling it the
/// local server's port, and returns the printed tree; the run must succeed.
fn run_against_port(fixture: &str, port: u16) -> String {
    let app = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/run")
        .join(fixture);
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["run", "--no-persist", "--page"])
        .arg(format!("pages/index/index?port={port}"))
        .arg(app)
        .output()
        .expect("bonsai runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn requests_reach_a_real_server_when_url_check_is_off() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().expect("its address").port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the app connects");
        let mut request = [0u8; 2048];
        let read = stream.read(&mut request).expect("a request");
        let body = r#"{"items":["alpha","beta"]}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(response.as_bytes())
            .expect("the response is sent");
        String::from_utf8_lossy(&request[..read]).into_owned()
    });
    let stdout = run_against_port("network", port);
    assert!(
        stdout.contains("<view id=\"status\">HTTP 200</view>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("<view class=\"item\">beta</view>"),
        "{stdout}"
    );
    let request = server.join().expect("the server finishes");
    assert!(
        request.starts_with("GET /items?page=1 HTTP/1.1"),
        "{request}"
    );
}

#[test]
#[expect(
    clippy::result_large_err,
    reason = "tungstenite's handshake callback returns its own large error type"
)]
fn a_socket_talks_to_a_real_websocket_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().expect("its address").port();
    // An echo server that records what the app asked for and said.
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the app connects");
        let mut protocol = String::new();
        let callback =
            |request: &tungstenite::handshake::server::Request,
             mut response: tungstenite::handshake::server::Response| {
                if let Some(p) = request.headers().get("Sec-WebSocket-Protocol") {
                    protocol = p.to_str().unwrap_or_default().to_owned();
                    response
                        .headers_mut()
                        .insert("Sec-WebSocket-Protocol", p.clone());
                }
                Ok(response)
            };
        let mut socket = tungstenite::accept_hdr(stream, callback).expect("a handshake");
        let said = socket.read().expect("a message").to_string();
        socket
            .send(tungstenite::Message::text(format!("echo: {said}")))
            .expect("the echo is sent");
        // Read until the app closes; reading on answers its close frame.
        let mut close = None;
        loop {
            match socket.read() {
                Ok(tungstenite::Message::Close(frame)) => {
                    close = frame.map(|f| f.reason.to_string());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        (protocol, said, close)
    });
    let stdout = run_against_port("socket", port);
    assert!(
        stdout.contains("<view id=\"echo\">echo: hello bonsai</view>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("<view id=\"status\">closed 1000</view>"),
        "{stdout}"
    );
    let (protocol, said, close) = server.join().expect("the server finishes");
    assert_eq!(protocol, "chat");
    assert_eq!(said, "hello bonsai");
    assert_eq!(close.as_deref(), Some("done"));
}
