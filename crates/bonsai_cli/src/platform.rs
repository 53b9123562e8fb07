//! `bonsai platform …`: the platform operator's commands (apps, users, and
//! the package registry's versions), run directly on the platform's
//! database and package store, with the same defaults as `bonsai serve`: no
//! server needed. Each command calls the platform's domain functions, so it
//! checks and refuses exactly what the admin API does.
//!
//! Every subcommand takes `--json` (the result, or `{"error": …}`, as JSON
//! on stdout); errors are one line on stderr and exit code 1.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use bonsai_diagnostics::DiagnosticJson;
use bonsai_platform::admin::AdminError;
use bonsai_platform::civil_time::utc;
use bonsai_platform::identity::{self, NewApp, NewUser, Phone};
use bonsai_platform::registry::{self, NewVersion, RegistryError};
use bonsai_platform::{AppState, PlatformConfig, PlatformError, SystemClock};
use clap::{Args, Subcommand};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct PlatformArgs {
    #[command(subcommand)]
    command: PlatformCommand,
    /// `sqlite://path/to/platform.db` or `postgres://user@host/db`
    /// [default: $BONSAI_DATABASE_URL, else platform.db in the Bonsai data directory]
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Package store: `file:///dir`, `s3://bucket/prefix` (AWS_* variables)
    /// [default: $BONSAI_STORE_URL, else packages/ beside the SQLite file, else in the data directory]
    #[arg(long, global = true)]
    store: Option<String>,
    /// Machine-readable JSON on stdout instead of human output.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum PlatformCommand {
    /// Mini-program apps.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// The super app's users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Versions of an app's code package: upload, review, release.
    Version {
        #[command(subcommand)]
        command: VersionCommand,
    },
    /// Payments the sandboxes took.
    Payments {
        #[command(subcommand)]
        command: PaymentsCommand,
    },
    /// Subscribe messages users received.
    Messages {
        #[command(subcommand)]
        command: MessagesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PaymentsCommand {
    /// A WeChat Pay merchant's orders, newest first, with their refunds.
    List { mchid: String },
    /// An Alipay app's trades, newest first (its app_id, or the mini program's appid).
    Alipay { app: String },
}

#[derive(Debug, Subcommand)]
enum MessagesCommand {
    /// A user's inbox, newest first.
    List { user: String },
}

#[derive(Debug, Subcommand)]
enum AppCommand {
    /// Create an app; its AppSecret is shown this once.
    Create {
        /// The appid [default: generated, wx + 16 hex digits]
        #[arg(long)]
        appid: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// The AppSecret [default: generated]
        #[arg(long)]
        secret: Option<String>,
        /// The developer account (apps of one developer share unionids).
        #[arg(long)]
        developer: Option<String>,
    },
    /// Show an app.
    Show { appid: String },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        /// The user id [default: generated]
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        nickname: Option<String>,
        /// A phone number (national digits), for the phone-number button.
        #[arg(long)]
        phone: Option<String>,
        /// The phone number's country code.
        #[arg(long, default_value = "86", requires = "phone")]
        country_code: String,
    },
    /// Show a user.
    Show { id: String },
}

/// Who acts, for the audit log.
#[derive(Debug, Args)]
struct By {
    /// Who does this, for the audit log [default: $USER, else `cli`]
    #[arg(long)]
    by: Option<String>,
}

impl By {
    fn actor(&self) -> String {
        self.by
            .clone()
            .or_else(|| crate::data_dir::non_empty_env("USER"))
            .unwrap_or_else(|| "cli".to_owned())
    }
}

#[derive(Debug, Subcommand)]
enum VersionCommand {
    /// Upload a package (a .zip, or a project directory, zipped in memory)
    /// as a new version in `develop`.
    Upload {
        appid: String,
        /// A project directory or a package .zip.
        path: PathBuf,
        /// The version string (1–64 of letters, digits, `.`, `-`, `_`, `+`).
        #[arg(long = "version", value_name = "VERSION")]
        version_name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        by: By,
    },
    /// List an app's versions and what is released.
    List { appid: String },
    /// Show one version.
    Show { appid: String, version: String },
    /// Make a version the app's trial version.
    Trial {
        appid: String,
        version: String,
        #[command(flatten)]
        by: By,
    },
    /// Submit a version for review.
    Submit {
        appid: String,
        version: String,
        #[command(flatten)]
        by: By,
    },
    /// Pass a version under review.
    Approve {
        appid: String,
        version: String,
        #[command(flatten)]
        by: By,
    },
    /// Fail a version under review.
    Reject {
        appid: String,
        version: String,
        /// Why, for the developer.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        by: By,
    },
    /// Release an approved version, to everyone or (--gray) to a share of users.
    Release {
        appid: String,
        version: String,
        /// Release to this percentage of users (1–100; again to raise it).
        #[arg(long, value_name = "PERCENT", default_value_t = 100,
              value_parser = clap::value_parser!(i64).range(1..=100))]
        gray: i64,
        #[command(flatten)]
        by: By,
    },
    /// Go back to the previous released version (revertcoderelease).
    Rollback {
        appid: String,
        #[command(flatten)]
        by: By,
    },
    /// End a gray release: its users go back (revertgrayrelease).
    RevertGray {
        appid: String,
        #[command(flatten)]
        by: By,
    },
    /// Which version a user gets.
    Resolve {
        appid: String,
        #[arg(long)]
        user: String,
    },
    /// Write a version's package to a file, its SHA-256 verified.
    Download {
        appid: String,
        version: String,
        #[arg(long, short)]
        output: PathBuf,
    },
    /// The audit log of an app's versions.
    Log { appid: String },
}

