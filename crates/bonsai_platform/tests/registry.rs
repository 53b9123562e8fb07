//! The package registry: upload, review, trial, gray release, rollback and
//! distribution, through the admin API and the in-process functions, on
//! SQLite and Postgres.

mod common;

use std::future::Future;
use std::io::Write;
use std::task::Poll;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bonsai_platform::registry::{self, BlobStore, NewVersion, RegistryError, VersionState};
use bytes::Bytes;
use common::{ADMIN_TOKEN, Backend, TestPlatform};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A zip of these files.
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        zip.start_file(*name, options).expect("zip entry");
        zip.write_all(content).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

/// A small valid app; `marker` makes its bytes (and hash) its own.
fn app_zip(marker: &str) -> Vec<u8> {
    let script = format!("Page({{ data: {{ marker: '{marker}' }} }});");
    zip_of(&[
        ("app.json", br#"{ "pages": ["pages/index/index"] }"#),
        ("pages/index/index.json", b"{}"),
        ("pages/index/index.js", script.as_bytes()),
        (
            "pages/index/index.wxml",
            b"<view class=\"list\">{{marker}}</view>",
        ),
        ("pages/index/index.wxss", b".list { padding: 20rpx; }"),
    ])
}

fn sha256_hex(bytes: &[u8]) -> String {
    bonsai_platform::secrets::sha256_hex(bytes)
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

async fn upload(
    platform: &TestPlatform,
    appid: &str,
    query: &str,
    zip: Vec<u8>,
) -> (StatusCode, Value) {
    let request = Request::post(format!("/admin/apps/{appid}/versions?{query}"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-type", "application/zip")
        .body(Body::from(zip))
        .expect("request");
    platform.send(request).await
}

async fn post(platform: &TestPlatform, uri: &str, body: Value) -> (StatusCode, Value) {
    platform.admin(Method::POST, uri, Some(body)).await
}

/// A GET with the admin token whose answer is kept as bytes.
async fn get_bytes(platform: &TestPlatform, uri: &str) -> (StatusCode, Option<String>, Bytes) {
    let request = Request::get(uri)
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::empty())
        .expect("request");
    let response = bonsai_platform::build_router(platform.state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body");
    (status, content_type, bytes)
}

/// Uploads, submits and approves a version through the admin API.
async fn approved_version(platform: &TestPlatform, appid: &str, version: &str) -> Vec<u8> {
    let zip = app_zip(version);
    let (status, body) = upload(platform, appid, &format!("version={version}"), zip.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for action in ["submit", "approve"] {
        let (status, body) = post(
            platform,
            &format!("/admin/apps/{appid}/versions/{version}/{action}"),
            json!({}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    zip
}

async fn new_app(platform: &TestPlatform, appid: &str) {
    platform.create_app(json!({ "appid": appid })).await;
}

async fn resolved(platform: &TestPlatform, appid: &str, user: &str) -> Option<String> {
    registry::resolve_release(&platform.state, appid, user)
        .await
        .expect("resolve")
        .map(|r| r.version)
}

async fn upload_to_release(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxshop").await;
    let zip = app_zip("one");

    let (status, uploaded) = upload(
        &platform,
        "wxshop",
        "version=1.0.0&description=First%20cut&by=dev",
        zip.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    assert_eq!(uploaded["version"], "1.0.0");
    assert_eq!(uploaded["state"], "develop");
    assert_eq!(uploaded["description"], "First cut");
    assert_eq!(uploaded["sha256"], sha256_hex(&zip));
    assert_eq!(uploaded["size"], zip.len());
    assert_eq!(uploaded["created_by"], "dev");
    assert_eq!(uploaded["trial"], false);
    assert_eq!(uploaded["warnings"], json!([]));

    // Nothing is released yet.
    assert_eq!(resolved(&platform, "wxshop", "alice").await, None);
    let (status, body) = platform
        .admin(
            Method::GET,
            "/registry/apps/wxshop/release?user=alice",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "no_release");

    let base = "/admin/apps/wxshop/versions/1.0.0";
    let (status, trial) = post(&platform, &format!("{base}/trial"), json!({ "by": "dev" })).await;
    assert_eq!(status, StatusCode::OK, "{trial}");
    assert_eq!(trial["trial"], true);
    assert_eq!(trial["state"], "develop");
    let (status, submitted) = post(&platform, &format!("{base}/submit"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["state"], "auditing");
    // An empty body will do for the actions that only take `by`.
    let (status, approved) = platform.post_raw(&format!("{base}/approve"), "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token is needed");
    assert_eq!(error_code(&approved), "unauthorized");
    let request = Request::post(format!("{base}/approve"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::empty())
        .expect("request");
    let (status, approved) = platform.send(request).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "approved");

    platform.advance(Duration::from_secs(60));
    let (status, released) = post(
        &platform,
        "/admin/apps/wxshop/release",
        json!({ "version": "1.0.0", "by": "ops" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(
        released,
        json!({
            "release_version": "1.0.0",
            "previous_version": null,
            "gray_version": null,
            "gray_percentage": 0,
            "trial_version": "1.0.0",
        })
    );

    // Clients get it, with its bytes verified.
    let (status, release) = platform
        .admin(
            Method::GET,
            "/registry/apps/wxshop/release?user=alice",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{release}");
    let sha = sha256_hex(&zip);
    assert_eq!(
        release,
        json!({
            "version": "1.0.0",
            "sha256": sha,
            "size": zip.len(),
            "url": format!("/registry/packages/{sha}"),
        })
    );
    let (status, content_type, bytes) =
        get_bytes(&platform, &format!("/registry/packages/{sha}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/zip"));
    assert_eq!(bytes.as_ref(), zip.as_slice());
    let fetched = registry::fetch_package(&platform.state, &sha)
        .await
        .expect("fetch");
    assert_eq!(fetched.as_ref(), zip.as_slice());

    // wx.getUpdateManager.
    let check = registry::check_update(&platform.state, "wxshop", "alice", None)
        .await
        .expect("check");
    assert!(check.has_update);
    assert_eq!(check.version.as_deref(), Some("1.0.0"));
    let (status, check) = platform
        .admin(
            Method::GET,
            "/registry/apps/wxshop/update?user=alice&current_version=1.0.0",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check, json!({ "has_update": false, "version": "1.0.0" }));

    // A second release retires the first and can be rolled back.
    approved_version(&platform, "wxshop", "1.1.0").await;
    let (status, released) = post(
        &platform,
        "/admin/apps/wxshop/release",
        json!({ "version": "1.1.0", "gray_percentage": 100 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(released["release_version"], "1.1.0");
    assert_eq!(released["previous_version"], "1.0.0");
    let check = registry::check_update(&platform.state, "wxshop", "alice", Some("1.0.0"))
        .await
        .expect("check");
    assert_eq!(
        (check.has_update, check.version.as_deref()),
        (true, Some("1.1.0"))
    );

    let (status, list) = platform
        .admin(Method::GET, "/admin/apps/wxshop/versions", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let states: Vec<(&str, &str, bool)> = list["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap_or_default(),
                v["state"].as_str().unwrap_or_default(),
                v["trial"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [("1.0.0", "retired", true), ("1.1.0", "released", false)]
    );
    assert_eq!(list["release"]["release_version"], "1.1.0");

    let (status, one) = platform
        .admin(Method::GET, "/admin/apps/wxshop/versions/1.0.0", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["created_at"], common::START_MILLIS);
    assert_eq!(one["updated_at"], common::START_MILLIS + 60_000);

    // Who did what, in order.
    let (status, log) = platform
        .admin(Method::GET, "/admin/apps/wxshop/audit-log", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries: Vec<(String, String, String)> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["version"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("upload", "1.0.0", "dev"),
        ("trial", "1.0.0", "dev"),
        ("submit", "1.0.0", "admin"),
        ("approve", "1.0.0", "admin"),
        ("release", "1.0.0", "ops"),
        ("upload", "1.1.0", "admin"),
        ("submit", "1.1.0", "admin"),
        ("approve", "1.1.0", "admin"),
        ("release", "1.1.0", "admin"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, v, w)| ((*a).to_owned(), (*v).to_owned(), (*w).to_owned()))
        .collect();
    assert_eq!(entries, expected);
    let serials: Vec<i64> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["serial"].as_i64())
        .collect();
    assert_eq!(serials, (1..=9).collect::<Vec<_>>());
    assert_eq!(log["entries"][4]["at"], common::START_MILLIS + 60_000);
}

async fn reject_with_reason(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxshop").await;
    let (status, _) = upload(&platform, "wxshop", "version=2.0.0", app_zip("two")).await;
    assert_eq!(status, StatusCode::CREATED);
    let base = "/admin/apps/wxshop/versions/2.0.0";

    // Only a version under audit can be judged.
    let (status, body) = post(
        &platform,
        &format!("{base}/reject"),
        json!({ "reason": "x" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "wrong_state");
    assert_eq!(body["error"]["state"], "develop");

    post(&platform, &format!("{base}/submit"), json!({})).await;
    let (status, body) = post(&platform, &format!("{base}/reject"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "invalid_body", "a reason is required");
    let (status, body) = post(
        &platform,
        &format!("{base}/reject"),
        json!({ "reason": "  " }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "invalid_field");

    let (status, rejected) = post(
        &platform,
        &format!("{base}/reject"),
        json!({ "reason": "The privacy policy page is missing", "by": "reviewer" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(
        rejected["reject_reason"],
        "The privacy policy page is missing"
    );

    // A rejected version is not released…
    let (status, body) = post(
        &platform,
        "/admin/apps/wxshop/release",
        json!({ "version": "2.0.0" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "wrong_state");
    assert_eq!(body["error"]["state"], "rejected");

    // …but may be submitted again, which clears the reason.
    let (status, again) = post(&platform, &format!("{base}/submit"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["state"], "auditing");
    assert!(again.get("reject_reason").is_none(), "{again}");

    let log = registry::audit_log(&platform.state, "wxshop")
        .await
        .expect("log");
    let reject = log
        .iter()
        .find(|e| e.action == "reject")
        .expect("reject logged");
    assert_eq!(reject.actor, "reviewer");
    assert_eq!(
        reject.detail.as_deref(),
        Some("The privacy policy page is missing")
    );
    assert_eq!(reject.at, common::START_MILLIS);
}

async fn unapproved_versions_are_not_released(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxshop").await;
    for (version, marker) in [("1.0.0", "a"), ("1.0.1", "b")] {
        let (status, body) = upload(
            &platform,
            "wxshop",
            &format!("version={version}"),
            app_zip(marker),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let release = |version: &'static str| {
        let platform = &platform;
        async move {
            post(
                platform,
                "/admin/apps/wxshop/release",
                json!({ "version": version }),
            )
            .await
        }
    };
    let (status, body) = release("1.0.0").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["state"], "develop");

    post(
        &platform,
        "/admin/apps/wxshop/versions/1.0.0/submit",
        json!({}),
    )
    .await;
    let (status, body) = release("1.0.0").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["state"], "auditing");

    // One version under audit at a time.
    let (status, body) = post(
        &platform,
        "/admin/apps/wxshop/versions/1.0.1/submit",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "audit_in_progress");

    let (status, body) = release("9.9.9").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "version_not_found");

    post(
        &platform,
        "/admin/apps/wxshop/versions/1.0.0/approve",
        json!({}),
    )
    .await;
    let (status, body) = release("1.0.0").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = release("1.0.0").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["state"], "released");

    // Nothing was rolled back to before the first release.
    let (status, body) = post(&platform, "/admin/apps/wxshop/revertcoderelease", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "nothing_to_roll_back");
    let (status, body) = post(&platform, "/admin/apps/wxshop/revertgrayrelease", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "no_gray_release");
}

/// How many of `user0`…`user999` are in the first 30 buckets of `wxgray`
/// (SHA-256(appid ‖ 0x00 ‖ user), first 8 bytes big-endian, mod 100).
const GRAY_30_OF_1000: usize = 304;

async fn gray_release(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxgray").await;
    approved_version(&platform, "wxgray", "1.0.0").await;
    approved_version(&platform, "wxgray", "2.0.0").await;
    approved_version(&platform, "wxgray", "3.0.0").await;
    let users: Vec<String> = (0..1000).map(|i| format!("user{i}")).collect();
    let on = |version: &'static str| {
        let platform = &platform;
        let users = &users;
        async move {
            let mut on = Vec::new();
            for user in users {
                if resolved(platform, "wxgray", user).await.as_deref() == Some(version) {
                    on.push(user.clone());
                }
            }
            on
        }
    };
    let release = |version: &'static str, gray: i64| {
        let platform = &platform;
        async move {
            post(
                platform,
                "/admin/apps/wxgray/release",
                json!({ "version": version, "gray_percentage": gray }),
            )
            .await
        }
    };

    let (status, body) = release("1.0.0", 100).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = release("2.0.0", 30).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["gray_version"], "2.0.0");
    assert_eq!(body["gray_percentage"], 30);
    assert_eq!(body["release_version"], "1.0.0");

    let gray30 = on("2.0.0").await;
    let expected: Vec<String> = users
        .iter()
        .filter(|u| registry::gray_bucket("wxgray", u) < 30)
        .cloned()
        .collect();
    assert_eq!(gray30, expected);
    assert_eq!(gray30.len(), GRAY_30_OF_1000);
    assert_eq!(on("2.0.0").await, gray30, "stable across calls");
    assert_eq!(on("1.0.0").await.len(), 1000 - GRAY_30_OF_1000);
    let (_, listed) = platform
        .admin(Method::GET, "/admin/apps/wxgray/versions/2.0.0", None)
        .await;
    assert_eq!(listed["state"], "gray");
    assert_eq!(listed["gray_percentage"], 30);

    // Through HTTP too: a gray user and a user outside the bucket.
    let outside = users
        .iter()
        .find(|u| !gray30.contains(u))
        .expect("someone outside");
    for (user, version) in [(&gray30[0], "2.0.0"), (outside, "1.0.0")] {
        let (status, body) = platform
            .admin(
                Method::GET,
                &format!("/registry/apps/wxgray/release?user={user}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["version"], version, "{user}");
    }

    // The percentage only rises, and the first users stay in.
    let (status, body) = release("2.0.0", 20).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "gray_cannot_lower");
    let (status, body) = release("2.0.0", 60).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gray60 = on("2.0.0").await;
    assert!(gray30.iter().all(|u| gray60.contains(u)));
    assert!(gray60.len() > gray30.len());

    // No other release and no rollback while the gray release runs.
    let (status, body) = release("3.0.0", 100).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "gray_in_progress");
    let (status, body) = post(&platform, "/admin/apps/wxgray/revertcoderelease", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "gray_in_progress");

    // 100 % is a full release.
    let (status, body) = release("2.0.0", 100).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["release_version"], "2.0.0");
    assert_eq!(body["previous_version"], "1.0.0");
    assert_eq!(body["gray_version"], Value::Null);
    assert_eq!(on("2.0.0").await.len(), 1000);

    // Rollback (revertcoderelease): everyone back on 1.0.0, once.
    let (status, body) = post(&platform, "/admin/apps/wxgray/revertcoderelease", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["release_version"], "1.0.0");
    assert_eq!(body["previous_version"], Value::Null);
    assert_eq!(on("1.0.0").await.len(), 1000);
    let (status, body) = post(&platform, "/admin/apps/wxgray/revertcoderelease", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_code(&body), "nothing_to_roll_back");
    let list = registry::list_versions(&platform.state, "wxgray")
        .await
        .expect("list");
    let states: Vec<VersionState> = list.versions.iter().map(|v| v.state).collect();
    assert_eq!(
        states,
        [
            VersionState::Released,
            VersionState::Approved,
            VersionState::Approved
        ]
    );

    // revertgrayrelease: the gray users go back.
    let (status, body) = release("3.0.0", 30).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        on("3.0.0").await,
        gray30,
        "the same bucket for every release"
    );
    let (status, body) = post(&platform, "/admin/apps/wxgray/revertgrayrelease", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["gray_version"], Value::Null);
    assert_eq!(body["gray_percentage"], 0);
    assert_eq!(on("1.0.0").await.len(), 1000);
    let version = registry::get_version(&platform.state, "wxgray", "3.0.0")
        .await
        .expect("3.0.0");
    assert_eq!(version.state, VersionState::Approved);
    assert_eq!(version.gray_percentage, None);

    let actions: Vec<String> = registry::audit_log(&platform.state, "wxgray")
        .await
        .expect("log")
        .into_iter()
        .filter(|e| !matches!(e.action.as_str(), "upload" | "submit" | "approve"))
        .map(|e| format!("{} {}", e.action, e.detail.unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        [
            "release 100",
            "gray 30",
            "gray 60",
            "release 100",
            "rollback 2.0.0",
            "gray 30",
            "revert_gray ",
        ]
    );
}

async fn corrupted_blobs_are_refused(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxshop").await;
    let zip = approved_version(&platform, "wxshop", "1.0.0").await;
    let sha = sha256_hex(&zip);
    let key = BlobStore::key(&sha);
    let store = platform.state.store.object_store().clone();

    // Same length, one byte changed.
    let mut damaged = zip.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    store
        .put(&key, Bytes::from(damaged).into())
        .await
        .expect("overwrite");
    let err = registry::fetch_package(&platform.state, &sha)
        .await
        .expect_err("corrupt");
    assert!(
        matches!(&err, RegistryError::PackageCorrupt { sha256, .. } if *sha256 == sha),
        "{err}"
    );
    let (status, content_type, body) =
        get_bytes(&platform, &format!("/registry/packages/{sha}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error_code(&body), "package_corrupt");

    // A missing object is named too.
    store.delete(&key).await.expect("delete");
    let (status, body) = platform
        .admin(Method::GET, &format!("/registry/packages/{sha}"), None)
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error_code(&body), "package_missing");

    // Uploading the same bytes again (as another version) repairs it.
    let (status, body) = upload(&platform, "wxshop", "version=1.0.0-again", zip.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fetched = registry::fetch_package(&platform.state, &sha.to_uppercase())
        .await
        .expect("repaired");
    assert_eq!(fetched.as_ref(), zip.as_slice());

    let unknown = "0".repeat(64);
    let (status, body) = platform
        .admin(Method::GET, &format!("/registry/packages/{unknown}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "package_not_found");
    let (status, body) = platform
        .admin(Method::GET, "/registry/packages/not-a-hash", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "invalid_field");
}

async fn invalid_packages_are_refused(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxshop").await;
    let page: &[(&str, &[u8])] = &[
        ("pages/index/index.json", b"{}"),
        ("pages/index/index.js", b"Page({});"),
        ("pages/index/index.wxml", b"<view/>"),
    ];
    let with = |extra: &[(&'static str, &'static [u8])]| {
        let mut files = page.to_vec();
        files.extend_from_slice(extra);
        zip_of(&files)
    };
    let big = vec![b'a'; 2 * 1024 * 1024 + 1];
    let cases: Vec<(&str, Vec<u8>, &str, Option<&str>)> = vec![
        (
            "not a zip",
            b"hello".to_vec(),
            "input::bad-zip",
            None,
        ),
        (
            "trailing comma",
            with(&[(
                "app.json",
                b"{\n  \"pages\": [\n    \"pages/index/index\",\n  ]\n}\n",
            )]),
            "json::syntax",
            Some("app.json:4:3"),
        ),
        (
            "missing page",
            with(&[(
                "app.json",
                b"{\n  \"pages\": [\n    \"pages/index/index\",\n    \"pages/detail/detail\"\n  ]\n}\n",
            )]),
            "package::missing-page",
            Some("app.json:4:5"),
        ),
        (
            "zip slip",
            zip_of(&[("../evil.js", b"x")]),
            "input::zip-slip",
            None,
        ),
        (
            "main package over 2 MB",
            {
                let mut files = page.to_vec();
                files.push(("app.json", br#"{ "pages": ["pages/index/index"] }"#));
                files.push(("big.js", &big));
                zip_of(&files)
            },
            "package::size-limit",
            None,
        ),
    ];
    for (name, zip, code, location) in cases {
        let (status, body) = upload(&platform, "wxshop", "version=1.0.0", zip).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {body}");
        assert_eq!(error_code(&body), "invalid_package", "{name}");
        let first = &body["error"]["diagnostics"][0];
        assert_eq!(first["code"], code, "{name}: {body}");
        assert_eq!(first["severity"], "error", "{name}");
        if let Some(location) = location {
            assert_eq!(first["location"], location, "{name}: {body}");
            let (file, rest) = location.split_once(':').expect("file:line:col");
            let (line, column) = rest.split_once(':').expect("line:col");
            assert_eq!(first["file"], file);
            assert_eq!(first["line"].to_string(), line);
            assert_eq!(first["column"].to_string(), column);
        }
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(code)),
            "{name}: {body}"
        );
    }
    // Over the upload limit: refused before anything is read.
    let (status, body) = upload(
        &platform,
        "wxshop",
        "version=1.0.0",
        vec![0; registry::MAX_PACKAGE_BYTES + 1],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "package_too_large");
    let err = registry::upload_version(
        &platform.state,
        "wxshop",
        NewVersion {
            version: "1.0.0".to_owned(),
            ..NewVersion::default()
        },
        Bytes::from(vec![0; registry::MAX_PACKAGE_BYTES + 1]),
    )
    .await
    .expect_err("too large");
    assert!(
        matches!(err, RegistryError::PackageTooLarge { .. }),
        "{err}"
    );

    // None of them left a version or a log entry.
    let list = registry::list_versions(&platform.state, "wxshop")
        .await
        .expect("list");
    assert!(list.versions.is_empty(), "{:?}", list.versions);
    assert!(
        registry::audit_log(&platform.state, "wxshop")
            .await
            .expect("log")
            .is_empty()
    );

    // Warnings don't refuse a package; they come back with the version.
    let (status, body) = upload(
        &platform,
        "wxshop",
        "version=1.0.0",
        with(&[(
            "app.json",
            br#"{ "pages": ["pages/index/index"], "usingComponents": { "x": "plugin://p/x" } }"#,
        )]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().all(|d| d["severity"] == "warning")),
        "{body}"
    );
}

/// Polls a future `polls` times, then drops it: a crash of the request at
/// that point. Between polls the future's I/O moves on: a yield is enough
/// for SQLite (its worker thread answers in microseconds); a Postgres round
/// trip needs a little sleep, or each poll would find nothing new.
async fn poll_then_drop<F: Future>(backend: Backend, future: F, polls: usize) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    for poll in 0..polls {
        let polled = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
        if let Poll::Ready(output) = polled {
            return Some(output);
        }
        // SQLite answers from a worker thread within microseconds: yield
        // to drop at each step, then wait in earnest so a loaded machine
        // still lets the upload finish within the test's budget of polls.
        match backend {
            Backend::Sqlite if poll < 100 => tokio::task::yield_now().await,
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    None
}

async fn crash_between_blob_and_row(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxshop").await;
    let state = &platform.state;
    let zip = Bytes::from(app_zip("crash"));
    let sha = sha256_hex(&zip);
    let new = |version: &str| NewVersion {
        version: version.to_owned(),
        description: String::new(),
        by: None,
    };

    // The blob is written, then the process "dies" before the row.
    let staged = registry::stage_package(state, "wxshop", new("1.0.0"), zip.clone())
        .await
        .expect("staged");
    assert_eq!(staged.sha256(), sha);
    drop(staged);
    assert!(
        state
            .store
            .object_store()
            .head(&BlobStore::key(&sha))
            .await
            .is_ok(),
        "the blob is there"
    );
    let list = registry::list_versions(state, "wxshop")
        .await
        .expect("list");
    assert!(list.versions.is_empty(), "no half version");
    // The orphan blob is not served.
    assert!(matches!(
        registry::fetch_package(state, &sha).await,
        Err(RegistryError::PackageNotFound(_))
    ));

    // The insert fails (the version was taken meanwhile): still one version.
    let first = registry::stage_package(state, "wxshop", new("1.0.0"), zip.clone())
        .await
        .expect("staged");
    let second = registry::stage_package(state, "wxshop", new("1.0.0"), zip.clone())
        .await
        .expect("staged");
    registry::commit_version(state, first)
        .await
        .expect("committed");
    let err = registry::commit_version(state, second)
        .await
        .expect_err("taken");
    assert!(matches!(err, RegistryError::VersionExists { .. }), "{err}");
    let list = registry::list_versions(state, "wxshop")
        .await
        .expect("list");
    assert_eq!(list.versions.len(), 1);
    assert_eq!(
        registry::fetch_package(state, &sha)
            .await
            .expect("fetch")
            .as_ref(),
        zip.as_ref()
    );

    // Dropped at every await point in turn: a version is there whole or not
    // at all, and a later upload of it works.
    let mut completed_at = None;
    for polls in 0..500 {
        let version = format!("2.0.{polls}");
        let zip = Bytes::from(app_zip(&version));
        let done = poll_then_drop(
            backend,
            registry::upload_version(state, "wxshop", new(&version), zip.clone()),
            polls,
        )
        .await;
        match registry::get_version(state, "wxshop", &version).await {
            Ok(found) => {
                assert_eq!(found.sha256, sha256_hex(&zip));
                let fetched = registry::fetch_package(state, &found.sha256)
                    .await
                    .expect("a whole version");
                assert_eq!(fetched.as_ref(), zip.as_ref());
            }
            Err(RegistryError::VersionNotFound { .. }) => {
                assert!(done.is_none(), "{version} finished but has no row");
                match registry::upload_version(state, "wxshop", new(&version), zip.clone()).await {
                    Ok(_) => {}
                    // sqlx runs SQLite statements on a worker thread, so a
                    // dropped upload's commit can still land after the
                    // look above; then the version is there, and whole.
                    Err(RegistryError::VersionExists { .. }) => {
                        let found = registry::get_version(state, "wxshop", &version)
                            .await
                            .expect("the version that exists");
                        let fetched = registry::fetch_package(state, &found.sha256)
                            .await
                            .expect("a whole version");
                        assert_eq!(fetched.as_ref(), zip.as_ref());
                    }
                    Err(err) => panic!("re-upload of {version}: {err}"),
                }
            }
            Err(err) => panic!("{err}"),
        }
        if done.is_some() {
            completed_at = Some(polls);
            break;
        }
    }
    assert!(completed_at.is_some(), "the upload never completed");
    let log = registry::audit_log(state, "wxshop").await.expect("log");
    let list = registry::list_versions(state, "wxshop")
        .await
        .expect("list");
    assert_eq!(
        log.iter().filter(|e| e.action == "upload").count(),
        list.versions.len(),
        "one upload entry per version"
    );
}

/// A release dropped at every await point in turn (a crash of the server
/// mid-request) leaves the old release or the new one, never a mix: one
/// released version, the status pointing at it, and a log entry per
/// release that took.
async fn a_release_dropped_anywhere_takes_whole_or_not_at_all(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    let state = &platform.state;
    new_app(&platform, "wxshop").await;
    approved_version(&platform, "wxshop", "1.0.0").await;
    registry::release(state, "wxshop", "1.0.0", 100, None)
        .await
        .expect("the first release");
    let mut completed_at = None;
    for polls in 0..500 {
        let version = format!("2.0.{polls}");
        approved_version(&platform, "wxshop", &version).await;
        let done = poll_then_drop(
            backend,
            registry::release(state, "wxshop", &version, 100, None),
            polls,
        )
        .await;
        // A commit already sent when the request was dropped may still
        // land; look once it has.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let list = registry::list_versions(state, "wxshop")
            .await
            .expect("list");
        let released: Vec<&str> = list
            .versions
            .iter()
            .filter(|v| v.state == VersionState::Released)
            .map(|v| v.version.as_str())
            .collect();
        assert_eq!(released.len(), 1, "after {polls} polls: {released:?}");
        assert_eq!(list.release.release_version.as_deref(), Some(released[0]));
        let ever_released = list
            .versions
            .iter()
            .filter(|v| matches!(v.state, VersionState::Released | VersionState::Retired))
            .count();
        let log = registry::audit_log(state, "wxshop").await.expect("log");
        assert_eq!(
            log.iter().filter(|e| e.action == "release").count(),
            ever_released,
            "after {polls} polls: one log entry per release that took"
        );
        if done.is_some() {
            assert_eq!(released[0], version);
            completed_at = Some(polls);
            break;
        }
    }
    let completed_at = completed_at.expect("the release never completed");
    assert!(
        completed_at > 0,
        "no release was dropped before it completed"
    );
}

async fn concurrent_admins_release_once(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    let other = platform.second_instance().await;
    new_app(&platform, "wxshop").await;
    approved_version(&platform, "wxshop", "1.0.0").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let state = if i % 2 == 0 {
            platform.state.clone()
        } else {
            other.state.clone()
        };
        tasks.push(tokio::spawn(async move {
            registry::release(&state, "wxshop", "1.0.0", 100, Some(&format!("admin{i}"))).await
        }));
    }
    let mut released = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => released += 1,
            Err(RegistryError::WrongState { state, .. }) => {
                assert_eq!(state, VersionState::Released);
            }
            Err(err) => panic!("{err}"),
        }
    }
    assert_eq!(released, 1);
    let releases = registry::audit_log(&platform.state, "wxshop")
        .await
        .expect("log")
        .into_iter()
        .filter(|e| e.action == "release")
        .count();
    assert_eq!(releases, 1);
}

async fn bad_requests_get_json_errors(backend: Backend) {
    let platform = TestPlatform::start(backend).await;
    new_app(&platform, "wxshop").await;
    approved_version(&platform, "wxshop", "1.0.0").await;
    let zip = app_zip("x");

    let mut seen = Vec::new();
    let mut expect =
        |what: &str, (status, body): (StatusCode, Value), want: StatusCode, code: &str| {
            assert_eq!(status, want, "{what}: {body}");
            assert_eq!(error_code(&body), code, "{what}");
            assert!(body["error"]["message"].is_string(), "{what}");
            seen.push(status);
        };

    expect(
        "no token",
        platform
            .post_raw("/admin/apps/wxshop/versions?version=1.0.1", zip.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    expect(
        "client API without token",
        platform.get("/registry/apps/wxshop/release?user=a").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    expect(
        "no version",
        upload(&platform, "wxshop", "description=x", zip.clone()).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    expect(
        "unknown query field",
        upload(&platform, "wxshop", "version=1.0.1&colour=red", zip.clone()).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    expect(
        "bad version",
        upload(&platform, "wxshop", "version=1%200", zip.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    expect(
        "taken version",
        upload(&platform, "wxshop", "version=1.0.0", zip.clone()).await,
        StatusCode::CONFLICT,
        "version_exists",
    );
    expect(
        "unknown app",
        upload(&platform, "wxnobody", "version=1.0.0", zip.clone()).await,
        StatusCode::NOT_FOUND,
        "app_not_found",
    );
    expect(
        "unknown app's versions",
        platform
            .admin(Method::GET, "/admin/apps/wxnobody/versions", None)
            .await,
        StatusCode::NOT_FOUND,
        "app_not_found",
    );
    expect(
        "unknown version",
        platform
            .admin(Method::GET, "/admin/apps/wxshop/versions/0.0.0", None)
            .await,
        StatusCode::NOT_FOUND,
        "version_not_found",
    );
    let raw = |uri: &str, body: &'static str| {
        Request::post(uri)
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .body(Body::from(body))
            .expect("request")
    };
    expect(
        "release body not JSON",
        platform
            .send(raw("/admin/apps/wxshop/release", "{version"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    );
    expect(
        "release without body",
        platform.send(raw("/admin/apps/wxshop/release", "")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    for gray in [json!(0), json!(101), json!(-5)] {
        expect(
            "gray out of range",
            post(
                &platform,
                "/admin/apps/wxshop/release",
                json!({ "version": "1.0.0", "gray_percentage": gray }),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
    }
    expect(
        "gray not a number",
        post(
            &platform,
            "/admin/apps/wxshop/release",
            json!({ "version": "1.0.0", "gray_percentage": "half" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    expect(
        "unknown field",
        post(
            &platform,
            "/admin/apps/wxshop/release",
            json!({ "version": "1.0.0", "percent": 5 }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    expect(
        "actor too long",
        post(
            &platform,
            "/admin/apps/wxshop/versions/1.0.0/trial",
            json!({ "by": "x".repeat(65) }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    expect(
        "release for nobody",
        platform
            .admin(Method::GET, "/registry/apps/wxshop/release", None)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    expect(
        "release of an unknown app",
        platform
            .admin(Method::GET, "/registry/apps/wxnobody/release?user=a", None)
            .await,
        StatusCode::NOT_FOUND,
        "app_not_found",
    );
    expect(
        "nothing released",
        platform
            .admin(Method::GET, "/registry/apps/wxshop/release?user=a", None)
            .await,
        StatusCode::NOT_FOUND,
        "no_release",
    );
    expect(
        "unknown registry path",
        platform
            .admin(Method::GET, "/registry/nothing/here", None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect(
        "wrong method",
        platform
            .admin(Method::DELETE, "/admin/apps/wxshop/versions", None)
            .await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    expect(
        "wrong method on the client API",
        platform
            .admin(Method::POST, "/registry/apps/wxshop/release?user=a", None)
            .await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert!(seen.iter().all(|s| s.is_client_error()), "{seen:?}");
}

on_both_databases!(
    upload_to_release,
    reject_with_reason,
    unapproved_versions_are_not_released,
    gray_release,
    corrupted_blobs_are_refused,
    invalid_packages_are_refused,
    crash_between_blob_and_row,
    a_release_dropped_anywhere_takes_whole_or_not_at_all,
    concurrent_admins_release_once,
    bad_requests_get_json_errors,
);
