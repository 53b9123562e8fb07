//! The test harness: a platform on a fresh database (a temporary SQLite
//! file, or a schema of its own in the test Postgres), a virtual clock, and
//! requests sent through the real router.
//!
//! Postgres is not optional: the tests fail, with the reason, when it cannot
//! be reached. `BONSAI_TEST_POSTGRES_URL` names it (default
//! postgres://postgres@127.0.0.1:5432/test); scripts/test starts it.

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bonsai_platform::{AppState, PlatformConfig, VirtualClock};
use serde_json::{Value, json};
use sqlx::Connection;
use tower::ServiceExt;

pub const ADMIN_TOKEN: &str = "test-admin-token";
/// 2023-11-14T22:13:20Z: any fixed time will do.
pub const START_MILLIS: i64 = 1_700_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` as two tests, `<name>::sqlite` and
/// `<name>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}

pub fn postgres_url() -> String {
    std::env::var("BONSAI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Keeps the test database alive and removes it afterwards, also when the
/// test panicked.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { schema: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { schema } = self {
            let schema = schema.clone();
            // Drop runs outside any async context we could rely on (maybe
            // during a panic): use a thread with a runtime of its own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let mut conn = sqlx::AnyConnection::connect(&postgres_url())
                        .await
                        .map_err(|e| e.to_string())?;
                    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .execute(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    conn.close().await.map_err(|e| e.to_string())
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("warning: could not drop test schema: {dropped:?}");
            }
        }
    }
}

impl TestDatabase {
    /// A new empty database and the URL to reach it.
    pub async fn create(backend: Backend) -> (TestDatabase, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = bonsai_platform::sqlite_url(&dir.path().join("platform.db"));
                (TestDatabase::Sqlite(dir), url)
            }
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let base = postgres_url();
                let mut conn = sqlx::AnyConnection::connect(&base)
                    .await
                    .unwrap_or_else(|err| {
                        panic!(
                            "Postgres at {base} is unreachable: {err}\n\
                         The platform's tests run on Postgres as well as SQLite. Start it \
                         (scripts/test does: `pg_ctlcluster <version> main start`) or set \
                         BONSAI_TEST_POSTGRES_URL to one with trust auth."
                        )
                    });
                let suffix = bonsai_platform::secrets::random_hex(6).expect("randomness");
                let schema = format!("t_{suffix}");
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test schema");
                conn.close().await.ok();
                let separator = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
                (TestDatabase::Postgres { schema }, url)
            }
        }
    }
}

pub struct TestPlatform {
    pub state: AppState,
    pub clock: Arc<VirtualClock>,
    pub backend: Backend,
    pub url: String,
    router: Router,
    // Last: dropped after the pool above is done with it.
    _database: Option<Arc<TestDatabase>>,
}

impl TestPlatform {
    pub async fn start(backend: Backend) -> TestPlatform {
        let (database, url) = TestDatabase::create(backend).await;
        let clock = Arc::new(VirtualClock::new(START_MILLIS));
        TestPlatform::on(backend, url, clock, Some(Arc::new(database))).await
    }

    /// A platform on a database the caller keeps (and removes).
    pub async fn start_on(backend: Backend, url: String) -> TestPlatform {
        let clock = Arc::new(VirtualClock::new(START_MILLIS));
        TestPlatform::on(backend, url, clock, None).await
    }

    /// Another instance on the same database and clock, as behind a load balancer.
    pub async fn second_instance(&self) -> TestPlatform {
        TestPlatform::on(
            self.backend,
            self.url.clone(),
            self.clock.clone(),
            self._database.clone(),
        )
        .await
    }

    async fn on(
        backend: Backend,
        url: String,
        clock: Arc<VirtualClock>,
        database: Option<Arc<TestDatabase>>,
    ) -> TestPlatform {
        let mut config = PlatformConfig::new(url.clone(), ADMIN_TOKEN);
        config.max_connections = 4;
        let state = AppState::connect(config, clock.clone())
            .await
            .unwrap_or_else(|err| panic!("platform on {backend:?} failed to start: {err}"));
        let router = bonsai_platform::build_router(state.clone());
        TestPlatform {
            state,
            clock,
            backend,
            url,
            router,
            _database: database,
        }
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, value)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.send(Request::get(uri).body(Body::empty()).expect("request"))
            .await
    }

    /// A POST with a JSON body and no Content-Type, as many SDKs send it.
    pub async fn post(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.post_raw(uri, body.to_string()).await
    }

    pub async fn post_raw(&self, uri: &str, body: impl Into<Body>) -> (StatusCode, Value) {
        self.send(Request::post(uri).body(body.into()).expect("request"))
            .await
    }

    pub async fn admin(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"));
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("request")).await
    }

    /// Creates an app; returns (appid, secret).
    pub async fn create_app(&self, body: Value) -> (String, String) {
        let (status, app) = self.admin(Method::POST, "/admin/apps", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{app}");
        (
            app["appid"].as_str().expect("appid").to_owned(),
            app["secret"].as_str().expect("secret").to_owned(),
        )
    }

    pub async fn create_user(&self, body: Value) -> String {
        let (status, user) = self.admin(Method::POST, "/admin/users", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user["id"].as_str().expect("id").to_owned()
    }

    /// `wx.login` for `user` in `appid`.
    pub async fn login_code(&self, appid: &str, user: &str) -> String {
        let (status, issued) = self
            .admin(
                Method::POST,
                &format!("/admin/apps/{appid}/login-codes"),
                Some(json!({ "user": user })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        issued["code"].as_str().expect("code").to_owned()
    }

    pub async fn jscode2session(&self, appid: &str, secret: &str, code: &str) -> Value {
        let (status, body) = self
            .get(&format!(
                "/sns/jscode2session?appid={appid}&secret={secret}&js_code={code}&grant_type=authorization_code"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        body
    }

    pub async fn access_token(&self, appid: &str, secret: &str) -> String {
        let (status, body) = self
            .get(&format!(
                "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={secret}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {body}"))
            .to_owned()
    }
}

/// The errcode of a WeChat answer (0 when absent, as on success).
pub fn errcode(body: &Value) -> i64 {
    body.get("errcode").and_then(Value::as_i64).unwrap_or(0)
}
