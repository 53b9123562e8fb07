//! WeChat identity APIs through the real router, each on SQLite and on
//! Postgres: jscode2session, access tokens, checksession, phone numbers and
//! open data.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use bonsai_platform::{identity, open_data, secrets};
use common::{Backend, TestPlatform, errcode};
use serde_json::{Value, json};

const MINUTE: Duration = Duration::from_secs(60);

/// An app of developer `dev1`, a user, and a code: (platform, appid, secret, user).
async fn setup(backend: Backend) -> (TestPlatform, String, String, String) {
    let platform = TestPlatform::start(backend).await;
    let (appid, secret) = platform
        .create_app(json!({ "name": "Shop", "developer": "dev1" }))
        .await;
    let user = platform
        .create_user(
            json!({ "id": "alice", "nickname": "Alice", "phone": { "number": "13800138000" } }),
        )
        .await;
    (platform, appid, secret, user)
}

fn assert_errcode(body: &Value, expected: i64, message: &str) {
    assert_eq!(errcode(body), expected, "{body}");
    let errmsg = body["errmsg"].as_str().unwrap_or_default();
    assert!(
        errmsg.starts_with(&format!("{message}, rid: ")),
        "errmsg {errmsg:?} should be {message:?} and a rid"
    );
}

/// The documented exchange: `GET /sns/jscode2session?appid&secret&js_code&grant_type`
/// answers `{openid, session_key, unionid}` with no errcode.
async fn jscode2session_documented_sample(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let code = platform.login_code(&appid, &user).await;
    let body = platform.jscode2session(&appid, &secret, &code).await;

    let object = body.as_object().expect("object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["openid", "session_key", "unionid"], "{body}");
    let openid = body["openid"].as_str().expect("openid");
    assert_eq!(openid.len(), 28);
    assert!(openid.starts_with('o'));
    assert_eq!(openid, identity::openid_of(&platform.state, &appid, &user));
    let key = base64::engine::general_purpose::STANDARD
        .decode(body["session_key"].as_str().expect("session_key"))
        .expect("base64 session key");
    assert_eq!(key.len(), 16);

    // The same user logs in again: same openid, a new session key.
    let again = platform
        .jscode2session(&appid, &secret, &platform.login_code(&appid, &user).await)
        .await;
    assert_eq!(again["openid"], body["openid"]);
    assert_ne!(again["session_key"], body["session_key"]);

    // Another app of the same developer: another openid, the same unionid.
    let (sibling, sibling_secret) = platform.create_app(json!({ "developer": "dev1" })).await;
    let in_sibling = platform
        .jscode2session(
            &sibling,
            &sibling_secret,
            &platform.login_code(&sibling, &user).await,
        )
        .await;
    assert_ne!(in_sibling["openid"], body["openid"]);
    assert_eq!(in_sibling["unionid"], body["unionid"]);

    // An app of no developer account: no unionid at all.
    let (lone, lone_secret) = platform.create_app(json!({})).await;
    let in_lone = platform
        .jscode2session(
            &lone,
            &lone_secret,
            &platform.login_code(&lone, &user).await,
        )
        .await;
    assert!(in_lone.get("unionid").is_none(), "{in_lone}");

    // Another user: another openid.
    let bob = platform.create_user(json!({ "id": "bob" })).await;
    let as_bob = platform
        .jscode2session(&appid, &secret, &platform.login_code(&appid, &bob).await)
        .await;
    assert_ne!(as_bob["openid"], body["openid"]);
    assert_ne!(as_bob["unionid"], body["unionid"]);
}

async fn code_replay_is_refused(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let code = platform.login_code(&appid, &user).await;
    assert_eq!(
        errcode(&platform.jscode2session(&appid, &secret, &code).await),
        0
    );
    let replay = platform.jscode2session(&appid, &secret, &code).await;
    assert_errcode(&replay, 40029, "invalid code");
}

async fn expired_code_is_refused(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let early = platform.login_code(&appid, &user).await;
    let late = platform.login_code(&appid, &user).await;
    platform.advance(5 * MINUTE - Duration::from_millis(1));
    assert_eq!(
        errcode(&platform.jscode2session(&appid, &secret, &early).await),
        0
    );
    platform.advance(Duration::from_millis(1));
    assert_errcode(
        &platform.jscode2session(&appid, &secret, &late).await,
        40029,
        "invalid code",
    );
}

async fn bad_app_credentials_and_parameters(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let code = platform.login_code(&appid, &user).await;

    let wrong_secret = platform
        .jscode2session(&appid, "0123456789abcdef0123456789abcdef", &code)
        .await;
    assert_errcode(&wrong_secret, 40125, "invalid appsecret");
    let unknown_app = platform
        .jscode2session("wx0000000000000000", &secret, &code)
        .await;
    assert_errcode(&unknown_app, 40013, "invalid appid");

    let base = "/sns/jscode2session?grant_type=authorization_code";
    let (_, body) = platform
        .get(&format!("{base}&secret={secret}&js_code={code}"))
        .await;
    assert_errcode(&body, 41002, "appid missing");
    let (_, body) = platform
        .get(&format!("{base}&appid={appid}&js_code={code}"))
        .await;
    assert_errcode(&body, 41004, "appsecret missing");
    let (_, body) = platform
        .get(&format!("{base}&appid={appid}&secret={secret}&js_code="))
        .await;
    assert_errcode(&body, 41008, "missing code");
    let (_, body) = platform
        .get(&format!(
            "/sns/jscode2session?appid={appid}&secret={secret}&js_code={code}&grant_type=password"
        ))
        .await;
    assert_errcode(&body, 40002, "invalid grant_type");

    // None of that spent the code; but another app's credentials cannot.
    let (other, other_secret) = platform.create_app(json!({})).await;
    let cross = platform.jscode2session(&other, &other_secret, &code).await;
    assert_errcode(&cross, 40029, "invalid code");
    assert_eq!(
        errcode(&platform.jscode2session(&appid, &secret, &code).await),
        0
    );
}

async fn login_rate_limit(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    for attempt in 1..=100 {
        let code = platform.login_code(&appid, &user).await;
        let body = platform.jscode2session(&appid, &secret, &code).await;
        assert_eq!(errcode(&body), 0, "attempt {attempt}: {body}");
    }
    let code = platform.login_code(&appid, &user).await;
    assert_errcode(
        &platform.jscode2session(&appid, &secret, &code).await,
        45011,
        "api minute-quota reach limit  mustslower  retry next minute",
    );
    // Another user is not limited by alice's calls.
    let bob = platform.create_user(json!({ "id": "bob" })).await;
    let code = platform.login_code(&appid, &bob).await;
    assert_eq!(
        errcode(&platform.jscode2session(&appid, &secret, &code).await),
        0
    );
    // The next minute alice may log in again.
    platform.advance(MINUTE);
    let code = platform.login_code(&appid, &user).await;
    assert_eq!(
        errcode(&platform.jscode2session(&appid, &secret, &code).await),
        0
    );
}

/// Logins at once count exactly: of 110 concurrent exchanges by one user,
/// 100 pass and 10 hit the limit, however the server groups their writes.
async fn concurrent_logins_are_counted_exactly(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let platform = std::sync::Arc::new(platform);
    let mut codes = Vec::new();
    for _ in 0..110 {
        codes.push(platform.login_code(&appid, &user).await);
    }
    let exchanges: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let (platform, appid, secret) = (platform.clone(), appid.clone(), secret.clone());
            tokio::spawn(
                async move { errcode(&platform.jscode2session(&appid, &secret, &code).await) },
            )
        })
        .collect();
    let mut outcomes = std::collections::BTreeMap::new();
    for exchange in exchanges {
        *outcomes.entry(exchange.await.expect("task")).or_insert(0) += 1;
    }
    assert_eq!(outcomes, [(0, 100), (45011, 10)].into_iter().collect());
}

