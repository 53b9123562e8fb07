//! `bonsai bench platform`: the platform server under load on loopback.
//!
//! A bounded load generator (a fixed number of keep-alive connections, each
//! sending its share of pre-built requests one after another) hits the real
//! server (`bonsai_platform::serve` on a local port) with:
//!
//! - `GET /sns/jscode2session`: every request a fresh login code, issued
//!   before the clock starts, spread round robin over enough users to stay
//!   under the per-user rate limit (so requests at the same moment come from
//!   different users, as in real traffic), and each request does the full
//!   work (check the secret, spend the code, count the rate);
//! - `POST /v3/pay/transactions/jsapi`: every request a new order, signed by
//!   the merchant's key before the clock starts (as a merchant's SDK
//!   would), so each request verifies a signature, stores an order and
//!   signs its response;
//!
//! on SQLite (a temporary file, WAL) and on Postgres when one answers. The
//! baseline is the same generator against a bare axum handler on the same
//! runtime that answers a fixed body of the same size: the ceiling of HTTP
//! on this machine, so the ratio says what the platform's own work costs.
//! Targets are reported, never asserted.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bonsai_platform::identity::{self, NewApp, NewUser};
use bonsai_platform::{AppState, PlatformConfig, SystemClock, rsa_keys, wechat_pay};
use clap::Args;
use serde::Serialize;
use sqlx::Connection as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{Machine, Target, machine, progress_bar, publish, round3, verdict};

#[derive(Debug, Args)]
pub struct PlatformBenchArgs {
    /// Requests per measurement.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(100..))]
    pub requests: u32,
    /// JSAPI orders per measurement (each is signed beforehand, which takes
    /// a millisecond or two apiece).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(10..))]
    pub orders: u32,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub connections: u32,
    /// Postgres to measure as well [default: $BONSAI_TEST_POSTGRES_URL, else
    /// postgres://postgres@127.0.0.1:5432/test when it answers]. A schema of
    /// its own is created and dropped.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Where to write the JSON report.
    #[arg(long, default_value = "target/bench/platform.json")]
    pub out: PathBuf,
    /// Print the JSON report on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

const CODE2SESSION_MIN_RPS: f64 = 20_000.0;
const P99_MAX_MS: f64 = 5.0;
const APPID: &str = "wxbenchplatform01";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// Codes per user: under jscode2session's 100 per minute per user.
const CODES_PER_USER: u32 = 90;

#[derive(Serialize)]
struct Report {
    machine: Machine,
    requests: u32,
    orders: u32,
    connections: u32,
    /// The bare HTTP handler, once per run.
    baseline: Load,
    databases: Vec<DatabaseReport>,
    targets: Vec<NamedTarget>,
}

#[derive(Serialize)]
struct DatabaseReport {
    database: &'static str,
    /// Absent when the database could not be reached, with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jscode2session: Option<Measured>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jsapi_order: Option<Measured>,
}

#[derive(Serialize)]
struct Measured {
    load: Load,
    /// requests per second of the platform / of the bare handler.
    ratio_to_baseline: f64,
}

/// One run of the load generator.
#[derive(Serialize, Clone)]
struct Load {
    requests: u32,
    seconds: f64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Serialize)]
struct NamedTarget {
    name: String,
    #[serde(flatten)]
    target: Target,
}

