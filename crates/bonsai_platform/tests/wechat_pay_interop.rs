//! Interop with a client nobody here wrote: npm `wechatpay-node-v3` (pinned
//! by tests/interop/package-lock.json) drives a served platform on a
//! loopback port — order, pay (its own paySign), notifications verified and
//! decrypted with its own functions, queries, refund, close — and this test
//! asserts on what it reports.
//!
//! Node.js and npm are required, not optional: without them the test fails
//! and says so (scripts/test installs them). The npm packages are installed
//! once with `npm ci` into target/interop-node/wechatpay and reused while
//! the lockfile is unchanged.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use bonsai_platform::{AppState, PlatformConfig, SystemClock, identity, wechat_pay};
use common::{ADMIN_TOKEN, Backend, TestDatabase};
use serde_json::{Value, json};

/// tests/interop, installed under target/.
fn interop_dir() -> PathBuf {
    bonsai_test_support::npm_project(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop"),
        "wechatpay",
    )
}

fn sdk_drives_the_sandbox(backend: Backend) {
    let dir = interop_dir();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // The SDK signs with the wall clock and checks our timestamps against
    // it, so this platform runs on the wall clock too.
    let (database, url) = runtime.block_on(TestDatabase::create(backend));
    let state = runtime
        .block_on(AppState::connect(
            PlatformConfig::new(url, ADMIN_TOKEN),
            Arc::new(SystemClock),
        ))
        .expect("platform");
    let (appid, user, openid, merchant) = runtime.block_on(async {
        let app = identity::create_app(&state, identity::NewApp::default())
            .await
            .expect("app");
        let user = identity::create_user(&state, identity::NewUser::default())
            .await
            .expect("user");
        let login = identity::issue_login_code(&state, &app.app.appid, &user.id)
            .await
            .expect("login");
        let merchant = wechat_pay::create_merchant(
            &state,
            wechat_pay::NewMerchant {
                name: Some("Interop Tea".to_owned()),
                appids: vec![app.app.appid.clone()],
                refund_delay_secs: Some(0),
                ..Default::default()
            },
        )
        .await
        .expect("merchant");
        (app.app.appid, user.id, login.openid, merchant)
    });

    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = state.clone();
    let server = runtime.spawn(async move {
        bonsai_platform::serve(listener, served, async {
            stopped.await.ok();
        })
        .await
    });

    let config = json!({
        "baseUrl": format!("http://{address}"),
        "adminToken": ADMIN_TOKEN,
        "appid": appid,
        "user": user,
        "openid": openid,
        "mchid": merchant.merchant.mchid,
        "privateKeyPem": merchant.private_key_pem,
        "certificatePem": merchant.merchant.certificate_pem,
        "apiv3Key": merchant.merchant.apiv3_key,
    });
    let config_file = tempfile::NamedTempFile::new().expect("config file");
    std::fs::write(config_file.path(), config.to_string()).expect("write config");
    let out = Command::new("node")
        .arg("wechatpay.js")
        .arg(config_file.path())
        .current_dir(&dir)
        .output()
        .expect("run node");
    stop.send(()).ok();
    runtime
        .block_on(server)
        .expect("server task")
        .expect("graceful shutdown");
    drop(database);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the interop script failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("the script printed no JSON: {stdout}"));

    // The SDK read the merchant serial from apiclient_cert.pem (in its own
    // case) and every call it signed was accepted.
    let sdk_serial = f["sdkSerialNo"].as_str().expect("serial");
    assert!(
        sdk_serial.eq_ignore_ascii_case(&merchant.merchant.serial_no),
        "{sdk_serial}"
    );
    let platform_serial = &merchant.platform_serial_no;
    assert_eq!(
        f["certificates"][0]["serial_no"],
        platform_serial.as_str(),
        "{f}"
    );
    assert_eq!(f["certificates"][0]["hasPublicKey"], true);
    assert_eq!(f["certificatesVerified"], true, "{f}");

    // Order: the SDK's wx.requestPayment parameters, then paid by them.
    assert_eq!(f["jsapi"]["status"], 200, "{f}");
    assert_eq!(f["jsapi"]["verified"], true);
    assert_eq!(f["jsapi"]["data"]["signType"], "RSA");
    assert_eq!(f["payment"]["status"], 200, "{f}");
    assert_eq!(f["payment"]["body"]["errMsg"], "requestPayment:ok");

    // TRANSACTION.SUCCESS, verified and decrypted by the SDK.
    let note = &f["transactionNotification"];
    assert_eq!(note["verified"], true, "{f}");
    assert_eq!(note["signatureType"], "WECHATPAY2-SHA256-RSA2048");
    assert_eq!(note["eventType"], "TRANSACTION.SUCCESS");
    assert_eq!(note["resourceType"], "encrypt-resource");
    assert_eq!(note["resource"]["trade_state"], "SUCCESS");
    assert_eq!(note["resource"]["amount"]["total"], 100);
    assert_eq!(
        note["resource"]["transaction_id"],
        f["payment"]["body"]["transaction_id"]
    );

    for query in ["queryByOutTradeNo", "queryByTransactionId"] {
        assert_eq!(f[query]["status"], 200, "{f}");
        assert_eq!(f[query]["verified"], true, "{query}");
        assert_eq!(f[query]["data"]["trade_state"], "SUCCESS", "{query}");
    }

    // Refund: accepted PROCESSING, SUCCESS at once with a zero delay, and
    // REFUND.SUCCESS delivered.
    assert_eq!(f["refund"]["status"], 200, "{f}");
    assert_eq!(f["refund"]["verified"], true);
    assert_eq!(f["refund"]["data"]["status"], "PROCESSING");
    assert_eq!(f["refundQuery"]["data"]["status"], "SUCCESS", "{f}");
    assert_eq!(f["refundQuery"]["verified"], true);
    let refund_note = &f["refundNotification"];
    assert_eq!(refund_note["verified"], true, "{f}");
    assert_eq!(refund_note["eventType"], "REFUND.SUCCESS");
    assert_eq!(refund_note["resource"]["refund_status"], "SUCCESS");
    assert_eq!(refund_note["resource"]["amount"]["refund"], 30);

    // Close: 204, empty body, signed.
    assert_eq!(f["close"]["status"], 204, "{f}");
    assert_eq!(f["close"]["body"], "");
    assert_eq!(f["close"]["verified"], true);
    assert_eq!(f["closedState"], "CLOSED");

    assert_eq!(f["tampered"]["status"], 401, "{f}");
    assert_eq!(f["tampered"]["code"], "SIGN_ERROR");
}

#[test]
fn wechatpay_node_v3_drives_the_sandbox_sqlite() {
    sdk_drives_the_sandbox(Backend::Sqlite);
}

#[test]
fn wechatpay_node_v3_drives_the_sandbox_postgres() {
    sdk_drives_the_sandbox(Backend::Postgres);
}
