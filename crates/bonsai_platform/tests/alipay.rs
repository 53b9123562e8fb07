//! The Alipay sandbox through the real router, on SQLite and on Postgres:
//! apps and keys, the gateway (signed requests, signed answers), the
//! cashier, notifications on the virtual clock, and oauth.token.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bonsai_platform::alipay::{self, PayDecision};
use bonsai_platform::{notify, rsa_keys};
use common::{Backend, TestPlatform};
use serde_json::{Value, json};
use tower::ServiceExt;

const MINUTE: Duration = Duration::from_secs(60);

struct Merchant {
    platform: TestPlatform,
    router: Router,
    appid: String,
    app_id: String,
    private_key: rsa_keys::PrivateKey,
    alipay_key: rsa::RsaPublicKey,
    seller_id: String,
    user: String,
    buyer_id: String,
    open_id: String,
}

/// A mini program, its Alipay app (keys generated), and alice as a buyer.
async fn setup(backend: Backend) -> Merchant {
    let platform = TestPlatform::start(backend).await;
    let (appid, _) = platform.create_app(json!({ "name": "Shop" })).await;
    let (status, app) = platform
        .admin(
            Method::POST,
            "/admin/alipay/apps",
            Some(json!({ "name": "Shop", "appid_link": appid })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let user = platform
        .create_user(json!({ "id": "alice", "phone": { "number": "13800138000" } }))
        .await;
    let app_id = app["app_id"].as_str().expect("app_id").to_owned();
    let (status, buyer) = platform
        .admin(
            Method::POST,
            "/admin/alipay/buyers",
            Some(json!({ "user": user, "app_id": app_id })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{buyer}");
    let router = bonsai_platform::build_router(platform.state.clone());
    Merchant {
        router,
        appid,
        private_key: rsa_keys::parse_private_key(app["app_private_key"].as_str().expect("key"))
            .expect("private key"),
        alipay_key: rsa_keys::parse_public_key(app["alipay_public_key"].as_str().expect("key"))
            .expect("public key"),
        seller_id: app["seller_id"].as_str().expect("seller").to_owned(),
        app_id,
        user,
        buyer_id: buyer["user_id"].as_str().expect("user_id").to_owned(),
        open_id: buyer["open_id"].as_str().expect("open_id").to_owned(),
        platform,
    }
}

/// `k=v&…` sorted, without the names in `skip` and empty values.
fn content(params: &[(String, String)], skip: &[&str], keep_empty: bool) -> String {
    let mut pairs: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, v)| !skip.contains(&k.as_str()) && (keep_empty || !v.is_empty()))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(params: &[(String, String)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.finish()
}

/// The inner object of an answer, found as the Node SDK finds it.
fn inner_text<'a>(body: &'a str, key: &str) -> &'a str {
    let start = body
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {body}"))
        + key.len()
        + 3;
    let end = body.rfind(",\"sign\":").expect("sign");
    &body[start..end]
}

impl Merchant {
    async fn admin_get(&self, uri: &str) -> (StatusCode, Value) {
        self.platform.admin(Method::GET, uri, None).await
    }

    fn common(&self, method: &str) -> Vec<(String, String)> {
        [
            ("app_id", self.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2024-05-01 12:00:00"),
            ("version", "1.0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn signed(&self, mut params: Vec<(String, String)>) -> Vec<(String, String)> {
        let sign = rsa_keys::sign(
            &self.private_key,
            content(&params, &["sign"], false).as_bytes(),
        );
        params.push(("sign".to_owned(), sign));
        params
    }

    async fn raw(&self, request: Request<Body>) -> String {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    /// Posts as the Node SDK does: common parameters in the query,
    /// biz_content in a form body. Returns the verified inner object.
    async fn post(&self, params: Vec<(String, String)>, response_key: &str) -> Value {
        let (query, body): (Vec<_>, Vec<_>) =
            params.into_iter().partition(|(k, _)| k != "biz_content");
        let request = Request::post(format!("/gateway.do?{}", encode(&query)))
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(Body::from(encode(&body)))
            .expect("request");
        let text = self.raw(request).await;
        self.verified(&text, response_key)
    }

    /// Checks the answer's shape and signature; returns the inner object.
    fn verified(&self, text: &str, response_key: &str) -> Value {
        let value: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("JSON: {text}"));
        let keys: Vec<&String> = value.as_object().expect("object").keys().collect();
        assert_eq!(keys, [response_key, "sign"], "{text}");
        let inner = inner_text(text, response_key);
        let sign = value["sign"].as_str().expect("sign");
        assert!(
            rsa_keys::verify(&self.alipay_key, inner.as_bytes(), sign),
            "the answer's signature does not verify: {text}"
        );
        value[response_key].clone()
    }

    async fn exec(&self, method: &str, biz: Value) -> Value {
        let mut params = self.common(method);
        params.push(("biz_content".to_owned(), biz.to_string()));
        let key = format!("{}_response", method.replace('.', "_"));
        self.post(self.signed(params), &key).await
    }

    async fn create(&self, out_trade_no: &str, amount: &str) -> Value {
        self.exec(
            "alipay.trade.create",
            json!({
                "out_trade_no": out_trade_no,
                "total_amount": amount,
                "subject": "迷你罗汉松",
                "product_code": "JSAPI_PAY",
                "buyer_id": self.buyer_id,
            }),
        )
        .await
    }

    async fn create_with_notify(
        &self,
        out_trade_no: &str,
        amount: &str,
        notify_url: &str,
    ) -> String {
        let mut params = self.common("alipay.trade.create");
        params.push(("notify_url".to_owned(), notify_url.to_owned()));
        params.push((
            "biz_content".to_owned(),
            json!({
                "out_trade_no": out_trade_no,
                "total_amount": amount,
                "subject": "迷你罗汉松",
                "buyer_open_id": self.open_id,
            })
            .to_string(),
        ));
        let created = self
            .post(self.signed(params), "alipay_trade_create_response")
            .await;
        assert_eq!(created["code"], "10000", "{created}");
        created["trade_no"].as_str().expect("trade_no").to_owned()
    }

    async fn query(&self, trade_no: &str) -> Value {
        self.exec("alipay.trade.query", json!({ "trade_no": trade_no }))
            .await
    }

    async fn pay(&self, trade_no: &str, decision: &str) -> Value {
        let (status, body) = self
            .platform
            .admin(
                Method::POST,
                "/admin/alipay/pay",
                Some(json!({ "app_id": self.app_id, "user": self.user, "trade_no": trade_no, "decision": decision })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

fn assert_business(inner: &Value, sub_code: &str) {
    assert_eq!(inner["code"], "40004", "{inner}");
    assert_eq!(inner["msg"], "Business Failed", "{inner}");
    assert_eq!(inner["sub_code"], sub_code, "{inner}");
}

async fn apps_and_keys(backend: Backend) {
    let m = setup(backend).await;
    assert!(
        m.app_id.starts_with("2021") && m.app_id.len() == 16,
        "{}",
        m.app_id
    );
    assert!(m.seller_id.starts_with("2088") && m.seller_id.len() == 16);
    assert!(m.buyer_id.starts_with("2088") && m.buyer_id.len() == 16);
    assert_eq!(m.open_id.len(), 47);

    // The app's key pair: the private half signs what the public half verifies.
    let (status, app) = m
        .admin_get(&format!("/admin/alipay/apps/{}", m.app_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    assert!(app.get("app_private_key").is_none());
    let public = rsa_keys::parse_public_key(app["app_public_key"].as_str().expect("key"))
        .expect("public key");
    let signature = rsa_keys::sign(&m.private_key, b"hello");
    assert!(rsa_keys::verify(&public, b"hello", &signature));
    // The linked mini program's appid names the same app.
    let (_, by_link) = m
        .admin_get(&format!("/admin/alipay/apps/{}", m.appid))
        .await;
    assert_eq!(by_link["app_id"], app["app_id"]);

    // One platform key for every app and every instance.
    let (status, second) = m
        .platform
        .admin(
            Method::POST,
            "/admin/alipay/apps",
            Some(json!({ "app_id": "2021000000000001", "app_public_key": app["app_public_key"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["app_private_key"], Value::Null);
    assert_eq!(second["alipay_public_key"], app["alipay_public_key"]);
    let other = m.platform.second_instance().await;
    let (_, seen) = other
        .admin(Method::GET, "/admin/alipay/apps/2021000000000001", None)
        .await;
    assert_eq!(seen["alipay_public_key"], app["alipay_public_key"]);

    let refusals = [
        (
            json!({ "app_id": "2021000000000001" }),
            StatusCode::CONFLICT,
            "alipay_app_exists",
        ),
        (
            json!({ "app_id": "abc" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({ "appid_link": "wxnobody" }),
            StatusCode::NOT_FOUND,
            "app_not_found",
        ),
        (
            json!({ "app_public_key": "not a key" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({ "nonsense": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (body, status, code) in refusals {
        let (got, answer) = m
            .platform
            .admin(Method::POST, "/admin/alipay/apps", Some(body.clone()))
            .await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body} → {answer}"
        );
    }
    let (status, missing) = m
        .admin_get("/admin/alipay/apps/2021999999999999/trades")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "alipay_app_not_found");

    // Buyer ids are stable.
    let again = alipay::buyer(&m.platform.state, &m.user, Some(&m.app_id))
        .await
        .expect("buyer");
    assert_eq!(again.user_id, m.buyer_id);
    assert_eq!(again.open_id.as_deref(), Some(m.open_id.as_str()));
}

/// create → query → pay → refund (partial, replayed, full) → query, and close.
async fn trade_round_trip(backend: Backend) {
    let m = setup(backend).await;
    let created = m.create("SO_20240501_0001", "88.80").await;
    assert_eq!(created["code"], "10000", "{created}");
    assert_eq!(created["msg"], "Success");
    assert_eq!(created["out_trade_no"], "SO_20240501_0001");
    let trade_no = created["trade_no"].as_str().expect("trade_no").to_owned();
    assert_eq!(trade_no.len(), 28);
    assert!(trade_no.chars().all(|c| c.is_ascii_digit()));

    // The same order again: the same trade; changed, refused.
    assert_eq!(
        m.create("SO_20240501_0001", "88.80").await["trade_no"],
        json!(trade_no)
    );
    assert_business(
        &m.create("SO_20240501_0001", "99.00").await,
        "ACQ.CONTEXT_INCONSISTENT",
    );

    let waiting = m.query(&trade_no).await;
    assert_eq!(waiting["code"], "10000", "{waiting}");
    assert_eq!(waiting["trade_status"], "WAIT_BUYER_PAY");
    assert_eq!(waiting["total_amount"], "88.80");
    assert_eq!(waiting["buyer_user_id"], json!(m.buyer_id));
    assert_eq!(waiting["buyer_logon_id"], "138****8000");
    assert!(waiting.get("send_pay_date").is_none());

    m.platform.advance(MINUTE);
    let paid = m.pay(&trade_no, "pay").await;
    assert_eq!(
        paid,
        json!({ "resultCode": "9000", "memo": "支付成功", "trade_status": "TRADE_SUCCESS" })
    );
    let success = m
        .exec(
            "alipay.trade.query",
            json!({ "out_trade_no": "SO_20240501_0001" }),
        )
        .await;
    assert_eq!(success["trade_status"], "TRADE_SUCCESS");
    assert_eq!(success["receipt_amount"], "88.80");
    // 2023-11-14T22:14:20Z, a minute after the start, in Beijing time.
    assert_eq!(success["send_pay_date"], "2023-11-15 06:14:20");
    assert_business(
        &m.create("SO_20240501_0001", "88.80").await,
        "ACQ.TRADE_HAS_SUCCESS",
    );
    assert_business(
        &m.exec("alipay.trade.close", json!({ "trade_no": trade_no }))
            .await,
        "ACQ.TRADE_STATUS_ERROR",
    );

    let refund = |amount: &str, request: &str| {
        m.exec(
            "alipay.trade.refund",
            json!({ "trade_no": trade_no, "refund_amount": amount, "out_request_no": request, "refund_reason": "不想要了" }),
        )
    };
    let first = refund("10.00", "R1").await;
    assert_eq!(first["code"], "10000", "{first}");
    assert_eq!(first["fund_change"], "Y");
    assert_eq!(first["refund_fee"], "10.00");
    assert_eq!(first["send_back_fee"], "10.00");
    assert_eq!(first["buyer_user_id"], json!(m.buyer_id));
    let replay = refund("10.00", "R1").await;
    assert_eq!(replay["fund_change"], "N", "{replay}");
    assert_eq!(replay["refund_fee"], "10.00");
    assert_business(
        &refund("11.00", "R1").await,
        "ACQ.DISCORDANT_REPEAT_REQUEST",
    );
    assert_business(
        &refund("78.81", "R2").await,
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    );
    assert_business(&refund("0", "R2").await, "ACQ.REASON_TRADE_REFUND_FEE_ERR");
    let rest = refund("78.80", "R2").await;
    assert_eq!(rest["refund_fee"], "88.80", "{rest}");
    assert_eq!(m.query(&trade_no).await["trade_status"], "TRADE_CLOSED");
    assert_eq!(refund("78.80", "R2").await["fund_change"], "N");
    assert_business(&refund("0.01", "R3").await, "ACQ.TRADE_HAS_CLOSE");
    let found = m
        .exec(
            "alipay.trade.fastpay.refund.query",
            json!({ "trade_no": trade_no, "out_request_no": "R1" }),
        )
        .await;
    assert_eq!(found["refund_status"], "REFUND_SUCCESS", "{found}");
    assert_eq!(found["refund_amount"], "10.00");
    let unknown = m
        .exec(
            "alipay.trade.fastpay.refund.query",
            json!({ "trade_no": trade_no, "out_request_no": "R9" }),
        )
        .await;
    assert_eq!(unknown, json!({ "code": "10000", "msg": "Success" }));

    // An unpaid trade closes, once and for all.
    let other = m.create("SO_20240501_0002", "1").await;
    let other_no = other["trade_no"].as_str().expect("trade_no");
    let closed = m
        .exec(
            "alipay.trade.close",
            json!({ "out_trade_no": "SO_20240501_0002" }),
        )
        .await;
    assert_eq!(closed["code"], "10000", "{closed}");
    assert_eq!(closed["trade_no"], json!(other_no));
    assert_eq!(m.query(other_no).await["trade_status"], "TRADE_CLOSED");
    assert_business(
        &m.create("SO_20240501_0002", "1").await,
        "ACQ.TRADE_HAS_CLOSE",
    );
    assert_eq!(m.pay(other_no, "pay").await["resultCode"], "4000");
    assert_business(
        &m.exec(
            "alipay.trade.refund",
            json!({ "trade_no": other_no, "refund_amount": "1" }),
        )
        .await,
        "ACQ.TRADE_STATUS_ERROR",
    );

    let missing = m.query("2024050122001234567890123456").await;
    assert_business(&missing, "ACQ.TRADE_NOT_EXIST");
    assert_eq!(missing["sub_msg"], "交易不存在");

    // Bad orders.
    let bad = [
        json!({ "out_trade_no": "A-1", "total_amount": "1", "subject": "x", "buyer_id": m.buyer_id }),
        json!({ "out_trade_no": "A1", "total_amount": "0.001", "subject": "x", "buyer_id": m.buyer_id }),
        json!({ "out_trade_no": "A1", "total_amount": "0.00", "subject": "x", "buyer_id": m.buyer_id }),
        json!({ "out_trade_no": "A1", "total_amount": "1", "subject": "a=b", "buyer_id": m.buyer_id }),
        json!({ "out_trade_no": "A1", "total_amount": "1", "subject": "x" }),
        json!({ "out_trade_no": "A1", "total_amount": "1", "subject": "x", "buyer_id": "2088000000000000" }),
        json!({ "out_trade_no": "A1", "total_amount": "1", "subject": "x", "buyer_id": m.buyer_id, "product_code": "QUICK_MSECURITY_PAY" }),
        json!({ "out_trade_no": "A1", "total_amount": "1", "subject": "x", "buyer_id": m.buyer_id, "timeout_express": "16d" }),
    ];
    for biz in bad {
        let answer = m.exec("alipay.trade.create", biz.clone()).await;
        assert_business(&answer, "ACQ.INVALID_PARAMETER");
    }
    let too_much = m
        .exec(
            "alipay.trade.create",
            json!({ "out_trade_no": "A1", "total_amount": 100000000.01, "subject": "x", "buyer_id": m.buyer_id }),
        )
        .await;
    assert_business(&too_much, "ACQ.TOTAL_FEE_EXCEED");
    // Numbers are amounts too.
    let numeric = m
        .exec(
            "alipay.trade.create",
            json!({ "out_trade_no": "A1", "total_amount": 100000000, "subject": "x", "buyer_id": m.buyer_id }),
        )
        .await;
    assert_eq!(numeric["code"], "10000", "{numeric}");

    // The admin listing, newest first.
    let (status, trades) = m
        .admin_get(&format!("/admin/alipay/apps/{}/trades", m.app_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{trades}");
    let trades = trades.as_array().expect("list");
    assert_eq!(trades.len(), 3);
    let first_trade = trades
        .iter()
        .find(|t| t["trade_no"] == json!(trade_no))
        .expect("listed");
    assert_eq!(first_trade["trade_status"], "TRADE_CLOSED");
    assert_eq!(first_trade["refunded_amount"], "88.80");
    assert_eq!(first_trade["user"], "alice");
    assert_eq!(first_trade["refunds"].as_array().map(Vec::len), Some(2));
}

/// What the gateway refuses before any business: each answer signed.
async fn common_parameters_and_signatures(backend: Backend) {
    let m = setup(backend).await;
    let biz = json!({ "trade_no": "1" }).to_string();
    let with_biz = |mut params: Vec<(String, String)>| {
        params.push(("biz_content".to_owned(), biz.clone()));
        params
    };
    let query_key = "alipay_trade_query_response";

    // A signature that does not match: 40002 isv.invalid-signature, signed.
    let mut tampered = m.signed(with_biz(m.common("alipay.trade.query")));
    for (k, v) in tampered.iter_mut() {
        if k == "biz_content" {
            *v = json!({ "trade_no": "2" }).to_string();
        }
    }
    let answer = m.post(tampered, query_key).await;
    assert_eq!(answer["code"], "40002", "{answer}");
    assert_eq!(answer["msg"], "Invalid Arguments");
    assert_eq!(answer["sub_code"], "isv.invalid-signature");
    let sub_msg = answer["sub_msg"].as_str().unwrap_or_default();
    assert!(sub_msg.contains("app_id="), "{sub_msg}");
    assert!(sub_msg.contains("sign_type=RSA2"), "{sub_msg}");

    // Signed by someone else's key.
    let stranger = rsa_keys::generate_key_pair().expect("key");
    let stranger = rsa_keys::parse_private_key(&stranger.private_pem).expect("key");
    let mut params = with_biz(m.common("alipay.trade.query"));
    let sign = rsa_keys::sign(&stranger, content(&params, &["sign"], false).as_bytes());
    params.push(("sign".to_owned(), sign));
    assert_eq!(
        m.post(params, query_key).await["sub_code"],
        "isv.invalid-signature"
    );

    // sign_type is signed too.
    let mut params = m.signed(with_biz(m.common("alipay.trade.query")));
    params.retain(|(k, _)| k != "sign_type");
    params.push(("sign_type".to_owned(), "RSA".to_owned()));
    assert_eq!(
        m.post(params, query_key).await["sub_code"],
        "isv.invalid-signature-type"
    );

    let without = |name: &str| {
        let mut params = with_biz(m.common("alipay.trade.query"));
        params.retain(|(k, _)| k != name);
        m.signed(params)
    };
    for (name, sub_code) in [
        ("app_id", "isv.missing-app-id"),
        ("sign_type", "isv.missing-signature-type"),
        ("timestamp", "isv.missing-timestamp"),
        ("version", "isv.missing-version"),
    ] {
        let answer = m.post(without(name), query_key).await;
        assert_eq!(answer["code"], "40001", "{name}: {answer}");
        assert_eq!(answer["msg"], "Missing Required Arguments");
        assert_eq!(answer["sub_code"], sub_code);
    }
    let unsigned = with_biz(m.common("alipay.trade.query"));
    assert_eq!(
        m.post(unsigned, query_key).await["sub_code"],
        "isv.missing-signature"
    );
    let answer = m.post(without("method"), "error_response").await;
    assert_eq!(answer["sub_code"], "isv.missing-method", "{answer}");
    let answer = m
        .post(
            m.signed(with_biz(m.common("alipay.trade.pay"))),
            "error_response",
        )
        .await;
    assert_eq!(answer["sub_code"], "isv.invalid-method", "{answer}");

    let replaced = |name: &str, value: &str| {
        let mut params = with_biz(m.common("alipay.trade.query"));
        for (k, v) in params.iter_mut() {
            if k == name {
                *v = value.to_owned();
            }
        }
        m.signed(params)
    };
    for (name, value, sub_code) in [
        ("app_id", "2021999999999999", "isv.invalid-app-id"),
        ("timestamp", "2024/05/01 12:00:00", "isv.invalid-timestamp"),
        ("charset", "GBK", "isv.invalid-charset"),
        ("format", "XML", "isv.invalid-format"),
        ("biz_content", "{not json", "isv.invalid-parameter"),
    ] {
        let answer = m.post(replaced(name, value), query_key).await;
        assert_eq!(answer["code"], "40002", "{name}: {answer}");
        assert_eq!(answer["sub_code"], sub_code);
    }

    // Everything in the query of a GET, as the Python SDKs send it.
    let params = m.signed(with_biz(m.common("alipay.trade.query")));
    let request = Request::get(format!("/gateway.do?{}", encode(&params)))
        .body(Body::empty())
        .expect("request");
    let text = m.raw(request).await;
    assert_business(&m.verified(&text, query_key), "ACQ.TRADE_NOT_EXIST");

    // An empty parameter signed as the Node SDK signs it (kept as `k=`).
    let mut params = with_biz(m.common("alipay.trade.query"));
    params.push(("app_auth_token".to_owned(), String::new()));
    let sign = rsa_keys::sign(&m.private_key, content(&params, &["sign"], true).as_bytes());
    params.push(("sign".to_owned(), sign));
    assert_business(&m.post(params, query_key).await, "ACQ.TRADE_NOT_EXIST");
}

/// `my.tradePay`: every decision, and the trades it may not pay.
async fn cashier(backend: Backend) {
    let m = setup(backend).await;
    let trade_no = m.create("SO_1", "9.90").await["trade_no"]
        .as_str()
        .expect("trade_no")
        .to_owned();
    assert_eq!(
        m.pay(&trade_no, "cancel").await,
        json!({ "resultCode": "6001", "memo": "用户中途取消", "trade_status": "WAIT_BUYER_PAY" })
    );
    assert_eq!(m.pay(&trade_no, "fail").await["resultCode"], "4000");
    assert_eq!(m.query(&trade_no).await["trade_status"], "WAIT_BUYER_PAY");

    // Not bob's trade.
    let bob = m.platform.create_user(json!({ "id": "bob" })).await;
    let state = &m.platform.state;
    let as_bob = alipay::trade_pay(state, &m.app_id, &bob, &trade_no, PayDecision::Pay)
        .await
        .expect("cashier");
    assert_eq!(
        (as_bob.result_code.as_str(), as_bob.memo.as_str()),
        ("4000", "交易买家不匹配")
    );

    // The mini program's appid names the app, as the engine's host knows it.
    let processing =
        alipay::trade_pay(state, &m.appid, &m.user, &trade_no, PayDecision::Processing)
            .await
            .expect("cashier");
    assert_eq!(processing.result_code, "8000");
    assert_eq!(m.query(&trade_no).await["trade_status"], "TRADE_SUCCESS");
    let again = alipay::trade_pay(state, &m.appid, &m.user, &trade_no, PayDecision::Pay)
        .await
        .expect("cashier");
    assert_eq!(
        (again.result_code.as_str(), again.memo.as_str()),
        ("4000", "交易已支付")
    );
    let unknown = alipay::trade_pay(state, &m.appid, &m.user, "123", PayDecision::Pay)
        .await
        .expect("cashier");
    assert_eq!(
        (unknown.result_code.as_str(), unknown.trade_status),
        ("4000", None)
    );

    // An order that times out closes by itself.
    let short = m
        .exec(
            "alipay.trade.create",
            json!({ "out_trade_no": "SO_2", "total_amount": "1.00", "subject": "x", "buyer_open_id": m.open_id, "timeout_express": "5m" }),
        )
        .await;
    let short_no = short["trade_no"].as_str().expect("trade_no").to_owned();
    assert_eq!(m.query(&short_no).await["buyer_open_id"], json!(m.open_id));
    m.platform.advance(5 * MINUTE);
    assert_eq!(m.query(&short_no).await["trade_status"], "TRADE_CLOSED");
    let late = m.pay(&short_no, "pay").await;
    assert_eq!(
        (late["resultCode"].as_str(), late["memo"].as_str()),
        (Some("4000"), Some("交易已关闭"))
    );

    // Long after payment the trade is finished and no longer refundable.
    m.platform.advance(Duration::from_millis(
        alipay::REFUND_WINDOW_MS.unsigned_abs(),
    ));
    assert_eq!(m.query(&trade_no).await["trade_status"], "TRADE_FINISHED");
    assert_business(
        &m.exec(
            "alipay.trade.refund",
            json!({ "trade_no": trade_no, "refund_amount": "1" }),
        )
        .await,
        "ACQ.TRADE_HAS_FINISHED",
    );

    // The admin endpoint's refusals.
    for (body, status, code) in [
        (
            json!({ "app_id": "2021999999999999", "user": m.user, "trade_no": trade_no, "decision": "pay" }),
            StatusCode::NOT_FOUND,
            "alipay_app_not_found",
        ),
        (
            json!({ "app_id": m.app_id, "user": "nobody", "trade_no": trade_no, "decision": "pay" }),
            StatusCode::NOT_FOUND,
            "user_not_found",
        ),
        (
            json!({ "user": m.user, "trade_no": trade_no, "decision": "pay" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({ "app_id": m.app_id, "user": m.user, "trade_no": trade_no, "decision": "maybe" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ] {
        let (got, answer) = m
            .platform
            .admin(Method::POST, "/admin/alipay/pay", Some(body))
            .await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
    }
}

/// A local merchant server: records each notification body and answers
/// `fail` to the first `failures` of them, `success` after.
async fn listener(failures: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let app = Router::new().route(
        "/alipay/notify",
        axum::routing::post(move |body: String| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().expect("lock");
                seen.push(body);
                if seen.len() <= failures {
                    "fail"
                } else {
                    "success"
                }
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = socket.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(socket, app).await });
    (format!("http://{address}/alipay/notify"), received)
}

fn form(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {params:?}"))
}

/// Paying notifies the merchant; "fail" is retried on Alipay's schedule
/// until "success"; every body verifies with the platform key.
async fn notifications(backend: Backend) {
    let m = setup(backend).await;
    let (url, received) = listener(2).await;
    let trade_no = m.create_with_notify("SO_N1", "128.00", &url).await;
    assert_eq!(
        notify::deliver_due(&m.platform.state)
            .await
            .expect("deliver")
            .attempted,
        0
    );
    m.platform.advance(MINUTE);
    assert_eq!(m.pay(&trade_no, "pay").await["resultCode"], "9000");

    let state = &m.platform.state;
    let first = notify::deliver_due(state).await.expect("deliver");
    assert_eq!((first.attempted, first.retrying), (1, 1), "{first:?}");
    // Nothing is due before the first retry, two minutes on.
    m.platform.advance(MINUTE);
    assert_eq!(
        notify::deliver_due(state).await.expect("deliver").attempted,
        0
    );
    m.platform.advance(MINUTE);
    let second = notify::deliver_due(state).await.expect("deliver");
    assert_eq!((second.attempted, second.retrying), (1, 1), "{second:?}");
    m.platform.advance(10 * MINUTE - Duration::from_millis(1));
    assert_eq!(
        notify::deliver_due(state).await.expect("deliver").attempted,
        0
    );
    m.platform.advance(Duration::from_millis(1));
    let third = notify::deliver_due(state).await.expect("deliver");
    assert_eq!((third.attempted, third.delivered), (1, 1), "{third:?}");
    m.platform.advance(60 * MINUTE);
    assert_eq!(
        notify::deliver_due(state).await.expect("deliver").attempted,
        0
    );

    let bodies = received.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "each attempt sends the same body"
    );
    let params = form(&bodies[0]);
    let signed = content(&params, &["sign", "sign_type"], false);
    assert!(
        rsa_keys::verify(&m.alipay_key, signed.as_bytes(), field(&params, "sign")),
        "notification signature: {signed}"
    );
    assert_eq!(field(&params, "notify_type"), "trade_status_sync");
    assert_eq!(field(&params, "trade_status"), "TRADE_SUCCESS");
    assert_eq!(field(&params, "trade_no"), trade_no);
    assert_eq!(field(&params, "out_trade_no"), "SO_N1");
    assert_eq!(field(&params, "total_amount"), "128.00");
    assert_eq!(field(&params, "receipt_amount"), "128.00");
    assert_eq!(field(&params, "buyer_id"), m.buyer_id);
    assert_eq!(field(&params, "buyer_open_id"), m.open_id);
    assert_eq!(field(&params, "seller_id"), m.seller_id);
    assert_eq!(field(&params, "app_id"), m.app_id);
    assert_eq!(field(&params, "sign_type"), "RSA2");
    assert_eq!(field(&params, "charset"), "utf-8");
    assert_eq!(field(&params, "version"), "1.0");
    assert_eq!(field(&params, "subject"), "迷你罗汉松");
    assert_eq!(field(&params, "gmt_payment"), "2023-11-15 06:14:20");
    assert_eq!(field(&params, "notify_time"), "2023-11-15 06:14:20");
    assert_eq!(field(&params, "notify_id").len(), 34);
    assert!(
        params.iter().all(|(_, v)| !v.is_empty()),
        "no empty values: {params:?}"
    );
    assert!(!params.iter().any(|(k, _)| k == "gmt_refund"));

    // A refund notifies too, with the refund's fields.
    let refunded = m
        .exec(
            "alipay.trade.refund",
            json!({ "trade_no": trade_no, "refund_amount": "28", "out_request_no": "RF1" }),
        )
        .await;
    assert_eq!(refunded["code"], "10000", "{refunded}");
    let report = notify::deliver_due(state).await.expect("deliver");
    assert_eq!(report.delivered, 1, "{report:?}");
    let refund_body = received
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .expect("body");
    let params = form(&refund_body);
    let signed = content(&params, &["sign", "sign_type"], false);
    assert!(rsa_keys::verify(
        &m.alipay_key,
        signed.as_bytes(),
        field(&params, "sign")
    ));
    assert_eq!(field(&params, "out_biz_no"), "RF1");
    assert_eq!(field(&params, "refund_fee"), "28.00");
    assert_eq!(field(&params, "trade_status"), "TRADE_SUCCESS");
    assert!(field(&params, "gmt_refund").ends_with(".000"));

    // Without a notify_url there is nothing to deliver.
    let quiet = m.create("SO_N2", "1").await;
    m.pay(quiet["trade_no"].as_str().expect("trade_no"), "pay")
        .await;
    assert_eq!(
        notify::deliver_due(state).await.expect("deliver").attempted,
        0
    );
}

/// `my.getAuthCode` → `alipay.system.oauth.token`, codes spent once.
async fn oauth_token(backend: Backend) {
    let m = setup(backend).await;
    let (status, issued) = m
        .platform
        .admin(
            Method::POST,
            "/admin/alipay/auth-codes",
            Some(json!({ "appid": m.appid, "user": m.user, "scopes": ["auth_user"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let code = issued["authCode"].as_str().expect("code").to_owned();
    let exchange = |grant: &str, name: &str, value: &str| {
        let mut params = m.common("alipay.system.oauth.token");
        params.push(("grant_type".to_owned(), grant.to_owned()));
        params.push((name.to_owned(), value.to_owned()));
        m.signed(params)
    };
    let key = "alipay_system_oauth_token_response";
    let token = m
        .post(exchange("authorization_code", "code", &code), key)
        .await;
    assert_eq!(token["user_id"], json!(m.buyer_id), "{token}");
    assert_eq!(token["open_id"], json!(m.open_id));
    assert!(
        token.get("code").is_none(),
        "Alipay's success answer has no code: {token}"
    );
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let reused = m
        .post(
            exchange("authorization_code", "code", &code),
            "error_response",
        )
        .await;
    assert_eq!(
        reused,
        json!({ "code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.code-invalid", "sub_msg": "授权码code无效" })
    );
    let refresh = token["refresh_token"].as_str().expect("refresh");
    let renewed = m
        .post(exchange("refresh_token", "refresh_token", refresh), key)
        .await;
    assert_eq!(renewed["user_id"], json!(m.buyer_id), "{renewed}");
    assert_ne!(renewed["access_token"], token["access_token"]);
    let spent = m
        .post(
            exchange("refresh_token", "refresh_token", refresh),
            "error_response",
        )
        .await;
    assert_eq!(spent["sub_code"], "isv.refresh-token-invalid");
    let wrong = m
        .post(exchange("password", "code", &code), "error_response")
        .await;
    assert_eq!(wrong["sub_code"], "isv.grant-type-invalid");

    // Expired codes are refused too.
    let late = alipay::issue_auth_code(&m.platform.state, &m.app_id, &m.user, &[])
        .await
        .expect("code");
    assert_eq!(late.scopes, ["auth_base"]);
    m.platform.advance(Duration::from_secs(24 * 3600));
    let expired = m
        .post(
            exchange("authorization_code", "code", &late.auth_code),
            "error_response",
        )
        .await;
    assert_eq!(expired["sub_code"], "isv.code-invalid");
    let (status, bad) = m
        .platform
        .admin(
            Method::POST,
            "/admin/alipay/auth-codes",
            Some(json!({ "app_id": m.app_id, "user": m.user, "scopes": ["auth_everything"] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
}

on_both_databases!(
    apps_and_keys,
    trade_round_trip,
    common_parameters_and_signatures,
    cashier,
    notifications,
    oauth_token,
);

/// tests/interop-alipay, installed under target/.
fn interop_dir() -> std::path::PathBuf {
    bonsai_test_support::npm_project(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop-alipay"),
        "alipay",
    )
}

/// The official Node SDK against a served platform: create and query with
/// `validateSign: true`, a notification checked by `checkNotifySignV2`, a
/// refund.
async fn interop_with_the_node_sdk(backend: Backend) {
    let m = setup(backend).await;
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = socket.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(bonsai_platform::serve(
        socket,
        m.platform.state.clone(),
        async {
            stopped.await.ok();
        },
    ));

    let (_, app) = m
        .admin_get(&format!("/admin/alipay/apps/{}", m.app_id))
        .await;
    // The app's private key is only shown at creation: make the app anew
    // with a key pair whose private half the script gets.
    let pair = rsa_keys::generate_key_pair().expect("key pair");
    let (status, created) = m
        .platform
        .admin(
            Method::POST,
            "/admin/alipay/apps",
            Some(json!({ "app_id": "2021000000000042", "app_public_key": pair.public_pem })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let buyer = alipay::buyer(&m.platform.state, &m.user, Some("2021000000000042"))
        .await
        .expect("buyer");
    let base = format!("http://{address}");
    let config = json!({
        "gateway": format!("{base}/gateway.do"),
        "appId": "2021000000000042",
        "privateKey": pair.private_pem,
        "alipayPublicKey": app["alipay_public_key"],
        "buyerId": buyer.user_id,
        "user": m.user,
        "adminUrl": base,
        "adminToken": common::ADMIN_TOKEN,
        "outTradeNo": "NODE_SDK_0001",
    });
    let config_file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(config_file.path(), config.to_string()).expect("config");
    let config_path = config_file.path().to_owned();

    let joined = tokio::task::spawn_blocking(move || {
        let dir = interop_dir();
        std::process::Command::new("node")
            .arg(dir.join("interop.js"))
            .arg(&config_path)
            .current_dir(&dir)
            .output()
            .expect("node runs")
    })
    .await;
    let output = match joined {
        Ok(output) => output,
        // The task's own message (node or npm missing…), as is.
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => panic!("the interop task did not finish: {err}"),
    };
    stop.send(()).ok();
    served.await.expect("server task").expect("server");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the interop script failed ({}):\n{}\n{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("not JSON: {stdout}"));

    // The SDK camel-cases answers.
    let created = &report["created"];
    assert_eq!(created["code"], "10000", "{report}");
    assert_eq!(created["outTradeNo"], "NODE_SDK_0001");
    let trade_no = created["tradeNo"].as_str().expect("tradeNo");
    assert_eq!(
        report["queried"]["tradeStatus"], "WAIT_BUYER_PAY",
        "{report}"
    );
    assert_eq!(report["queried"]["totalAmount"], "88.88");
    assert_eq!(
        report["missing"]["subCode"], "ACQ.TRADE_NOT_EXIST",
        "{report}"
    );
    let wrong_key = report["wrongKeyError"].as_str().unwrap_or_default();
    assert!(wrong_key.contains("验签失败"), "{report}");
    assert_eq!(report["pay"]["resultCode"], "9000", "{report}");

    let notify = &report["notify"];
    assert_eq!(notify["checkNotifySignV2"], true, "{report}");
    // The legacy check decodes the already decoded values again: the `%`
    // in the subject makes it throw, as the SDK's V2 exists to avoid.
    assert_eq!(notify["checkNotifySign"], "threw URIError", "{report}");
    assert_eq!(notify["tamperedAccepted"], false, "{report}");
    assert!(
        notify["contentType"]
            .as_str()
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")),
        "{report}"
    );
    let params = &notify["params"];
    assert_eq!(params["trade_no"], trade_no);
    assert_eq!(params["trade_status"], "TRADE_SUCCESS");
    assert_eq!(params["subject"], "Bonsai 盆景 · 小品 100%");
    assert_eq!(params["buyer_id"], json!(buyer.user_id));

    assert_eq!(report["paid"]["tradeStatus"], "TRADE_SUCCESS", "{report}");
    assert_eq!(report["refund"]["fundChange"], "Y", "{report}");
    assert_eq!(report["refund"]["refundFee"], "8.88");
}

on_both_databases!(interop_with_the_node_sdk);
