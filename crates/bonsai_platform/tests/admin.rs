//! The admin API and the HTTP edges: every bad request gets a JSON error
//! with a stable code and a 4xx status, never a 500 or an empty body.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{ADMIN_TOKEN, Backend, TestPlatform, errcode};
use serde_json::{Value, json};

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

async fn raw(
    platform: &TestPlatform,
    method: Method,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    platform
        .send(request.body(Body::from(body.to_owned())).expect("request"))
        .await
}

async fn apps_and_users(backend: Backend) {
    let platform = TestPlatform::start(backend).await;

    // Given ids and secrets are kept; generated ones look like WeChat's.
    let (status, app) = platform
        .admin(
            Method::POST,
            "/admin/apps",
            Some(json!({ "appid": "wxdemo", "secret": "0123456789abcdef0123456789abcdef", "name": "Demo", "developer": "acme" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    assert_eq!(
        app,
        json!({
            "appid": "wxdemo",
            "name": "Demo",
            "developer": "acme",
            "created_at": common::START_MILLIS,
            "secret": "0123456789abcdef0123456789abcdef",
        })
    );
    let (appid, secret) = platform.create_app(json!({})).await;
    assert!(appid.starts_with("wx") && appid.len() == 18, "{appid}");
    assert!(
        secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );

    // Reading an app back never shows its secret.
    let (status, read) = platform
        .admin(Method::GET, "/admin/apps/wxdemo", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("secret").is_none(), "{read}");
    assert_eq!(read["name"], "Demo");

    let (status, user) = platform
        .admin(
            Method::POST,
            "/admin/users",
            Some(json!({ "id": "alice", "nickname": "Alice", "gender": 2, "phone": { "number": "13800138000" } })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(
        user,
        json!({
            "id": "alice",
            "nickname": "Alice",
            "avatar_url": "",
            "gender": 2,
            "phone": { "country_code": "86", "number": "13800138000" },
            "high_risk": false,
            "created_at": common::START_MILLIS,
        })
    );
    let (status, patched) = platform
        .admin(
            Method::PATCH,
            "/admin/users/alice",
            Some(json!({ "nickname": "Al", "high_risk": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["nickname"], "Al");
    assert_eq!(patched["high_risk"], true);
    assert_eq!(patched["gender"], 2, "untouched fields stay");
    let (_, read) = platform
        .admin(Method::GET, "/admin/users/alice", None)
        .await;
    assert_eq!(read, patched);

    // A login code names the openid it logs in as.
    let (status, issued) = platform
        .admin(
            Method::POST,
            "/admin/apps/wxdemo/login-codes",
            Some(json!({ "user": "alice" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["expires_in"], 300);
    assert_eq!(issued["code"].as_str().map(str::len), Some(32));
    assert_eq!(issued["openid"].as_str().map(str::len), Some(28));
}

#[derive(Debug, Clone, Copy)]
enum Auth {
    Missing,
    Wrong,
    Admin,
}

async fn bad_requests_get_json_errors(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    platform.create_app(json!({ "appid": "wxdemo" })).await;
    platform.create_user(json!({ "id": "alice" })).await;

    // (credentials, "METHOD path", JSON body, status, error code)
    #[rustfmt::skip]
    let cases = [
        (Auth::Missing, "POST /admin/apps", "{}", 401, "unauthorized"),
        (Auth::Wrong, "POST /admin/apps", "{}", 401, "unauthorized"),
        (Auth::Wrong, "GET /admin/apps/wxdemo", "", 401, "unauthorized"),
        (Auth::Admin, "POST /admin/apps", r#"{"appid": "#, 400, "invalid_json"),
        (Auth::Admin, "POST /admin/apps", r#"{"appid": 7}"#, 422, "invalid_body"),
        (Auth::Admin, "POST /admin/apps", r#"{"appId": "wx1"}"#, 422, "invalid_body"),
        (Auth::Admin, "POST /admin/apps", r#"{"appid": "wx demo"}"#, 422, "invalid_field"),
        (Auth::Admin, "POST /admin/apps", r#"{"secret": "short"}"#, 422, "invalid_field"),
        (Auth::Admin, "POST /admin/apps", r#"{"appid": "wxdemo"}"#, 409, "app_exists"),
        (Auth::Admin, "POST /admin/users", r#"{"id": "alice"}"#, 409, "user_exists"),
        (Auth::Admin, "POST /admin/users", r#"{"gender": 5}"#, 422, "invalid_field"),
        (Auth::Admin, "POST /admin/users", r#"{"phone": {"number": "1a"}}"#, 422, "invalid_field"),
        (Auth::Admin, "GET /admin/apps/wxnope", "", 404, "app_not_found"),
        (Auth::Admin, "GET /admin/users/nobody", "", 404, "user_not_found"),
        (Auth::Admin, "PATCH /admin/users/nobody", "{}", 404, "user_not_found"),
        (Auth::Admin, "POST /admin/apps/wxdemo/login-codes", r#"{"user": "bob"}"#, 404, "user_not_found"),
        (Auth::Admin, "POST /admin/apps/wxnope/login-codes", r#"{"user": "alice"}"#, 404, "app_not_found"),
        (Auth::Admin, "POST /admin/apps/wxdemo/login-codes", "{}", 422, "invalid_body"),
        (Auth::Admin, "GET /admin/nothing-here", "", 404, "not_found"),
        (Auth::Admin, "DELETE /admin/apps", "", 405, "method_not_allowed"),
    ];
    for (auth, request, body, status, code) in cases {
        let (method, uri) = request.split_once(' ').expect("METHOD path");
        let method: Method = method.parse().expect("method");
        let token = match auth {
            Auth::Missing => None,
            Auth::Wrong => Some("wrong"),
            Auth::Admin => Some(ADMIN_TOKEN),
        };
        let content_type = (!body.is_empty()).then_some("application/json");
        let (got_status, got) = raw(&platform, method, uri, token, content_type, body).await;
        assert_eq!(
            (got_status.as_u16(), error_code(&got)),
            (status, code),
            "{request} {body}: {got}"
        );
        assert!(
            !got["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{got}"
        );
    }

    // A JSON body must say it is JSON.
    let (status, got) = raw(
        &platform,
        Method::POST,
        "/admin/apps",
        Some(ADMIN_TOKEN),
        None,
        "{}",
    )
    .await;
    assert_eq!(
        (status, error_code(&got)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
}

async fn vendor_edges_answer_like_wechat(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    let (status, body) = platform.get("/cgi-bin/no_such_api?access_token=x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(errcode(&body), 48001, "{body}");
    let (status, body) = platform.post("/sns/jscode2session", &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(errcode(&body), 43001, "{body}");

    let (status, body) = platform.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ok" }));
}

on_both_databases!(
    apps_and_users,
    bad_requests_get_json_errors,
    vendor_edges_answer_like_wechat
);

#[tokio::test]
async fn unusable_database_urls_are_errors_not_panics() {
    let clock = std::sync::Arc::new(bonsai_platform::SystemClock);
    for url in [
        "mysql://localhost/x",
        "sqlite:///nonexistent-dir/sub/platform.db?mode=rw",
    ] {
        let config = bonsai_platform::PlatformConfig::new(url, ADMIN_TOKEN);
        let result = bonsai_platform::AppState::connect(config, clock.clone()).await;
        assert!(result.is_err(), "{url} should fail");
    }
}
