//! The WeChat Pay v3 sandbox through the real router, each test on SQLite
//! and on Postgres: signed requests (signed here with the merchant key, by
//! code independent of the server's), response signatures checked against
//! the certificate `/v3/certificates` hands out, the cashier, refunds, and
//! notifications delivered to a local HTTP server on the documented retry
//! schedule as the virtual clock moves.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bonsai_platform::wechat_pay::{self, PayDecision, PayError};
use bonsai_platform::{identity, notify, rsa_keys};
use common::{Backend, START_MILLIS, TestPlatform};
use rsa::RsaPublicKey;
use serde_json::{Value, json};
use tower::ServiceExt;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;

const SECOND: Duration = Duration::from_secs(1);

/// A merchant as its server holds it.
struct Merchant {
    mchid: String,
    key: rsa_keys::PrivateKey,
    serial_no: String,
    apiv3_key: String,
}

/// A local server standing in for the merchant's notify_url: records what
/// it receives and answers with scripted statuses (200 when out of script).
#[derive(Clone)]
struct NotifyServer {
    url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl NotifyServer {
    async fn start() -> NotifyServer {
        let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
        let statuses: Arc<Mutex<VecDeque<u16>>> = Arc::default();
        let (r, s) = (received.clone(), statuses.clone());
        let app = Router::new().fallback(move |headers: HeaderMap, body: String| {
            let (r, s) = (r.clone(), s.clone());
            async move {
                r.lock().unwrap().push((headers, body));
                let status = s.lock().unwrap().pop_front().unwrap_or(200);
                let status = StatusCode::from_u16(status).unwrap();
                if status.is_success() {
                    (status, String::new())
                } else {
                    (
                        status,
                        json!({"code": "FAIL", "message": "失败"}).to_string(),
                    )
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        NotifyServer {
            url: format!("http://{address}/pay/notify"),
            received,
            statuses,
        }
    }

    fn script(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    fn take(&self) -> Vec<(HeaderMap, String)> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

/// A raw answer: status, headers and the exact body bytes.
struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Raw {
    fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

struct Ctx {
    platform: TestPlatform,
    router: Router,
    appid: String,
    user: String,
    openid: String,
    merchant: Merchant,
    notify: NotifyServer,
}

/// An app, a logged-in user, a merchant bound to the app, a notify server.
async fn setup(backend: Backend) -> Ctx {
    setup_with(backend, json!({})).await
}

async fn setup_with(backend: Backend, merchant_fields: Value) -> Ctx {
    let platform = TestPlatform::start(backend).await;
    let (appid, _) = platform.create_app(json!({ "name": "Shop" })).await;
    let user = platform.create_user(json!({ "id": "alice" })).await;
    platform.login_code(&appid, &user).await;
    let openid = identity::openid_of(&platform.state, &appid, &user);
    let mut body = json!({ "name": "Bonsai Tea", "appids": [appid] });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), merchant_fields) {
        body.extend(extra);
    }
    let (status, created) = platform
        .admin(Method::POST, "/admin/wechatpay/merchants", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let merchant = Merchant {
        mchid: created["mchid"].as_str().unwrap().to_owned(),
        key: rsa_keys::parse_private_key(created["private_key_pem"].as_str().unwrap()).unwrap(),
        serial_no: created["serial_no"].as_str().unwrap().to_owned(),
        apiv3_key: created["apiv3_key"].as_str().unwrap().to_owned(),
    };
    // The serial in the response is the certificate's own.
    let certificate =
        Certificate::from_pem(created["certificate_pem"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(
        hex::encode_upper(certificate.tbs_certificate.serial_number.as_bytes()),
        merchant.serial_no
    );
    assert_eq!(merchant.serial_no.len(), 40);
    assert_eq!(merchant.apiv3_key.len(), 32);
    let router = bonsai_platform::build_router(platform.state.clone());
    Ctx {
        platform,
        router,
        appid,
        user,
        openid,
        merchant,
        notify: NotifyServer::start().await,
    }
}

fn authorization(
    merchant: &Merchant,
    method: &str,
    uri: &str,
    body: &str,
    timestamp: i64,
    serial_no: &str,
) -> String {
    let nonce = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
    let message = format!("{method}\n{uri}\n{timestamp}\n{nonce}\n{body}\n");
    let signature = rsa_keys::sign(&merchant.key, message.as_bytes());
    format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\"",
        merchant.mchid
    )
}

impl Ctx {
    fn now_secs(&self) -> i64 {
        self.platform.state.now() / 1000
    }

    async fn send(&self, request: Request<Body>) -> Raw {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        Raw {
            status,
            headers,
            body,
        }
    }

    /// A request with the given Authorization (or none).
    async fn send_with(
        &self,
        method: &str,
        uri: &str,
        body: &str,
        authorization: Option<String>,
    ) -> Raw {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("accept", "application/json")
            .header("content-type", "application/json");
        if let Some(auth) = authorization {
            request = request.header("authorization", auth);
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    /// A correctly signed `/v3` request.
    async fn v3(&self, method: &str, uri: &str, body: Option<&Value>) -> Raw {
        let body = body.map(Value::to_string).unwrap_or_default();
        let auth = authorization(
            &self.merchant,
            method,
            uri,
            &body,
            self.now_secs(),
            &self.merchant.serial_no,
        );
        self.send_with(method, uri, &body, Some(auth)).await
    }

    /// `POST /v3/pay/transactions/jsapi`: a JSAPI order.
    async fn post_order(&self, body: &Value) -> Raw {
        self.v3("POST", "/v3/pay/transactions/jsapi", Some(body))
            .await
    }

    /// `POST /v3/refund/domestic/refunds`: a refund.
    async fn post_refund(&self, body: &Value) -> Raw {
        self.v3("POST", "/v3/refund/domestic/refunds", Some(body))
            .await
    }

    /// Closes the order `out_trade_no`.
    async fn close(&self, out_trade_no: &str) -> Raw {
        let uri = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
        let body = json!({ "mchid": self.merchant.mchid });
        self.v3("POST", &uri, Some(&body)).await
    }

    fn order_body(&self, out_trade_no: &str, total: i64) -> Value {
        json!({
            "appid": self.appid,
            "mchid": self.merchant.mchid,
            "description": "Bonsai Tea - Oolong",
            "out_trade_no": out_trade_no,
            "notify_url": self.notify.url,
            "amount": { "total": total, "currency": "CNY" },
            "payer": { "openid": self.openid },
        })
    }

    async fn order(&self, out_trade_no: &str, total: i64) -> String {
        let raw = self.post_order(&self.order_body(out_trade_no, total)).await;
        assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
        raw.json()["prepay_id"].as_str().unwrap().to_owned()
    }

    /// What the merchant's server gives the mini program for
    /// `wx.requestPayment`, signed for `appid`.
    fn pay_params(&self, appid: &str, prepay_id: &str) -> Value {
        let timestamp = self.now_secs().to_string();
        let nonce = "Wm3WZYTPz0wzccnW";
        let package = format!("prepay_id={prepay_id}");
        let message = format!("{appid}\n{timestamp}\n{nonce}\n{package}\n");
        json!({
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": rsa_keys::sign(&self.merchant.key, message.as_bytes()),
        })
    }

    /// `wx.requestPayment` through the admin API.
    async fn pay(&self, prepay_id: &str, decision: &str) -> (StatusCode, Value) {
        self.platform
            .admin(
                Method::POST,
                "/admin/wechatpay/pay",
                Some(json!({
                    "appid": self.appid,
                    "user": self.user,
                    "params": self.pay_params(&self.appid, prepay_id),
                    "decision": decision,
                })),
            )
            .await
    }

    /// The platform certificate as an SDK gets it: `/v3/certificates`,
    /// decrypted with the APIv3 key; returns (serial_no, public key).
    async fn platform_key(&self) -> (String, RsaPublicKey) {
        let raw = self.v3("GET", "/v3/certificates", None).await;
        assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
        let body = raw.json();
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{body}");
        let entry = &data[0];
        let encrypted = &entry["encrypt_certificate"];
        assert_eq!(encrypted["algorithm"], "AEAD_AES_256_GCM");
        assert_eq!(encrypted["associated_data"], "certificate");
        let pem = decrypt(
            &self.merchant.apiv3_key,
            encrypted["nonce"].as_str().unwrap(),
            "certificate",
            encrypted["ciphertext"].as_str().unwrap(),
        );
        let serial = entry["serial_no"].as_str().unwrap().to_owned();
        let (certificate_serial, key) =
            wechat_pay::read_certificate(&String::from_utf8(pem).unwrap()).unwrap();
        assert_eq!(certificate_serial, serial);
        // The certificate response is itself signed by that certificate.
        verify_signed(&raw.headers, &raw.body, &serial, &key, self.now_secs());
        (serial, key)
    }

    async fn query(&self, out_trade_no: &str) -> Value {
        let raw = self
            .v3(
                "GET",
                &format!(
                    "/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={}",
                    self.merchant.mchid
                ),
                None,
            )
            .await;
        assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
        raw.json()
    }

    /// [`verify_signed`] with the key [`Ctx::platform_key`] returned, at
    /// the platform's current time.
    fn assert_signed(
        &self,
        platform_key: &(String, RsaPublicKey),
        headers: &HeaderMap,
        body: &[u8],
    ) {
        let (serial, key) = platform_key;
        verify_signed(headers, body, serial, key, self.now_secs());
    }

    async fn deliver(&self) -> notify::DeliveryReport {
        notify::deliver_due(&self.platform.state).await.unwrap()
    }
}

/// AEAD_AES_256_GCM as a merchant decrypts it (RustCrypto directly, not
/// the server's helper).
fn decrypt(key: &str, nonce: &str, associated_data: &str, ciphertext: &str) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes()).unwrap();
    cipher
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &STANDARD.decode(ciphertext).unwrap(),
                aad: associated_data.as_bytes(),
            },
        )
        .expect("AES-GCM tag verifies")
}

/// Checks the five `Wechatpay-*` headers over `body` as SDKs do.
fn verify_signed(headers: &HeaderMap, body: &[u8], serial: &str, key: &RsaPublicKey, now: i64) {
    let get = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("missing {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(get("wechatpay-serial"), serial);
    assert_eq!(get("wechatpay-signature-type"), "WECHATPAY2-SHA256-RSA2048");
    let timestamp = get("wechatpay-timestamp");
    assert_eq!(timestamp, now.to_string(), "timestamp is the send time");
    let nonce = get("wechatpay-nonce");
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    assert!(
        rsa_keys::verify(key, &message, &get("wechatpay-signature")),
        "signature verifies over {}",
        String::from_utf8_lossy(body)
    );
}

/// Decrypts a notification body's resource: (envelope, resource).
fn open_notification(apiv3_key: &str, body: &str) -> (Value, Value) {
    let envelope: Value = serde_json::from_str(body).unwrap();
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    let resource = &envelope["resource"];
    assert_eq!(resource["algorithm"], "AEAD_AES_256_GCM");
    let associated_data = resource["associated_data"].as_str().unwrap();
    assert!(!associated_data.is_empty());
    assert_eq!(resource["original_type"], associated_data);
    let nonce = resource["nonce"].as_str().unwrap();
    assert_eq!(nonce.len(), 12);
    let plain = decrypt(
        apiv3_key,
        nonce,
        associated_data,
        resource["ciphertext"].as_str().unwrap(),
    );
    let decrypted = serde_json::from_slice(&plain).unwrap();
    (envelope, decrypted)
}

fn assert_error(raw: &Raw, status: StatusCode, code: &str) {
    assert_eq!(raw.status, status, "{}", String::from_utf8_lossy(&raw.body));
    let body = raw.json();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

// ---- tests ---------------------------------------------------------------

/// Create, query, pay, notification, query by transaction_id, refund
/// (PROCESSING → SUCCESS after the delay), REFUND.SUCCESS, close.
async fn order_pay_refund_close_round_trip(backend: Backend) {
    let ctx = setup_with(backend, json!({ "refund_delay_secs": 60 })).await;
    let platform_key = ctx.platform_key().await;
    let mchid = ctx.merchant.mchid.clone();

    let body = ctx.order_body("order_0001", 100);
    let raw = ctx.post_order(&body).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
    ctx.assert_signed(&platform_key, &raw.headers, &raw.body);
    let prepay_id = raw.json()["prepay_id"].as_str().unwrap().to_owned();
    assert!(
        prepay_id.starts_with("wx") && prepay_id.len() == 36,
        "{prepay_id}"
    );

    let unpaid = ctx.query("order_0001").await;
    assert_eq!(unpaid["trade_state"], "NOTPAY");
    assert_eq!(unpaid["trade_state_desc"], "订单未支付");
    assert_eq!(unpaid["amount"]["total"], 100);
    assert!(unpaid.get("transaction_id").is_none(), "{unpaid}");

    ctx.platform.advance(10 * SECOND);
    let (status, paid) = ctx.pay(&prepay_id, "confirm").await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["errMsg"], "requestPayment:ok");
    let transaction_id = paid["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(transaction_id.len(), 28);
    assert!(transaction_id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(paid["success_time"], "2023-11-15T06:13:30+08:00");

    // The TRANSACTION.SUCCESS notification, signed at send time.
    let report = ctx.deliver().await;
    assert_eq!(report.delivered, 1, "{report:?}");
    let received = ctx.notify.take();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    ctx.assert_signed(&platform_key, headers, body.as_bytes());
    assert_eq!(headers["content-type"], "application/json");
    let (envelope, transaction) = open_notification(&ctx.merchant.apiv3_key, body);
    assert_eq!(envelope["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(envelope["summary"], "支付成功");
    assert_eq!(envelope["create_time"], "2023-11-15T06:13:30+08:00");
    assert_eq!(transaction["trade_state"], "SUCCESS");
    assert_eq!(transaction["transaction_id"], transaction_id.as_str());
    assert_eq!(transaction["out_trade_no"], "order_0001");
    assert_eq!(transaction["payer"]["openid"], ctx.openid.as_str());
    assert_eq!(transaction["amount"]["payer_total"], 100);

    let raw = ctx
        .v3(
            "GET",
            &format!("/v3/pay/transactions/id/{transaction_id}?mchid={mchid}"),
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let by_id = raw.json();
    assert_eq!(
        by_id, transaction,
        "query answers what the notification said"
    );
    assert_eq!(by_id["trade_type"], "JSAPI");

    // A partial refund: PROCESSING until the merchant's delay has passed.
    let refund_body = json!({
        "transaction_id": transaction_id,
        "out_refund_no": "refund_0001",
        "reason": "不想要了",
        "notify_url": ctx.notify.url,
        "amount": { "refund": 40, "total": 100, "currency": "CNY" },
    });
    let raw = ctx.post_refund(&refund_body).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
    ctx.assert_signed(&platform_key, &raw.headers, &raw.body);
    let refund = raw.json();
    assert_eq!(refund["status"], "PROCESSING");
    assert_eq!(refund["amount"]["refund"], 40);
    assert_eq!(refund["out_trade_no"], "order_0001");
    let refund_id = refund["refund_id"].as_str().unwrap().to_owned();
    assert_eq!(ctx.query("order_0001").await["trade_state"], "REFUND");

    ctx.platform.advance(59 * SECOND);
    let raw = ctx
        .v3("GET", "/v3/refund/domestic/refunds/refund_0001", None)
        .await;
    assert_eq!(raw.json()["status"], "PROCESSING");
    assert_eq!(ctx.deliver().await.attempted, 0);
    ctx.platform.advance(SECOND);
    let raw = ctx
        .v3("GET", "/v3/refund/domestic/refunds/refund_0001", None)
        .await;
    assert_eq!(raw.status, StatusCode::OK);
    let settled = raw.json();
    assert_eq!(settled["status"], "SUCCESS");
    assert_eq!(settled["refund_id"], refund_id.as_str());
    assert_eq!(settled["success_time"], "2023-11-15T06:14:30+08:00");

    assert_eq!(ctx.deliver().await.delivered, 1);
    let received = ctx.notify.take();
    let (headers, body) = &received[0];
    ctx.assert_signed(&platform_key, headers, body.as_bytes());
    let (envelope, refunded) = open_notification(&ctx.merchant.apiv3_key, body);
    assert_eq!(envelope["event_type"], "REFUND.SUCCESS");
    assert_eq!(envelope["resource"]["original_type"], "refund");
    assert_eq!(refunded["refund_status"], "SUCCESS");
    assert_eq!(refunded["out_refund_no"], "refund_0001");
    assert_eq!(refunded["amount"]["refund"], 40);

    // More than is left: refused; the rest: accepted.
    let too_much = json!({
        "out_trade_no": "order_0001",
        "out_refund_no": "refund_0002",
        "amount": { "refund": 61, "total": 100, "currency": "CNY" },
    });
    let raw = ctx.post_refund(&too_much).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let rest = json!({
        "out_trade_no": "order_0001",
        "out_refund_no": "refund_0002",
        "amount": { "refund": 60, "total": 100, "currency": "CNY" },
    });
    let raw = ctx.post_refund(&rest).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
    // Without a notify_url a refund settles silently.
    ctx.platform.advance(60 * SECOND);
    assert_eq!(
        wechat_pay::settle_due_refunds(&ctx.platform.state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(ctx.deliver().await.attempted, 0);

    // Close: an unpaid order closes (204, signed, empty body), a paid one
    // does not, and a closed order cannot be ordered again.
    ctx.order("order_0002", 5).await;
    let raw = ctx.close("order_0002").await;
    assert_eq!(raw.status, StatusCode::NO_CONTENT);
    assert!(raw.body.is_empty());
    ctx.assert_signed(&platform_key, &raw.headers, b"");
    assert_eq!(ctx.query("order_0002").await["trade_state"], "CLOSED");
    let raw = ctx.close("order_0002").await;
    assert_eq!(raw.status, StatusCode::NO_CONTENT, "closing twice is fine");
    let raw = ctx.post_order(&ctx.order_body("order_0002", 5)).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "ORDER_CLOSED");
    let raw = ctx.close("order_0001").await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "ORDERPAID");
    let raw = ctx
        .v3(
            "GET",
            &format!("/v3/pay/transactions/out-trade-no/nope_000?mchid={mchid}"),
            None,
        )
        .await;
    assert_error(&raw, StatusCode::NOT_FOUND, "ORDER_NOT_EXIST");

    // The operator's listing.
    let (status, listing) = ctx
        .platform
        .admin(
            Method::GET,
            &format!("/admin/wechatpay/merchants/{mchid}/payments"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let payments = listing["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2);
    let first = payments
        .iter()
        .find(|p| p["out_trade_no"] == "order_0001")
        .unwrap();
    assert_eq!(first["trade_state"], "REFUND");
    assert_eq!(first["refunded_total"], 100);
    assert_eq!(first["refunds"].as_array().unwrap().len(), 2);
}

/// Every way a request signature can be wrong is 401 SIGN_ERROR, and even
/// those answers are signed.
async fn request_signatures_are_enforced(backend: Backend) {
    let ctx = setup(backend).await;
    let (serial, platform_key) = ctx.platform_key().await;
    let uri = "/v3/pay/transactions/jsapi";
    let body = ctx.order_body("order_0001", 1).to_string();
    let m = &ctx.merchant;
    let now = ctx.now_secs();

    // Tampered: signed one body, sent another.
    let auth = authorization(m, "POST", uri, &body, now, &m.serial_no);
    let tampered = body.replace("\"total\":1", "\"total\":100");
    let raw = ctx.send_with("POST", uri, &tampered, Some(auth)).await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");
    verify_signed(&raw.headers, &raw.body, &serial, &platform_key, now);

    // Signed for another path or query.
    let auth = authorization(
        m,
        "POST",
        "/v3/pay/transactions/app",
        &body,
        now,
        &m.serial_no,
    );
    let raw = ctx.send_with("POST", uri, &body, Some(auth)).await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");
    let query_uri = format!(
        "/v3/pay/transactions/out-trade-no/order_0001?mchid={}",
        m.mchid
    );
    let auth = authorization(
        m,
        "GET",
        "/v3/pay/transactions/out-trade-no/order_0001",
        "",
        now,
        &m.serial_no,
    );
    let raw = ctx.send_with("GET", &query_uri, "", Some(auth)).await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");

    // Signed by another key.
    let (stranger, _) = rsa_keys_pair();
    let impostor = Merchant {
        mchid: m.mchid.clone(),
        key: stranger,
        serial_no: m.serial_no.clone(),
        apiv3_key: m.apiv3_key.clone(),
    };
    let auth = authorization(&impostor, "POST", uri, &body, now, &m.serial_no);
    let raw = ctx.send_with("POST", uri, &body, Some(auth)).await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");

    // Wrong serial; the right one in lower case is fine.
    let auth = authorization(m, "POST", uri, &body, now, &"0".repeat(40));
    let raw = ctx.send_with("POST", uri, &body, Some(auth)).await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");
    assert!(
        raw.json()["message"]
            .as_str()
            .unwrap()
            .contains("serial_no")
    );
    let auth = authorization(m, "POST", uri, &body, now, &m.serial_no.to_lowercase());
    let raw = ctx.send_with("POST", uri, &body, Some(auth)).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());

    // Timestamps: 300 s either way is fine, 301 s is stale.
    for (skew, ok) in [(300, true), (-300, true), (301, false), (-301, false)] {
        let body = ctx
            .order_body(&format!("order_skew_{}", skew + 1000), 1)
            .to_string();
        let auth = authorization(m, "POST", uri, &body, now + skew, &m.serial_no);
        let raw = ctx.send_with("POST", uri, &body, Some(auth)).await;
        if ok {
            assert_eq!(raw.status, StatusCode::OK, "skew {skew}: {}", raw.json());
        } else {
            assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");
            assert!(
                raw.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("timestamp")
            );
        }
    }

    // No header, another scheme, an unknown merchant.
    let raw = ctx.send_with("POST", uri, &body, None).await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");
    let raw = ctx
        .send_with("POST", uri, &body, Some("Bearer abc".to_owned()))
        .await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");
    let unknown = Merchant {
        mchid: "1999999999".to_owned(),
        key: m.key.clone(),
        serial_no: m.serial_no.clone(),
        apiv3_key: String::new(),
    };
    let auth = authorization(&unknown, "POST", uri, &body, now, &m.serial_no);
    let raw = ctx.send_with("POST", uri, &body, Some(auth)).await;
    assert_error(&raw, StatusCode::UNAUTHORIZED, "SIGN_ERROR");

    // Unknown /v3 paths and wrong methods answer in WeChat's shape, signed.
    let raw = ctx.v3("GET", "/v3/pay/transactions/nothing", None).await;
    assert_error(&raw, StatusCode::NOT_FOUND, "NOT_FOUND");
    verify_signed(&raw.headers, &raw.body, &serial, &platform_key, now);
    let raw = ctx.v3("GET", uri, None).await;
    assert_error(&raw, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
}

fn rsa_keys_pair() -> (rsa_keys::PrivateKey, RsaPublicKey) {
    let pair = rsa_keys::generate_key_pair().unwrap();
    (
        rsa_keys::parse_private_key(&pair.private_pem).unwrap(),
        rsa_keys::parse_public_key(&pair.public_pem).unwrap(),
    )
}

/// The platform certificate is one for all instances, valid around now,
/// and its serial is exactly what Wechatpay-Serial carries.
async fn platform_certificate_is_shared(backend: Backend) {
    let ctx = setup(backend).await;
    let (serial, key) = ctx.platform_key().await;
    assert_eq!(serial.len(), 40);
    assert!(
        serial
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    );
    let raw = ctx.v3("GET", "/v3/certificates", None).await;
    let entry = &raw.json()["data"][0];
    assert_eq!(entry["effective_time"], "2023-11-14T06:13:20+08:00");
    assert_eq!(entry["expire_time"], "2028-11-13T06:13:20+08:00");
    assert_eq!(raw.header("wechatpay-serial"), serial);

    let second = ctx.platform.second_instance().await;
    let certificate = wechat_pay::platform_certificate(&second.state)
        .await
        .unwrap();
    assert_eq!(certificate.serial_no, serial);
    let (_, second_key) = wechat_pay::read_certificate(&certificate.certificate_pem).unwrap();
    assert_eq!(second_key, key);
    assert_eq!(START_MILLIS, ctx.platform.state.now());
}

/// Same request → same prepay_id (any key order); another request with the
/// same out_trade_no → OUT_TRADE_NO_USED; after two hours a new prepay_id;
/// and the validation errors name their field.
async fn orders_are_idempotent_and_validated(backend: Backend) {
    let ctx = setup(backend).await;
    let first = ctx.order("order_0001", 100).await;
    assert_eq!(ctx.order("order_0001", 100).await, first);
    // Fields in another order, and another payer IP: the same request.
    let mut reordered = serde_json::Map::new();
    let body = ctx.order_body("order_0001", 100);
    let mut entries: Vec<(String, Value)> = body.as_object().unwrap().clone().into_iter().collect();
    entries.reverse();
    reordered.extend(entries);
    let raw = ctx.post_order(&Value::Object(reordered)).await;
    assert_eq!(raw.json()["prepay_id"], first.as_str());

    let raw = ctx.post_order(&ctx.order_body("order_0001", 101)).await;
    assert_error(&raw, StatusCode::FORBIDDEN, "OUT_TRADE_NO_USED");

    ctx.platform.advance(Duration::from_secs(2 * 3600));
    let renewed = ctx.order("order_0001", 100).await;
    assert_ne!(renewed, first);
    assert_eq!(ctx.order("order_0001", 100).await, renewed);

    // Paid orders answer ORDERPAID.
    let (status, _) = ctx.pay(&renewed, "confirm").await;
    assert_eq!(status, StatusCode::OK);
    let raw = ctx.post_order(&ctx.order_body("order_0001", 100)).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "ORDERPAID");

    // Validation.
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/description", json!("x".repeat(128)), "PARAM_ERROR"),
        ("/out_trade_no", json!("abc"), "PARAM_ERROR"),
        ("/out_trade_no", json!("has space!"), "PARAM_ERROR"),
        (
            "/notify_url",
            json!("http://shop.example.com/notify"),
            "PARAM_ERROR",
        ),
        (
            "/notify_url",
            json!("https://shop.example.com/notify?x=1"),
            "PARAM_ERROR",
        ),
        ("/amount/total", json!(0), "PARAM_ERROR"),
        ("/amount/total", json!(1.5), "PARAM_ERROR"),
        ("/amount/total", json!("100"), "PARAM_ERROR"),
        ("/amount/currency", json!("USD"), "PARAM_ERROR"),
        (
            "/payer/openid",
            json!("o-not-a-user-of-this-app"),
            "PARAM_ERROR",
        ),
        ("/time_expire", json!("tomorrow"), "PARAM_ERROR"),
        (
            "/time_expire",
            json!("2020-01-01T00:00:00+08:00"),
            "PARAM_ERROR",
        ),
        ("/attach", json!("a".repeat(129)), "PARAM_ERROR"),
    ];
    for (pointer, value, code) in cases {
        let mut body = ctx.order_body("order_0009", 1);
        match body.pointer_mut(pointer) {
            Some(slot) => *slot = value.clone(),
            None => {
                body[&pointer[1..]] = value.clone();
            }
        }
        let raw = ctx.post_order(&body).await;
        assert_error(&raw, StatusCode::BAD_REQUEST, code);
        assert_eq!(raw.json()["detail"]["field"], pointer, "{value}");
        assert_eq!(raw.json()["detail"]["location"], "body");
    }
    let mut missing = ctx.order_body("order_0009", 1);
    missing.as_object_mut().unwrap().remove("description");
    let raw = ctx.post_order(&missing).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "PARAM_ERROR");
    assert_eq!(raw.json()["detail"]["field"], "/description");
    let raw = ctx
        .send_with(
            "POST",
            "/v3/pay/transactions/jsapi",
            "{not json",
            Some(authorization(
                &ctx.merchant,
                "POST",
                "/v3/pay/transactions/jsapi",
                "{not json",
                ctx.now_secs(),
                &ctx.merchant.serial_no,
            )),
        )
        .await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "PARAM_ERROR");

    // An appid the merchant is not bound to; a body naming another mchid.
    let (other_app, _) = ctx.platform.create_app(json!({})).await;
    let mut body = ctx.order_body("order_0009", 1);
    body["appid"] = json!(other_app);
    let raw = ctx.post_order(&body).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "APPID_MCHID_NOT_MATCH");
    let mut body = ctx.order_body("order_0009", 1);
    body["mchid"] = json!("1234567890");
    let raw = ctx.post_order(&body).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "MCH_NOT_EXISTS");
    let raw = ctx
        .v3("GET", "/v3/pay/transactions/out-trade-no/order_0001", None)
        .await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "PARAM_ERROR");
    assert_eq!(raw.json()["detail"]["location"], "query");

    // Refund idempotency on out_refund_no.
    let refund = json!({
        "out_trade_no": "order_0001",
        "out_refund_no": "R-1",
        "amount": { "refund": 10, "total": 100, "currency": "CNY" },
    });
    let a = ctx.post_refund(&refund).await;
    let b = ctx.post_refund(&refund).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json());
    assert_eq!(a.json()["refund_id"], b.json()["refund_id"]);
    let mut changed = refund.clone();
    changed["amount"]["refund"] = json!(11);
    let raw = ctx.post_refund(&changed).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let mut wrong_total = refund.clone();
    wrong_total["out_refund_no"] = json!("R-2");
    wrong_total["amount"]["total"] = json!(99);
    let raw = ctx.post_refund(&wrong_total).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let mut unknown = refund.clone();
    unknown["out_refund_no"] = json!("R-3");
    unknown["out_trade_no"] = json!("order_none");
    let raw = ctx.post_refund(&unknown).await;
    assert_error(&raw, StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS");
    let raw = ctx
        .v3("GET", "/v3/refund/domestic/refunds/R-404", None)
        .await;
    assert_error(&raw, StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS");
    // An unpaid order cannot be refunded.
    ctx.order("order_0003", 100).await;
    let mut unpaid = refund.clone();
    unpaid["out_refund_no"] = json!("R-4");
    unpaid["out_trade_no"] = json!("order_0003");
    let raw = ctx.post_refund(&unpaid).await;
    assert_error(&raw, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
}

/// `wx.requestPayment`: paySign, the app, the user, cancel, fail, and
/// orders that can no longer be paid, with WeChat's errMsg texts.
async fn cashier_checks_pay_sign_app_and_user(backend: Backend) {
    let ctx = setup(backend).await;
    let state = &ctx.platform.state;
    let prepay_id = ctx.order("order_0001", 100).await;
    let good = ctx.pay_params(&ctx.appid, &prepay_id);

    let fail_msg = |result: Result<wechat_pay::PaymentOutcome, PayError>| match result {
        Ok(outcome) => panic!("paid: {outcome:?}"),
        Err(err) => err.err_msg(),
    };

    // A tampered or foreign paySign.
    let mut bad = good.clone();
    bad["paySign"] = json!(rsa_keys::sign(&rsa_keys_pair().0, b"whatever"));
    let msg = fail_msg(
        wechat_pay::request_payment(state, &ctx.appid, &ctx.user, &bad, PayDecision::Confirm).await,
    );
    assert!(
        msg.starts_with("requestPayment:fail 支付验证签名失败"),
        "{msg}"
    );
    let mut bad = good.clone();
    bad["nonceStr"] = json!("another");
    let msg = fail_msg(
        wechat_pay::request_payment(state, &ctx.appid, &ctx.user, &bad, PayDecision::Confirm).await,
    );
    assert!(msg.contains("paySign"), "{msg}");

    // Parameter errors in WeChat's words.
    let mut bad = good.clone();
    bad["timeStamp"] = json!(1_700_000_000);
    let msg = fail_msg(
        wechat_pay::request_payment(state, &ctx.appid, &ctx.user, &bad, PayDecision::Confirm).await,
    );
    assert_eq!(
        msg,
        "requestPayment:fail parameter error: parameter.timeStamp should be String instead of Number;"
    );
    let mut bad = good.clone();
    bad["signType"] = json!("MD5");
    assert!(
        wechat_pay::request_payment(state, &ctx.appid, &ctx.user, &bad, PayDecision::Confirm)
            .await
            .is_err()
    );

    // Another app (even with a paySign made for it), another user.
    let (other_app, _) = ctx.platform.create_app(json!({})).await;
    let for_other = ctx.pay_params(&other_app, &prepay_id);
    let msg = fail_msg(
        wechat_pay::request_payment(
            state,
            &other_app,
            &ctx.user,
            &for_other,
            PayDecision::Confirm,
        )
        .await,
    );
    assert!(msg.contains("another appid"), "{msg}");
    let bob = ctx.platform.create_user(json!({ "id": "bob" })).await;
    let msg = fail_msg(
        wechat_pay::request_payment(state, &ctx.appid, &bob, &good, PayDecision::Confirm).await,
    );
    assert!(msg.contains("another user"), "{msg}");

    // Cancel: the user closes the cashier; the order stays payable.
    let result =
        wechat_pay::request_payment(state, &ctx.appid, &ctx.user, &good, PayDecision::Cancel).await;
    assert!(matches!(result, Err(PayError::Cancel)));
    assert_eq!(fail_msg(result), "requestPayment:fail cancel");
    let (status, body) = ctx.pay(&prepay_id, "cancel").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["errMsg"], "requestPayment:fail cancel");
    assert_eq!(body["error"]["code"], "payment_cancelled");
    assert_eq!(ctx.query("order_0001").await["trade_state"], "NOTPAY");
    assert_eq!(ctx.deliver().await.attempted, 0, "nothing to announce");

    // Pay; paying again fails.
    let outcome =
        wechat_pay::request_payment(state, &ctx.appid, &ctx.user, &good, PayDecision::Confirm)
            .await
            .unwrap();
    assert_eq!(outcome.err_msg, "requestPayment:ok");
    assert_eq!(outcome.amount_total, 100);
    let msg = fail_msg(
        wechat_pay::request_payment(state, &ctx.appid, &ctx.user, &good, PayDecision::Confirm)
            .await,
    );
    assert!(msg.contains("已支付"), "{msg}");

    // A declined payment: PAYERROR, and the order is done for.
    let prepay_2 = ctx.order("order_0002", 5).await;
    let (status, body) = ctx.pay(&prepay_2, "fail").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "payment_failed");
    assert!(
        body["errMsg"]
            .as_str()
            .unwrap()
            .starts_with("requestPayment:fail ")
    );
    let state_2 = ctx.query("order_0002").await;
    assert_eq!(state_2["trade_state"], "PAYERROR");
    let (status, _) = ctx.pay(&prepay_2, "confirm").await;
    assert_eq!(status, StatusCode::CONFLICT);

    // An expired prepay_id cannot be paid; ordering again gives one that can.
    let prepay_3 = ctx.order("order_0003", 7).await;
    ctx.platform.advance(Duration::from_secs(2 * 3600));
    let (status, body) = ctx.pay(&prepay_3, "confirm").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["errMsg"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let prepay_3b = ctx.order("order_0003", 7).await;
    let (status, body) = ctx.pay(&prepay_3b, "confirm").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // And the replaced prepay_id is gone.
    let (status, body) = ctx.pay(&prepay_3, "confirm").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // A closed order cannot be paid.
    let prepay_4 = ctx.order("order_0004", 7).await;
    let raw = ctx.close("order_0004").await;
    assert_eq!(raw.status, StatusCode::NO_CONTENT);
    let (status, body) = ctx.pay(&prepay_4, "confirm").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["errMsg"].as_str().unwrap().contains("关闭"), "{body}");
}

/// A notify_url that is down gets retried exactly on WeChat's schedule
/// (15s, 15s, 30s, 3m, …, 6h), every attempt freshly signed, and is given
/// up after the 16th; one that recovers is delivered once.
async fn notifications_retry_on_the_documented_schedule(backend: Backend) {
    let ctx = setup(backend).await;
    let platform_key = ctx.platform_key().await;

    // Down for good: 16 attempts.
    ctx.notify.script(&[500; 16]);
    let prepay_id = ctx.order("order_0001", 100).await;
    ctx.pay(&prepay_id, "confirm").await;
    let schedule = notify::Channel::WechatPay.retry_schedule();
    assert_eq!(schedule.len(), 15);
    let first = ctx.deliver().await;
    assert_eq!((first.attempted, first.retrying), (1, 1), "{first:?}");
    let mut bodies = Vec::new();
    for (i, wait) in schedule.iter().enumerate() {
        // Not a millisecond early…
        ctx.platform.advance(*wait - Duration::from_millis(1));
        assert_eq!(
            ctx.deliver().await.attempted,
            0,
            "retry {} came early",
            i + 1
        );
        // …and exactly on time.
        ctx.platform.advance(Duration::from_millis(1));
        let report = ctx.deliver().await;
        assert_eq!(report.attempted, 1, "retry {} after {wait:?}", i + 1);
        if i + 1 == schedule.len() {
            assert_eq!(report.gave_up, 1);
        } else {
            assert_eq!(report.retrying, 1);
        }
        let received = ctx.notify.take();
        let (headers, body) = received.last().unwrap();
        ctx.assert_signed(&platform_key, headers, body.as_bytes());
        bodies.push(body.clone());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the same body each time"
    );
    ctx.platform.advance(Duration::from_secs(24 * 3600));
    assert_eq!(ctx.deliver().await.attempted, 0, "given up");

    let (status, listing) = ctx
        .platform
        .admin(Method::GET, "/admin/notifications?channel=wechatpay", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let record = &listing["notifications"][0];
    assert_eq!(record["attempts"], 16);
    assert_eq!(record["last_status"], 500);
    assert!(record["gave_up_at"].is_i64());
    assert!(record["next_attempt_at"].is_null());
    let history = record["history"].as_array().unwrap();
    assert_eq!(history.len(), 16);
    let started: Vec<i64> = history
        .iter()
        .map(|a| a["started_at"].as_i64().unwrap())
        .collect();
    let gaps: Vec<Duration> = started
        .windows(2)
        .map(|w| Duration::from_millis((w[1] - w[0]) as u64))
        .collect();
    assert_eq!(gaps, schedule);
    let (status, _) = ctx
        .platform
        .admin(
            Method::GET,
            "/admin/notifications?channel=carrier-pigeon",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, alipay) = ctx
        .platform
        .admin(Method::GET, "/admin/notifications?channel=alipay", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alipay["notifications"], json!([]));

    // Down twice, then up: delivered at the third attempt, 30 s in.
    ctx.notify.script(&[500, 503]);
    let prepay_id = ctx.order("order_0002", 100).await;
    ctx.pay(&prepay_id, "confirm").await;
    let start = ctx.platform.state.now();
    assert_eq!(ctx.deliver().await.retrying, 1);
    ctx.platform.advance(15 * SECOND);
    assert_eq!(ctx.deliver().await.retrying, 1);
    ctx.platform.advance(15 * SECOND);
    assert_eq!(ctx.deliver().await.delivered, 1);
    let received = ctx.notify.take();
    assert_eq!(received.len(), 3);
    // Each attempt was signed when it was sent.
    let stamps: Vec<i64> = received
        .iter()
        .map(|(h, _)| h["wechatpay-timestamp"].to_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(stamps, [start / 1000, start / 1000 + 15, start / 1000 + 30]);
    let (_, transaction) = open_notification(&ctx.merchant.apiv3_key, &received[2].1);
    assert_eq!(transaction["out_trade_no"], "order_0002");
    ctx.platform.advance(Duration::from_secs(7 * 3600));
    assert_eq!(ctx.deliver().await.attempted, 0, "delivered once only");
}

/// Deliveries live in the database: a new instance on the same database
/// sends what the first queued, and two instances delivering at once send
/// each attempt once.
async fn deliveries_survive_restarts_and_are_claimed_once(backend: Backend) {
    let ctx = setup(backend).await;
    for n in 1..=3 {
        let prepay_id = ctx.order(&format!("order_000{n}"), n).await;
        let (status, _) = ctx.pay(&prepay_id, "confirm").await;
        assert_eq!(status, StatusCode::OK);
    }
    // "Restart": close the first instance, start two new ones on its database.
    ctx.platform.state.db.close().await;
    let a = ctx.platform.second_instance().await;
    let b = ctx.platform.second_instance().await;
    let (ra, rb) = tokio::join!(notify::deliver_due(&a.state), notify::deliver_due(&b.state));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.delivered + rb.delivered, 3, "{ra:?} {rb:?}");
    let received = ctx.notify.take();
    assert_eq!(received.len(), 3);
    let mut orders: Vec<String> = received
        .iter()
        .map(|(_, body)| {
            open_notification(&ctx.merchant.apiv3_key, body).1["out_trade_no"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    orders.sort();
    assert_eq!(orders, ["order_0001", "order_0002", "order_0003"]);
    a.advance(Duration::from_secs(3600));
    assert_eq!(notify::deliver_due(&a.state).await.unwrap().attempted, 0);
    assert_eq!(ctx.notify.count(), 0);

    // A refund due on one instance is settled once, whichever looks first.
    let refund = json!({
        "out_trade_no": "order_0003",
        "out_refund_no": "R-1",
        "notify_url": ctx.notify.url,
        "amount": { "refund": 3, "total": 3, "currency": "CNY" },
    });
    let router = bonsai_platform::build_router(a.state.clone());
    let auth_ctx = Ctx {
        platform: a,
        router,
        appid: ctx.appid.clone(),
        user: ctx.user.clone(),
        openid: ctx.openid.clone(),
        merchant: Merchant {
            mchid: ctx.merchant.mchid.clone(),
            key: ctx.merchant.key.clone(),
            serial_no: ctx.merchant.serial_no.clone(),
            apiv3_key: ctx.merchant.apiv3_key.clone(),
        },
        notify: ctx.notify.clone(),
    };
    let raw = auth_ctx.post_refund(&refund).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
    auth_ctx.platform.advance(Duration::from_secs(60));
    let (sa, sb) = tokio::join!(
        wechat_pay::settle_due_refunds(&auth_ctx.platform.state),
        wechat_pay::settle_due_refunds(&b.state)
    );
    assert_eq!(sa.unwrap() + sb.unwrap(), 1);
    assert_eq!(notify::deliver_due(&b.state).await.unwrap().delivered, 1);
}

on_both_databases!(
    order_pay_refund_close_round_trip,
    request_signatures_are_enforced,
    platform_certificate_is_shared,
    orders_are_idempotent_and_validated,
    cashier_checks_pay_sign_app_and_user,
    notifications_retry_on_the_documented_schedule,
    deliveries_survive_restarts_and_are_claimed_once,
);
