//! End to end, as a developer would wire it: `bonsai serve` is the super
//! app's platform, a merchant server (written here, speaking plain HTTP to
//! the platform's WeChat-compatible APIs) exchanges the login code and
//! places a WeChat Pay order, and `bonsai run` runs a checkout page whose
//! `wx.login` and `wx.requestPayment` go through the embedded platform on
//! the same database. The payment notification then reaches the merchant,
//! signed by the platform certificate and encrypted with the APIv3 key.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bonsai_platform::{rsa_keys, wechat_pay};
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "checkout-admin-token";
const APPID: &str = "wxbonsaicheckout";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// `bonsai serve` on a free port; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_serve(data_dir: &Path, database_url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("BONSAI_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("BONSAI_DATA_DIR", data_dir)
        .stderr(Stdio::piped())
        .spawn()
        .expect("bonsai serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("bonsai serve prints its address")
            .expect("stderr is text");
        if let Some(rest) = line.strip_prefix("bonsai serve: ") {
            break rest
                .split_whitespace()
                .next()
                .expect("an address")
                .to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

fn admin_post(base: &str, path: &str, body: &Value) -> Value {
    let mut response = ureq::post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap_or_else(|err| panic!("POST {path}: {err}"));
    serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON")
}

/// One HTTP request as the merchant server reads it.
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
    }
    let length = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: u16, body: &Value) {
    let body = body.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The merchant's side: its keys from the platform's admin API, and the
/// notifications it received.
struct Merchant {
    platform: String,
    mchid: String,
    serial_no: String,
    private_key: bonsai_platform::rsa_keys::PrivateKey,
    apiv3_key: String,
    notifications: Mutex<Vec<Request>>,
}

impl Merchant {
    /// A WeChat Pay v3 call, signed as the merchant's SDK would.
    fn v3_post(&self, path: &str, body: &Value) -> Value {
        let body = body.to_string();
        let timestamp = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs())
        .to_string();
        let nonce = "merchantnonce0123456789";
        let message =
            wechat_pay::crypto::request_message("POST", path, &timestamp, nonce, body.as_bytes());
        let signature = rsa_keys::sign(&self.private_key, &message);
        let authorization = format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
            self.mchid, self.serial_no
        );
        let mut response = ureq::post(&format!("{}{path}", self.platform))
            .header("Authorization", &authorization)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .send(body.as_bytes())
            .unwrap_or_else(|err| panic!("POST {path}: {err}"));
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON")
    }

    fn handle(&self, request: Request, port: u16) -> (u16, Value) {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/login") => {
                let code = body["code"].as_str().unwrap_or_default();
                let url = format!(
                    "{}/sns/jscode2session?appid={APPID}&secret={SECRET}&js_code={code}&grant_type=authorization_code",
                    self.platform
                );
                let mut response = ureq::get(&url).call().expect("jscode2session answers");
                let session: Value =
                    serde_json::from_str(&response.body_mut().read_to_string().expect("body"))
                        .expect("JSON");
                match session["openid"].as_str() {
                    // A real server would issue its own session token; the
                    // openid stands in for one here.
                    Some(openid) => (200, json!({ "token": openid })),
                    None => (401, session),
                }
            }
            ("POST", "/order") => {
                let openid = body["token"].as_str().unwrap_or_default();
                let order = self.v3_post(
                    "/v3/pay/transactions/jsapi",
                    &json!({
                        "appid": APPID,
                        "mchid": self.mchid,
                        "description": "Juniper bonsai",
                        "out_trade_no": "checkout-0001",
                        "notify_url": format!("http://127.0.0.1:{port}/notify"),
                        "amount": { "total": body["total"], "currency": "CNY" },
                        "payer": { "openid": openid },
                    }),
                );
                let Some(prepay_id) = order["prepay_id"].as_str() else {
                    return (502, order);
                };
                let package = format!("prepay_id={prepay_id}");
                let timestamp = "1700000000".to_owned();
                let nonce = "paynonce0123456789";
                let message =
                    wechat_pay::crypto::pay_sign_message(APPID, &timestamp, nonce, &package);
                let pay_sign = rsa_keys::sign(&self.private_key, &message);
                (
                    200,
                    json!({ "timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA", "paySign": pay_sign }),
                )
            }
            ("POST", "/notify") => {
                self.notifications.lock().expect("lock").push(request);
                (204, Value::Null)
            }
            _ => (404, json!({ "error": "no such route" })),
        }
    }
}

fn serve_merchant(merchant: Arc<Merchant>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let merchant = merchant.clone();
            std::thread::spawn(move || {
                if let Ok(request) = read_request(&mut stream) {
                    let (status, body) = merchant.handle(request, port);
                    respond(&mut stream, status, &body);
                }
            });
        }
    });
    port
}

