//! `serve` on a real socket: a plain HTTP client logs a user in, then the
//! server shuts down gracefully when told to.

mod common;

use std::sync::Arc;

use bonsai_platform::{AppState, PlatformConfig, SystemClock, identity};
use common::{ADMIN_TOKEN, Backend, TestDatabase};
use serde_json::Value;

fn get_json(url: &str) -> Value {
    let mut response = ureq::get(url)
        .call()
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    let text = response.body_mut().read_to_string().expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

fn over_a_real_socket(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Set up through the in-process API (what a host embedding the
    // platform calls), on the wall clock the served instance uses too.
    let (database, url, appid, secret, code) = runtime.block_on(async {
        let (database, url) = TestDatabase::create(backend).await;
        let state = AppState::connect(
            PlatformConfig::new(url.clone(), ADMIN_TOKEN),
            Arc::new(SystemClock),
        )
        .await
        .expect("platform");
        let app = identity::create_app(&state, identity::NewApp::default())
            .await
            .expect("app");
        let user = identity::create_user(&state, identity::NewUser::default())
            .await
            .expect("user");
        let code = identity::issue_login_code(&state, &app.app.appid, &user.id)
            .await
            .expect("code");
        state.db.close().await;
        (database, url, app.app.appid, app.secret, code.code)
    });

    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(async move {
        let state = AppState::connect(PlatformConfig::new(url, ADMIN_TOKEN), Arc::new(SystemClock))
            .await
            .expect("platform");
        bonsai_platform::serve(listener, state, async {
            stopped.await.ok();
        })
        .await
    });

    let base = format!("http://{address}");
    // The server may still be connecting to its database: wait for health.
    let mut healthy = false;
    for _ in 0..100 {
        if let Ok(mut response) = ureq::get(&format!("{base}/healthz")).call() {
            healthy = response
                .body_mut()
                .read_to_string()
                .is_ok_and(|t| t.contains("ok"));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(healthy, "server never became healthy");
    let session = get_json(&format!(
        "{base}/sns/jscode2session?appid={appid}&secret={secret}&js_code={code}&grant_type=authorization_code"
    ));
    assert_eq!(
        session["openid"].as_str().map(str::len),
        Some(28),
        "{session}"
    );
    let token = get_json(&format!(
        "{base}/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={secret}"
    ));
    assert_eq!(token["expires_in"], 7200, "{token}");

    stop.send(()).expect("server still running");
    runtime
        .block_on(server)
        .expect("server task")
        .expect("graceful shutdown");
    assert!(
        ureq::get(&format!("{base}/healthz")).call().is_err(),
        "stopped serving"
    );
    drop(database);
}

#[test]
fn over_a_real_socket_sqlite() {
    over_a_real_socket(Backend::Sqlite);
}

#[test]
fn over_a_real_socket_postgres() {
    over_a_real_socket(Backend::Postgres);
}