async fn high_risk_user_is_blocked(backend: Backend) {
    let (platform, appid, secret, _) = setup(backend).await;
    let risky = platform
        .create_user(json!({ "id": "mallory", "high_risk": true }))
        .await;
    let code = platform.login_code(&appid, &risky).await;
    assert_errcode(
        &platform.jscode2session(&appid, &secret, &code).await,
        40226,
        "code blocked",
    );

    let (status, user) = platform
        .admin(
            Method::PATCH,
            "/admin/users/mallory",
            Some(json!({ "high_risk": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["high_risk"], false);
    let code = platform.login_code(&appid, &risky).await;
    assert_eq!(
        errcode(&platform.jscode2session(&appid, &secret, &code).await),
        0
    );
}

/// Whether `token` is accepted, judged by an API that checks it first
/// (checksession with no session answers 87009 once the token passed).
async fn token_status(platform: &TestPlatform, token: &str) -> i64 {
    let (status, body) = platform
        .get(&format!(
            "/wxa/checksession?access_token={token}&openid=nobody&signature=00&sig_method=hmac_sha256"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    match errcode(&body) {
        87009 => 0,
        other => other,
    }
}

async fn access_token_rotation_overlaps_five_minutes(backend: Backend) {
    let (platform, appid, secret, _) = setup(backend).await;
    let (status, body) = platform
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret={secret}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let object = body.as_object().expect("object");
    assert_eq!(object.len(), 2, "only access_token and expires_in: {body}");
    assert_eq!(body["expires_in"], 7200);
    let first = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(token_status(&platform, &first).await, 0);

    platform.advance(MINUTE);
    let second = platform.access_token(&appid, &secret).await;
    assert_ne!(first, second);
    platform.advance(5 * MINUTE - Duration::from_millis(1));
    assert_eq!(
        token_status(&platform, &first).await,
        0,
        "old token works for five minutes"
    );
    assert_eq!(token_status(&platform, &second).await, 0);
    platform.advance(Duration::from_millis(1));
    assert_eq!(
        token_status(&platform, &first).await,
        40001,
        "then it is not the latest"
    );
    assert_eq!(token_status(&platform, &second).await, 0);

    // The second one runs its natural course: 7200 s after it was issued.
    platform.advance(Duration::from_secs(7200) - 5 * MINUTE);
    assert_eq!(token_status(&platform, &second).await, 42001);

    // Refusals.
    let (_, body) = platform
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={appid}&secret=wrong-secret-wrong"
        ))
        .await;
    assert_errcode(
        &body,
        40001,
        "invalid credential, access_token is invalid or not latest",
    );
    let (_, body) = platform
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid=wxnope&secret={secret}"
        ))
        .await;
    assert_errcode(&body, 40013, "invalid appid");
    let (_, body) = platform
        .get(&format!(
            "/cgi-bin/token?grant_type=authorization_code&appid={appid}&secret={secret}"
        ))
        .await;
    assert_errcode(&body, 40002, "invalid grant_type");
    let (_, body) = platform
        .get("/wxa/checksession?openid=x&signature=00&sig_method=hmac_sha256")
        .await;
    assert_errcode(&body, 41001, "access_token missing");
    assert_eq!(token_status(&platform, "made-up-token").await, 40001);
    assert_eq!(token_status(&platform, "bad%20token").await, 40014);
}

async fn stable_token(
    platform: &TestPlatform,
    appid: &str,
    secret: &str,
    force_refresh: bool,
) -> Value {
    let (status, body) = platform
        .post(
            "/cgi-bin/stable_token",
            &json!({ "grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force_refresh }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn stable_token_modes(backend: Backend) {
    let (platform, appid, secret, _) = setup(backend).await;
    let first = stable_token(&platform, &appid, &secret, false).await;
    assert_eq!(first["expires_in"], 7200, "{first}");
    let token = first["access_token"].as_str().expect("token").to_owned();

    // Normal mode: the same token while it lasts, isolated from /cgi-bin/token.
    platform.advance(10 * MINUTE);
    let _basic = platform.access_token(&appid, &secret).await;
    let again = stable_token(&platform, &appid, &secret, false).await;
    assert_eq!(again["access_token"], token.as_str());
    assert_eq!(again["expires_in"], 7200 - 600);

    // In its last five minutes it is renewed; the old one works until its end.
    platform.advance(Duration::from_secs(7200 - 600 - 299));
    let renewed = stable_token(&platform, &appid, &secret, false).await;
    let renewed_token = renewed["access_token"].as_str().expect("token").to_owned();
    assert_ne!(renewed_token, token);
    assert_eq!(renewed["expires_in"], 7200);
    assert_eq!(token_status(&platform, &token).await, 0);
    platform.advance(Duration::from_secs(299));
    assert_eq!(token_status(&platform, &token).await, 42001);
    assert_eq!(token_status(&platform, &renewed_token).await, 0);

    // force_refresh replaces it at once.
    let forced = stable_token(&platform, &appid, &secret, true).await;
    let forced_token = forced["access_token"].as_str().expect("token").to_owned();
    assert_ne!(forced_token, renewed_token);
    assert_eq!(token_status(&platform, &renewed_token).await, 40001);
    assert_eq!(token_status(&platform, &forced_token).await, 0);
    // Within 30 s another force does not refresh.
    platform.advance(Duration::from_secs(29));
    let too_soon = stable_token(&platform, &appid, &secret, true).await;
    assert_eq!(too_soon["access_token"], forced_token.as_str());

    // Twenty forced refreshes a day (China time), then 45009.
    for n in 2..=20 {
        platform.advance(Duration::from_secs(31));
        let body = stable_token(&platform, &appid, &secret, true).await;
        assert_eq!(errcode(&body), 0, "forced refresh {n}: {body}");
    }
    platform.advance(Duration::from_secs(31));
    assert_errcode(
        &stable_token(&platform, &appid, &secret, true).await,
        45009,
        "reach max api daily quota limit",
    );
    assert_eq!(
        errcode(&stable_token(&platform, &appid, &secret, false).await),
        0
    );
    platform.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        errcode(&stable_token(&platform, &appid, &secret, true).await),
        0
    );

    // Its own errcodes.
    assert_errcode(
        &stable_token(&platform, &appid, "wrong-secret-wrong", false).await,
        40125,
        "invalid appsecret",
    );
    let (_, body) = platform
        .post(
            "/cgi-bin/stable_token",
            &json!({ "grant_type": "client_credential", "secret": secret }),
        )
        .await;
    assert_errcode(&body, 41002, "appid missing");
    let (_, body) = platform
        .post_raw("/cgi-bin/stable_token", "{not json")
        .await;
    assert_errcode(&body, 47001, "data format error");
    let (_, body) = platform.get("/cgi-bin/stable_token").await;
    assert_errcode(&body, 43002, "require POST method");
}

async fn checksession(
    platform: &TestPlatform,
    token: &str,
    openid: &str,
    signature: &str,
) -> Value {
    let (status, body) = platform
        .get(&format!(
            "/wxa/checksession?access_token={token}&openid={openid}&signature={signature}&sig_method=hmac_sha256"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn checksession_follows_the_latest_login(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let token = platform.access_token(&appid, &secret).await;
    let session = platform
        .jscode2session(&appid, &secret, &platform.login_code(&appid, &user).await)
        .await;
    let openid = session["openid"].as_str().expect("openid");
    let key = session["session_key"].as_str().expect("session_key");
    let signature = secrets::session_signature(key);

    let ok = checksession(&platform, &token, openid, &signature).await;
    assert_eq!(ok, json!({ "errcode": 0, "errmsg": "ok" }));
    assert_errcode(
        &checksession(
            &platform,
            &token,
            openid,
            &secrets::session_signature("AAAAAAAAAAAAAAAAAAAAAA=="),
        )
        .await,
        87009,
        "invalid signature",
    );
    let (_, body) = platform
        .get(&format!(
            "/wxa/checksession?access_token={token}&openid={openid}&signature={signature}&sig_method=md5"
        ))
        .await;
    assert_errcode(&body, 87008, "invalid sig_method");

    // wx.login again rotates the key: the old one no longer checks out.
    let code = platform.login_code(&appid, &user).await;
    assert_errcode(
        &checksession(&platform, &token, openid, &signature).await,
        87009,
        "invalid signature",
    );
    let fresh = platform.jscode2session(&appid, &secret, &code).await;
    let fresh_signature = secrets::session_signature(fresh["session_key"].as_str().expect("key"));
    assert_eq!(
        errcode(&checksession(&platform, &token, openid, &fresh_signature).await),
        0
    );

    // Another app's token cannot check this app's users.
    let (other, other_secret) = platform.create_app(json!({})).await;
    let other_token = platform.access_token(&other, &other_secret).await;
    assert_eq!(
        errcode(&checksession(&platform, &other_token, openid, &fresh_signature).await),
        87009
    );

    // resetusersessionkey: a new key, and the old signature is stale.
    let (_, reset) = platform
        .get(&format!(
            "/wxa/resetusersessionkey?access_token={token}&openid={openid}&signature={fresh_signature}&sig_method=hmac_sha256"
        ))
        .await;
    assert_eq!(errcode(&reset), 0, "{reset}");
    assert_eq!(reset["openid"], openid);
    let reset_key = reset["session_key"].as_str().expect("key");
    assert_ne!(reset_key, fresh["session_key"].as_str().expect("key"));
    assert_eq!(
        errcode(&checksession(&platform, &token, openid, &fresh_signature).await),
        87009
    );
    let reset_signature = secrets::session_signature(reset_key);
    assert_eq!(
        errcode(&checksession(&platform, &token, openid, &reset_signature).await),
        0
    );
}

async fn phone_number_exchange(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let token = platform.access_token(&appid, &secret).await;
    let (status, issued) = platform
        .admin(
            Method::POST,
            &format!("/admin/apps/{appid}/phone-codes"),
            Some(json!({ "user": user })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let code = issued["code"].as_str().expect("code");
    let uri = format!("/wxa/business/getuserphonenumber?access_token={token}");

    let (status, body) = platform.post(&uri, &json!({ "code": code })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": "13800138000",
                "purePhoneNumber": "13800138000",
                "countryCode": "86",
                "watermark": { "timestamp": common::START_MILLIS / 1000, "appid": appid },
            }
        })
    );
    let (_, replay) = platform.post(&uri, &json!({ "code": code })).await;
    assert_errcode(&replay, 40029, "invalid code");

    // A login code is no phone code, and a body must be JSON with a code.
    let login = platform.login_code(&appid, &user).await;
    let (_, body) = platform.post(&uri, &json!({ "code": login })).await;
    assert_errcode(&body, 40029, "invalid code");
    let (_, body) = platform.post(&uri, &json!({})).await;
    assert_errcode(&body, 41008, "missing code");
    let (_, body) = platform.post_raw(&uri, "code=abc").await;
    assert_errcode(&body, 47001, "data format error");
    let (_, body) = platform
        .post(
            "/wxa/business/getuserphonenumber?access_token=nope",
            &json!({ "code": code }),
        )
        .await;
    assert_errcode(
        &body,
        40001,
        "invalid credential, access_token is invalid or not latest",
    );

    // Numbers outside China carry their country code.
    platform
        .create_user(
            json!({ "id": "carol", "phone": { "country_code": "+1", "number": "4155550100" } }),
        )
        .await;
    let (_, issued) = platform
        .admin(
            Method::POST,
            &format!("/admin/apps/{appid}/phone-codes"),
            Some(json!({ "user": "carol" })),
        )
        .await;
    let (_, body) = platform
        .post(&uri, &json!({ "code": issued["code"] }))
        .await;
    assert_eq!(body["phone_info"]["phoneNumber"], "+14155550100");
    assert_eq!(body["phone_info"]["purePhoneNumber"], "4155550100");
    assert_eq!(body["phone_info"]["countryCode"], "1");

    // No number, no code.
    platform.create_user(json!({ "id": "dave" })).await;
    let (status, error) = platform
        .admin(
            Method::POST,
            &format!("/admin/apps/{appid}/phone-codes"),
            Some(json!({ "user": "dave" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "no_phone_number");
}

/// `getUserProfile`'s open data as a developer's server checks it: the
/// signature over rawData and the session key it got from jscode2session,
/// and encryptedData that decrypts to the profile with the app's watermark.
async fn user_profile_open_data(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let session = platform
        .jscode2session(&appid, &secret, &platform.login_code(&appid, &user).await)
        .await;
    let session_key = session["session_key"].as_str().expect("key");
    let profile = identity::user_profile(&platform.state, &appid, &user, "zh_CN")
        .await
        .expect("profile");
    assert_eq!(
        open_data::signature(&profile.raw_data, session_key),
        profile.signature
    );
    let raw: Value = serde_json::from_str(&profile.raw_data).expect("rawData is JSON");
    assert_eq!(raw["nickName"], "Alice");
    assert_eq!(raw["language"], "zh_CN");

    let plain =
        open_data::decrypt(&profile.encrypted_data, session_key, &profile.iv).expect("decrypts");
    let data: Value = serde_json::from_slice(&plain).expect("JSON");
    assert_eq!(data["openId"], session["openid"]);
    assert_eq!(data["unionId"], session["unionid"]);
    assert_eq!(data["nickName"], "Alice");
    assert_eq!(data["watermark"]["appid"], appid.as_str());
    assert_eq!(data["watermark"]["timestamp"], common::START_MILLIS / 1000);

    assert!(
        identity::has_session(&platform.state, &appid, &user)
            .await
            .expect("query")
    );
    let stranger = platform.create_user(json!({})).await;
    assert!(
        !identity::has_session(&platform.state, &appid, &stranger)
            .await
            .expect("query")
    );
    assert!(matches!(
        identity::user_profile(&platform.state, &appid, &stranger, "en").await,
        Err(bonsai_platform::PlatformError::NoSession { .. })
    ));
}

/// Nothing lives in one instance's memory: a code issued through one is
/// exchanged through another, and tokens and rate counts are shared.
async fn instances_share_everything_through_the_database(backend: Backend) {
    let (first, appid, secret, user) = setup(backend).await;
    let second = first.second_instance().await;
    let code = first.login_code(&appid, &user).await;
    let session = second.jscode2session(&appid, &secret, &code).await;
    assert_eq!(errcode(&session), 0, "{session}");
    assert_errcode(
        &first.jscode2session(&appid, &secret, &code).await,
        40029,
        "invalid code",
    );
    let token = second.access_token(&appid, &secret).await;
    assert_eq!(token_status(&first, &token).await, 0);
    let signature = secrets::session_signature(session["session_key"].as_str().expect("key"));
    let openid = session["openid"].as_str().expect("openid");
    assert_eq!(
        errcode(&checksession(&first, &token, openid, &signature).await),
        0
    );
}

/// Many requests at once: a code spent by ten racing exchanges has one
/// winner, and concurrent writers (token issuance, logins) all succeed,
/// which on SQLite means they wait for the write lock instead of failing.
async fn concurrent_requests(backend: Backend) {
    let (platform, appid, secret, user) = setup(backend).await;
    let platform = std::sync::Arc::new(platform);
    let code = platform.login_code(&appid, &user).await;
    let mut racers = Vec::new();
    for _ in 0..10 {
        let (platform, appid, secret, code) = (
            platform.clone(),
            appid.clone(),
            secret.clone(),
            code.clone(),
        );
        racers.push(tokio::spawn(async move {
            errcode(&platform.jscode2session(&appid, &secret, &code).await)
        }));
    }
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.expect("task"));
    }
    outcomes.sort_unstable();
    assert_eq!(
        outcomes,
        [
            0, 40029, 40029, 40029, 40029, 40029, 40029, 40029, 40029, 40029
        ]
    );

    let mut writers = Vec::new();
    for n in 0..20 {
        let (platform, appid, secret, user) = (
            platform.clone(),
            appid.clone(),
            secret.clone(),
            user.clone(),
        );
        writers.push(tokio::spawn(async move {
            if n % 2 == 0 {
                let token = platform.access_token(&appid, &secret).await;
                token_status(&platform, &token).await
            } else {
                let code = platform.login_code(&appid, &user).await;
                errcode(&platform.jscode2session(&appid, &secret, &code).await)
            }
        }));
    }
    for writer in writers {
        assert_eq!(writer.await.expect("task"), 0);
    }
}

on_both_databases!(
    concurrent_requests,
    jscode2session_documented_sample,
    code_replay_is_refused,
    expired_code_is_refused,
    bad_app_credentials_and_parameters,
    login_rate_limit,
    concurrent_logins_are_counted_exactly,
    high_risk_user_is_blocked,
    access_token_rotation_overlaps_five_minutes,
    stable_token_modes,
    checksession_follows_the_latest_login,
    phone_number_exchange,
    user_profile_open_data,
    instances_share_everything_through_the_database,
);