/// A command's failure: printed as JSON under `--json`, always as one line.
#[derive(Debug)]
struct Failure {
    code: &'static str,
    message: String,
    diagnostics: Vec<DiagnosticJson>,
}

impl From<PlatformError> for Failure {
    fn from(err: PlatformError) -> Self {
        let message = err.to_string();
        let admin = AdminError::from(err);
        Failure {
            code: admin.code,
            // The admin API hides our own failures; here the operator is
            // the one who needs them.
            message,
            diagnostics: Vec::new(),
        }
    }
}

impl From<RegistryError> for Failure {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Platform(err) => err.into(),
            RegistryError::InvalidPackage { diagnostics } => Failure {
                code: "invalid_package",
                message: RegistryError::InvalidPackage {
                    diagnostics: diagnostics.clone(),
                }
                .to_string(),
                diagnostics,
            },
            err => Failure {
                code: err.code(),
                message: err.to_string(),
                diagnostics: Vec::new(),
            },
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure {
            code: "error",
            message: format!("{err:#}"),
            diagnostics: Vec::new(),
        }
    }
}

/// Prints a result: pretty JSON, or the human text.
fn show<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) -> bool {
    if json {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("error: cannot print JSON: {err}");
                return false;
            }
        }
    } else {
        let text = human(value);
        if !text.is_empty() {
            println!("{text}");
        }
    }
    true
}

pub fn run(args: &PlatformArgs) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match runtime.block_on(execute(args)) {
        Ok(ok) => Ok(ok),
        Err(failure) => {
            for diagnostic in &failure.diagnostics {
                eprintln!("{diagnostic}");
                if let Some(help) = &diagnostic.help {
                    eprintln!("  help: {help}");
                }
            }
            if args.json {
                let mut error = serde_json::json!({
                    "code": failure.code,
                    "message": failure.message,
                });
                if !failure.diagnostics.is_empty() {
                    error["diagnostics"] = serde_json::to_value(&failure.diagnostics)?;
                }
                println!("{}", serde_json::json!({ "error": error }));
            }
            Err(anyhow!(failure.message))
        }
    }
}

/// The platform these commands work on: the database and store `bonsai
/// serve` uses by default.
async fn connect(args: &PlatformArgs) -> Result<AppState, Failure> {
    let database_url = crate::data_dir::platform_database_url(args.database_url.as_deref())?;
    let mut config = PlatformConfig::new(database_url, "");
    config.max_connections = 2;
    config.store_url = store_url(args.store.as_deref(), &config.database_url)?;
    let shown = bonsai_platform::config::redact_password(&config.database_url);
    AppState::connect(config, Arc::new(SystemClock))
        .await
        .map_err(|err| Failure {
            code: "unavailable",
            message: format!("opening the platform database {shown}: {err}"),
            diagnostics: Vec::new(),
        })
}