pub fn run(args: &PlatformBenchArgs) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; run with --release for representative numbers");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: &PlatformBenchArgs) -> anyhow::Result<bool> {
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let progress = progress_bar(show_progress, 7);

    progress.set_message("baseline");
    let body = serde_json::json!({
        "openid": "o".repeat(28),
        "session_key": "x".repeat(24),
    })
    .to_string();
    let baseline = measure_baseline(args, body).await?;
    progress.inc(1);

    let mut databases = Vec::new();
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let sqlite_url = bonsai_platform::sqlite_url(&scratch.path().join("platform.db"));
    progress.set_message("sqlite");
    let (jscode2session, jsapi_order) =
        measure_database(args, &sqlite_url, &baseline, &progress).await?;
    databases.push(DatabaseReport {
        database: "sqlite",
        skipped: None,
        jscode2session: Some(jscode2session),
        jsapi_order: Some(jsapi_order),
    });

    progress.set_message("postgres");
    let postgres = args
        .postgres
        .clone()
        .or_else(|| crate::data_dir::non_empty_env("BONSAI_TEST_POSTGRES_URL"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    databases.push(match PostgresSchema::create(&postgres).await {
        Ok(schema) => {
            let measured = measure_database(args, &schema.url, &baseline, &progress).await;
            schema.drop().await;
            let (jscode2session, jsapi_order) = measured?;
            DatabaseReport {
                database: "postgres",
                skipped: None,
                jscode2session: Some(jscode2session),
                jsapi_order: Some(jsapi_order),
            }
        }
        Err(err) => DatabaseReport {
            database: "postgres",
            skipped: Some(format!("{err:#}")),
            jscode2session: None,
            jsapi_order: None,
        },
    });
    progress.finish_and_clear();

    let mut targets = Vec::new();
    for db in &databases {
        if let Some(measured) = &db.jscode2session {
            targets.push(NamedTarget {
                name: format!("{} jscode2session req/s", db.database),
                target: Target::at_least(
                    CODE2SESSION_MIN_RPS,
                    Some(measured.load.requests_per_second),
                ),
            });
            targets.push(NamedTarget {
                name: format!("{} jscode2session p99 ms", db.database),
                target: Target::at_most(P99_MAX_MS, measured.load.p99_ms),
            });
        }
    }
    let report = Report {
        machine: machine(None),
        requests: args.requests,
        orders: args.orders,
        connections: args.connections,
        baseline,
        databases,
        targets,
    };
    publish(&report, &args.out, args.json, print_table)?;
    Ok(true)
}

/// The same generator against a handler that does nothing but answer.
async fn measure_baseline(args: &PlatformBenchArgs, body: String) -> anyhow::Result<Load> {
    let router = axum::Router::new().route(
        "/sns/jscode2session",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let requests = (0..args.requests)
        .map(|i| get_request(&format!("/sns/jscode2session?js_code=baseline{i}")))
        .collect();
    let load = generate_load(address, args.connections, requests, |_| Ok(())).await;
    server.abort();
    load
}

/// Both measurements on one database: (jscode2session, JSAPI order).
async fn measure_database(
    args: &PlatformBenchArgs,
    url: &str,
    baseline: &Load,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<(Measured, Measured)> {
    let mut config = PlatformConfig::new(url, "bench-admin-token");
    config.max_connections = 16;
    let state = AppState::connect(config, Arc::new(SystemClock))
        .await
        .context("opening the platform database")?;
    identity::create_app(
        &state,
        NewApp {
            appid: Some(APPID.to_owned()),
            secret: Some(SECRET.to_owned()),
            name: Some("bench".to_owned()),
            developer: None,
        },
    )
    .await?;
    // As in real traffic, requests at the same moment come from different
    // users: consecutive requests go to consecutive users, round robin.
    let users = args.requests.div_ceil(CODES_PER_USER);
    for user in 0..users {
        identity::create_user(
            &state,
            NewUser {
                id: Some(format!("bench-user-{user}")),
                ..NewUser::default()
            },
        )
        .await?;
    }
    let mut codes = Vec::with_capacity(args.requests as usize);
    for i in 0..args.requests {
        let user = format!("bench-user-{}", i % users);
        codes.push(identity::issue_login_code(&state, APPID, &user).await?.code);
    }
    progress.inc(1);

    let merchant = wechat_pay::create_merchant(
        &state,
        wechat_pay::NewMerchant {
            name: Some("bench".to_owned()),
            appids: vec![APPID.to_owned()],
            ..wechat_pay::NewMerchant::default()
        },
    )
    .await?;
    // The payer logged in above (issuing a code starts a session).
    let payer = identity::openid_of(&state, APPID, &format!("bench-user-{}", 0));
    let orders = signed_orders(args.orders, &merchant, &payer)?;
    progress.inc(1);

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bonsai_platform::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let requests = codes
        .iter()
        .map(|code| {
            get_request(&format!(
                "/sns/jscode2session?appid={APPID}&secret={SECRET}&js_code={code}&grant_type=authorization_code"
            ))
        })
        .collect();
    let sessions = generate_load(address, args.connections, requests, |body| {
        if contains(body, b"\"openid\"") {
            Ok(())
        } else {
            bail!(
                "jscode2session refused a fresh code: {}",
                String::from_utf8_lossy(body)
            )
        }
    })
    .await;
    progress.inc(1);
    let orders = match sessions {
        Ok(_) => {
            generate_load(address, args.connections, orders, |body| {
                if contains(body, b"\"prepay_id\"") {
                    Ok(())
                } else {
                    bail!("the JSAPI order failed: {}", String::from_utf8_lossy(body))
                }
            })
            .await
        }
        Err(_) => Err(anyhow::anyhow!("not measured")),
    };
    let _ = stop.send(());
    server.await??;
    progress.inc(1);
    let measured = |load: Load| Measured {
        ratio_to_baseline: round3(load.requests_per_second / baseline.requests_per_second),
        load,
    };
    Ok((measured(sessions?), measured(orders?)))
}

fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

/// `count` JSAPI order requests, each signed as the merchant's SDK signs it.
fn signed_orders(
    count: u32,
    merchant: &wechat_pay::CreatedMerchant,
    payer: &str,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let key = rsa_keys::parse_private_key(&merchant.private_key_pem)?;
    let timestamp = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?)
        .as_secs()
        .to_string();
    let path = "/v3/pay/transactions/jsapi";
    (0..count)
        .map(|i| {
            let body = serde_json::json!({
                "appid": APPID,
                "mchid": merchant.merchant.mchid,
                "description": "bench order",
                "out_trade_no": format!("bench{i:08}"),
                "notify_url": "https://merchant.example.com/notify",
                "amount": { "total": 100 + i, "currency": "CNY" },
                "payer": { "openid": payer },
            })
            .to_string();
            let nonce = format!("benchnonce{i:022}");
            let message = wechat_pay::crypto::request_message(
                "POST",
                path,
                &timestamp,
                &nonce,
                body.as_bytes(),
            );
            let authorization = wechat_pay::crypto::Authorization {
                mchid: merchant.merchant.mchid.clone(),
                nonce_str: nonce,
                signature: rsa_keys::sign(&key, &message),
                timestamp: timestamp.clone(),
                serial_no: merchant.merchant.serial_no.clone(),
            };
            Ok(format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: application/json\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n{body}",
                authorization.to_header(),
                body.len()
            )
            .into_bytes())
        })
        .collect()
}

fn get_request(path_and_query: &str) -> Vec<u8> {
    format!("GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n")
        .into_bytes()
}

/// Sends `requests` over `connections` keep-alive connections, each taking
/// every `connections`-th request in turn, and checks every answer.
async fn generate_load(
    address: std::net::SocketAddr,
    connections: u32,
    requests: Vec<Vec<u8>>,
    check: fn(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Load> {
    let total = u32::try_from(requests.len()).context("too many requests")?;
    let requests = Arc::new(requests);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..connections as usize {
        let requests = requests.clone();
        workers.push(tokio::spawn(async move {
            let stream = TcpStream::connect(address).await?;
            stream.set_nodelay(true)?;
            let mut stream = BufReader::new(stream);
            let mut latencies = Vec::new();
            let mut body = Vec::new();
            for request in requests.iter().skip(worker).step_by(connections as usize) {
                let sent = Instant::now();
                stream.get_mut().write_all(request).await?;
                let status = read_response(&mut stream, &mut body).await?;
                latencies.push(sent.elapsed());
                ensure!(
                    status == 200,
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                check(&body)?;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(requests.len());
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| -> f64 {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        round3(latencies[index].as_secs_f64() * 1e3)
    };
    Ok(Load {
        requests: total,
        seconds: round3(elapsed.as_secs_f64()),
        requests_per_second: round3(f64::from(total) / elapsed.as_secs_f64()),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    })
}

/// Reads one HTTP/1.1 response with a Content-Length body into `body`;
/// returns the status.
async fn read_response(
    stream: &mut BufReader<TcpStream>,
    body: &mut Vec<u8>,
) -> anyhow::Result<u16> {
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP status line: {line:?}"))?;
    let mut length = 0usize;
    loop {
        line.clear();
        ensure!(
            stream.read_line(&mut line).await? > 0,
            "the server closed the connection"
        );
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().context("bad Content-Length")?;
        }
    }
    body.resize(length, 0);
    stream.read_exact(body).await?;
    Ok(status)
}

/// A schema of its own in the Postgres at `base`, dropped afterwards.
struct PostgresSchema {
    base: String,
    name: String,
    url: String,
}

impl PostgresSchema {
    async fn create(base: &str) -> anyhow::Result<PostgresSchema> {
        sqlx::any::install_default_drivers();
        let mut conn =
            tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(base))
                .await
                .context("connecting timed out")?
                .with_context(|| {
                    format!(
                        "Postgres at {} is unreachable",
                        bonsai_platform::config::redact_password(base)
                    )
                })?;
        let name = format!("bench_{}", bonsai_platform::secrets::random_hex(6)?);
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await.ok();
        let separator = if base.contains('?') { '&' } else { '?' };
        Ok(PostgresSchema {
            url: format!("{base}{separator}options=-c%20search_path%3D{name}"),
            base: base.to_owned(),
            name,
        })
    }

    async fn drop(self) {
        let dropped = async {
            let mut conn = sqlx::AnyConnection::connect(&self.base).await?;
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                .execute(&mut conn)
                .await?;
            conn.close().await
        };
        if let Err(err) = dropped.await {
            eprintln!(
                "warning: could not drop the bench schema {}: {err}",
                self.name
            );
        }
    }
}

fn print_table(report: &Report, out: &std::path::Path) {
    let m = &report.machine;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "bonsai bench platform: {} build, {} CPUs, {} logins and {} orders over {} connections",
        m.profile, m.nproc, report.requests, report.orders, report.connections
    );
    let _ = writeln!(
        stdout,
        "{:<34} {:>10} {:>9} {:>9} {:>8}",
        "", "req/s", "p50 ms", "p99 ms", "ratio"
    );
    let row = |stdout: &mut std::io::StdoutLock<'_>, name: &str, load: &Load, ratio: f64| {
        let _ = writeln!(
            stdout,
            "{name:<34} {:>10.0} {:>9.3} {:>9.3} {:>7.2}x",
            load.requests_per_second, load.p50_ms, load.p99_ms, ratio
        );
    };
    row(
        &mut stdout,
        "bare HTTP handler (baseline)",
        &report.baseline,
        1.0,
    );
    for db in &report.databases {
        match (&db.jscode2session, &db.jsapi_order, &db.skipped) {
            (Some(sessions), Some(orders), _) => {
                for (what, measured) in [("jscode2session", sessions), ("JSAPI order", orders)] {
                    row(
                        &mut stdout,
                        &format!("{what} on {}", db.database),
                        &measured.load,
                        measured.ratio_to_baseline,
                    );
                }
            }
            (_, _, reason) => {
                let _ = writeln!(
                    stdout,
                    "{:<34} not measured: {}",
                    db.database,
                    reason.as_deref().unwrap_or("")
                );
            }
        }
    }
    for target in &report.targets {
        let _ = writeln!(
            stdout,
            "target {}: {}",
            target.name,
            verdict(&target.target)
        );
    }
    let _ = writeln!(stdout, "report: {}", out.display());
}