fn run_checkout(database_url: &str, port: u16, pay: &str) -> String {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/run/checkout");
    let out = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["run", "--no-persist", "--user", "alice", "--pay", pay])
        .args(["--platform-database", database_url, "--page"])
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
fn login_order_pay_and_notify_end_to_end() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database_url = bonsai_platform::sqlite_url(&dir.path().join("platform.db"));
    let server = start_serve(dir.path(), &database_url);
    admin_post(
        &server.base,
        "/admin/apps",
        &json!({ "appid": APPID, "secret": SECRET, "name": "checkout" }),
    );
    let created = admin_post(
        &server.base,
        "/admin/wechatpay/merchants",
        &json!({ "name": "Bonsai shop", "appids": [APPID] }),
    );
    let (platform_serial, platform_key) = wechat_pay::read_certificate(
        created["platform_certificate_pem"]
            .as_str()
            .expect("platform certificate"),
    )
    .expect("a certificate");
    let merchant = Arc::new(Merchant {
        platform: server.base.clone(),
        mchid: created["mchid"].as_str().expect("mchid").to_owned(),
        serial_no: created["serial_no"].as_str().expect("serial").to_owned(),
        private_key: rsa_keys::parse_private_key(
            created["private_key_pem"].as_str().expect("private key"),
        )
        .expect("a private key"),
        apiv3_key: created["apiv3_key"].as_str().expect("APIv3 key").to_owned(),
        notifications: Mutex::new(Vec::new()),
    });
    let port = serve_merchant(merchant.clone());

    // The user backs out at the cashier first: the order stays unpaid.
    let cancelled = run_checkout(&database_url, port, "cancel");
    assert!(
        cancelled.contains("<view id=\"payment\">failed: requestPayment:fail cancel</view>"),
        "{cancelled}"
    );
    // Then pays (the same out_trade_no: the platform hands back the same order).
    let paid = run_checkout(&database_url, port, "pay");
    assert!(
        paid.contains("<view id=\"login\">signed in</view>"),
        "{paid}"
    );
    assert!(paid.contains("<view id=\"order\">placed</view>"), "{paid}");
    assert!(
        paid.contains("<view id=\"payment\">requestPayment:ok</view>"),
        "{paid}"
    );

    // `bonsai serve`'s dispatcher delivers the notification within seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    let notification = loop {
        if let Some(request) = merchant.notifications.lock().expect("lock").pop() {
            break request;
        }
        assert!(Instant::now() < deadline, "no payment notification arrived");
        std::thread::sleep(Duration::from_millis(100));
    };
    let header = |name: &str| {
        notification
            .headers
            .get(name)
            .unwrap_or_else(|| panic!("notification without {name}"))
            .clone()
    };
    assert_eq!(header("wechatpay-serial"), platform_serial);
    let message = wechat_pay::crypto::response_message(
        &header("wechatpay-timestamp"),
        &header("wechatpay-nonce"),
        &notification.body,
    );
    assert!(
        rsa_keys::verify(&platform_key, &message, &header("wechatpay-signature")),
        "the notification's signature verifies with the platform certificate"
    );
    let envelope: Value = serde_json::from_slice(&notification.body).expect("JSON");
    assert_eq!(envelope["event_type"], "TRANSACTION.SUCCESS");
    let resource = &envelope["resource"];
    let plain = wechat_pay::crypto::decrypt(
        &merchant.apiv3_key,
        resource["nonce"].as_str().expect("nonce"),
        resource["associated_data"]
            .as_str()
            .expect("associated data"),
        resource["ciphertext"].as_str().expect("ciphertext"),
    )
    .expect("the resource decrypts with the APIv3 key");
    let transaction: Value = serde_json::from_slice(&plain).expect("JSON");
    assert_eq!(transaction["trade_state"], "SUCCESS");
    assert_eq!(transaction["out_trade_no"], "checkout-0001");
    assert_eq!(transaction["amount"]["total"], 12800);
    assert_eq!(transaction["appid"], APPID);

    // The operator sees the payment from the command line.
    let listed = Command::new(env!("CARGO_BIN_EXE_bonsai"))
        .args(["platform", "--database-url", &database_url, "--json"])
        .args(["payments", "list", &merchant.mchid])
        .env("BONSAI_DATA_DIR", dir.path())
        .output()
        .expect("bonsai runs");
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let payments: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(payments[0]["out_trade_no"], "checkout-0001");
    assert_eq!(payments[0]["trade_state"], "SUCCESS");
    drop(server);
}