/// The package store: `explicit`, else `$BONSAI_STORE_URL`, else a
/// `packages/` directory beside the SQLite database file, else (Postgres)
/// `packages/` in the user data directory.
pub fn store_url(explicit: Option<&str>, database_url: &str) -> anyhow::Result<String> {
    if let Some(url) = explicit
        .map(str::to_owned)
        .or_else(|| crate::data_dir::non_empty_env("BONSAI_STORE_URL"))
    {
        return Ok(url);
    }
    let dir = match sqlite_file(database_url) {
        Some(file) => file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join("packages"),
        None => crate::data_dir::user_data_dir()
            .context("no data directory for packages: set BONSAI_DATA_DIR, HOME, or pass --store")?
            .join("packages"),
    };
    let dir = if dir.is_relative() {
        std::env::current_dir()
            .context("finding the current directory")?
            .join(dir)
    } else {
        dir
    };
    Ok(registry::file_url(&dir))
}

/// The file of a `sqlite://path?…` URL (not of an in-memory database).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return None;
    }
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| path.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    Some(PathBuf::from(String::from_utf8(decoded).ok()?))
}

async fn execute(args: &PlatformArgs) -> Result<bool, Failure> {
    let json = args.json;
    let state = connect(args).await?;
    let outcome = match &args.command {
        PlatformCommand::App { command } => app(&state, json, command).await,
        PlatformCommand::User { command } => user(&state, json, command).await,
        PlatformCommand::Version { command } => version(&state, json, command).await,
        PlatformCommand::Payments { command } => payments(&state, json, command).await,
        PlatformCommand::Messages {
            command: MessagesCommand::List { user },
        } => {
            let inbox = bonsai_platform::messages::inbox(&state, user).await?;
            Ok(show(json, &inbox, |messages| {
                messages
                    .iter()
                    .map(|m| {
                        let items: Vec<String> = m
                            .items
                            .iter()
                            .map(|i| format!("{}: {}", i.label, i.value))
                            .collect();
                        format!(
                            "{}  {}  {}  {}",
                            utc(m.sent_at),
                            m.appid,
                            m.title,
                            items.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }))
        }
    };
    state.db.close().await;
    outcome
}

async fn payments(
    state: &AppState,
    json: bool,
    command: &PaymentsCommand,
) -> Result<bool, Failure> {
    match command {
        PaymentsCommand::List { mchid } => {
            let payments = bonsai_platform::wechat_pay::orders::list_payments(state, mchid).await?;
            Ok(show(json, &payments, |payments| {
                payments
                    .iter()
                    .map(|p| {
                        format!(
                            "{}  {}  {} fen  {}",
                            p["out_trade_no"].as_str().unwrap_or("-"),
                            p["trade_state"].as_str().unwrap_or("-"),
                            p["amount"]["total"],
                            p["payer"]["openid"].as_str().unwrap_or("-"),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }))
        }
        PaymentsCommand::Alipay { app } => {
            let trades = bonsai_platform::alipay::list_trades(state, app).await?;
            Ok(show(json, &trades, |trades| {
                trades
                    .iter()
                    .map(|t| {
                        format!(
                            "{}  {}  {}  ¥{}  {}",
                            t.out_trade_no, t.trade_no, t.trade_status, t.total_amount, t.user
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }))
        }
    }
}

async fn app(state: &AppState, json: bool, command: &AppCommand) -> Result<bool, Failure> {
    match command {
        AppCommand::Create {
            appid,
            name,
            secret,
            developer,
        } => {
            let new = NewApp {
                appid: appid.clone(),
                secret: secret.clone(),
                name: name.clone(),
                developer: developer.clone(),
            };
            let created = identity::create_app(state, new).await?;
            Ok(show(json, &created, |c| {
                format!(
                    "created app {} ({})\nAppSecret: {} (shown this once)",
                    c.app.appid, c.app.name, c.secret
                )
            }))
        }
        AppCommand::Show { appid } => {
            let app = identity::get_app(state, appid).await?;
            Ok(show(json, &app, |a| {
                let developer = a.developer.as_deref().unwrap_or("-");
                format!(
                    "{} ({}), developer {developer}, created {}",
                    a.appid,
                    a.name,
                    utc(a.created_at)
                )
            }))
        }
    }
}

async fn user(state: &AppState, json: bool, command: &UserCommand) -> Result<bool, Failure> {
    match command {
        UserCommand::Create {
            id,
            nickname,
            phone,
            country_code,
        } => {
            let new = NewUser {
                id: id.clone(),
                nickname: nickname.clone(),
                phone: phone.clone().map(|number| Phone {
                    country_code: country_code.clone(),
                    number,
                }),
                ..NewUser::default()
            };
            let user = identity::create_user(state, new).await?;
            Ok(show(json, &user, |u| {
                format!("created user {} ({})", u.id, u.nickname)
            }))
        }
        UserCommand::Show { id } => {
            let user = identity::get_user(state, id).await?;
            Ok(show(json, &user, |u| {
                let phone = u
                    .phone
                    .as_ref()
                    .map(|p| format!(", phone +{} {}", p.country_code, p.number))
                    .unwrap_or_default();
                format!("{} ({}){phone}", u.id, u.nickname)
            }))
        }
    }
}

/// A directory zipped in memory (as the devtools upload it: dot-files and
/// `node_modules` left out), or a zip file's bytes.
fn package_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    if !path.is_dir() {
        return std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    }
    let files =
        bonsai_package::input::read_dir(path, bonsai_package::input::InputLimits::default())
            .with_context(|| format!("reading {}", path.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // No timestamps: the same directory zips to the same bytes (and hash).
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files.iter() {
        zip.start_file(name, options)
            .with_context(|| format!("zipping {name}"))?;
        zip.write_all(content)
            .with_context(|| format!("zipping {name}"))?;
    }
    Ok(zip.finish().context("zipping")?.into_inner())
}

/// The test hook for crash tests: with `BONSAI_TEST_PAUSE_AFTER_BLOB=<file>`
/// an upload creates `<file>` once its blob is stored and then waits (to be
/// killed) before creating the version.
async fn pause_for_crash_test() {
    if let Some(marker) = crate::data_dir::non_empty_env("BONSAI_TEST_PAUSE_AFTER_BLOB") {
        if let Err(err) = std::fs::write(&marker, b"blob stored\n") {
            eprintln!("warning: cannot write {marker}: {err}");
        }
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}

async fn version(state: &AppState, json: bool, command: &VersionCommand) -> Result<bool, Failure> {
    use VersionCommand as V;
    let ok = match command {
        V::Upload {
            appid,
            path,
            version_name,
            description,
            by,
        } => {
            let zip = package_bytes(path)?;
            let new = NewVersion {
                version: version_name.clone(),
                description: description.clone(),
                by: Some(by.actor()),
            };
            let staged = registry::stage_package(state, appid, new, zip.into()).await?;
            pause_for_crash_test().await;
            let uploaded = registry::commit_version(state, staged).await?;
            for warning in &uploaded.warnings {
                eprintln!("{warning}");
            }
            show(json, &uploaded, |u| {
                format!(
                    "uploaded {} {}: {}, {}, sha256 {}",
                    u.version.appid,
                    u.version.version,
                    u.version.state,
                    size(u.version.size),
                    u.version.sha256
                )
            })
        }
        V::List { appid } => {
            let list = registry::list_versions(state, appid).await?;
            show(json, &list, human_list)
        }
        V::Show { appid, version } => {
            let version = registry::get_version(state, appid, version).await?;
            show(json, &version, |v| {
                let mut text = format!(
                    "{} {}: {}{}\n  sha256 {}, {}\n  uploaded {} by {}",
                    v.appid,
                    v.version,
                    v.state,
                    if v.trial { " (trial)" } else { "" },
                    v.sha256,
                    size(v.size),
                    utc(v.created_at),
                    v.created_by
                );
                if !v.description.is_empty() {
                    text.push_str(&format!("\n  {}", v.description));
                }
                if let Some(reason) = &v.reject_reason {
                    text.push_str(&format!("\n  rejected: {reason}"));
                }
                text
            })
        }
        V::Trial { appid, version, by } => {
            let v = registry::set_trial(state, appid, version, Some(&by.actor())).await?;
            show(json, &v, |v| {
                format!("{} {} is the trial version", v.appid, v.version)
            })
        }
        V::Submit { appid, version, by } => {
            let v = registry::submit_audit(state, appid, version, Some(&by.actor())).await?;
            show(json, &v, state_line)
        }
        V::Approve { appid, version, by } => {
            let v = registry::approve(state, appid, version, Some(&by.actor())).await?;
            show(json, &v, state_line)
        }
        V::Reject {
            appid,
            version,
            reason,
            by,
        } => {
            let v = registry::reject(state, appid, version, reason, Some(&by.actor())).await?;
            show(json, &v, state_line)
        }
        V::Release {
            appid,
            version,
            gray,
            by,
        } => {
            let status = registry::release(state, appid, version, *gray, Some(&by.actor())).await?;
            show(json, &status, |s| release_line(appid, s))
        }
        V::Rollback { appid, by } => {
            let status = registry::revert_code_release(state, appid, Some(&by.actor())).await?;
            show(json, &status, |s| release_line(appid, s))
        }
        V::RevertGray { appid, by } => {
            let status = registry::revert_gray_release(state, appid, Some(&by.actor())).await?;
            show(json, &status, |s| release_line(appid, s))
        }
        V::Resolve { appid, user } => {
            let released = registry::resolve_release(state, appid, user).await?;
            show(json, &released, |r| match r {
                Some(r) => format!(
                    "{user} gets {appid} {} (sha256 {}, {})",
                    r.version,
                    r.sha256,
                    size(r.size)
                ),
                None => format!("nothing of {appid} is released to {user}"),
            })
        }
        V::Download {
            appid,
            version,
            output,
        } => {
            let found = registry::get_version(state, appid, version).await?;
            let bytes = registry::fetch_package(state, &found.sha256).await?;
            std::fs::write(output, &bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            let written = serde_json::json!({
                "path": output,
                "size": bytes.len(),
                "sha256": found.sha256,
            });
            show(json, &written, |_| {
                format!(
                    "wrote {} ({}, sha256 verified)",
                    output.display(),
                    size(bytes.len() as i64)
                )
            })
        }
        V::Log { appid } => {
            let entries = registry::audit_log(state, appid).await?;
            show(json, &entries, |entries| {
                entries
                    .iter()
                    .map(|e| {
                        let mut line = format!(
                            "#{} {} {} {} by {}",
                            e.serial,
                            utc(e.at),
                            e.action,
                            e.version.as_deref().unwrap_or("-"),
                            e.actor
                        );
                        if let Some(detail) = &e.detail {
                            line.push_str(&format!(": {detail}"));
                        }
                        line
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    };
    Ok(ok)
}

fn state_line(v: &registry::Version) -> String {
    match &v.reject_reason {
        Some(reason) => format!("{} {}: {} ({reason})", v.appid, v.version, v.state),
        None => format!("{} {}: {}", v.appid, v.version, v.state),
    }
}

fn release_line(appid: &str, s: &registry::ReleaseStatus) -> String {
    let released = s.release_version.as_deref().unwrap_or("nothing");
    match &s.gray_version {
        Some(gray) => format!(
            "{appid}: {gray} goes to {}% of users; everyone else gets {released}",
            s.gray_percentage
        ),
        None => format!("{appid}: everyone gets {released}"),
    }
}

fn human_list(list: &registry::VersionList) -> String {
    let mut rows = vec![[
        "VERSION".to_owned(),
        "STATE".to_owned(),
        "SIZE".to_owned(),
        "UPLOADED (UTC)".to_owned(),
        "BY".to_owned(),
        "DESCRIPTION".to_owned(),
    ]];
    for v in &list.versions {
        let mut state = v.state.to_string();
        if let Some(percentage) = v.gray_percentage {
            state.push_str(&format!(" {percentage}%"));
        }
        if v.trial {
            state.push_str(", trial");
        }
        rows.push([
            v.version.clone(),
            state,
            size(v.size),
            utc(v.created_at),
            v.created_by.clone(),
            v.description.lines().next().unwrap_or_default().to_owned(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text: Vec<String> = rows
        .iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect();
    if list.versions.is_empty() {
        text = vec![format!("{} has no versions", list.appid)];
    }
    text.push(release_line(&list.appid, &list.release));
    text.join("\n")
}

fn size(bytes: i64) -> String {
    bonsai_package::limits::format_bytes(u64::try_from(bytes).unwrap_or(0))
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_go_beside_the_sqlite_file() {
        assert_eq!(
            sqlite_file("sqlite:///data/a%20b/platform.db?mode=rwc"),
            Some(PathBuf::from("/data/a b/platform.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
        assert_eq!(
            store_url(None, "sqlite:///data/x/platform.db").ok(),
            Some("file:///data/x/packages".to_owned())
        );
        assert_eq!(
            store_url(Some("s3://b/p"), "sqlite:///x.db").ok(),
            Some("s3://b/p".to_owned())
        );
    }
}
