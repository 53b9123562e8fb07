//! `bonsai run`: launch an app headless, open a page, tap, wait, and print
//! the page's tree with the app's console output and uncaught errors.

use std::sync::Arc;

use anyhow::Context as _;

use bonsai_diagnostics::Diagnostic;
use bonsai_engine::{AppInstance, EngineOptions, LaunchOptions};
use bonsai_tree::PrintOptions;
use clap::Args;
use serde::Serialize;

use crate::InputArgs;
use crate::platform_client::{EmbeddedOptions, EmbeddedPlatform, PayChoice, SubscribeChoice};
use crate::project::load_and_compile;
use crate::report::print_human;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The page to open, with its query: `pages/detail/detail?id=3`.
    #[arg(long)]
    pub page: Option<String>,
    /// Tap the first node matching this selector (repeatable, in order).
    #[arg(long = "tap", value_name = "SELECTOR")]
    pub taps: Vec<String>,
    /// Let this much virtual time pass after the taps (runs timers).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub wait: u64,
    /// Print attributes and inline styles too.
    #[arg(long)]
    pub attributes: bool,
    /// A domain `wx.request` may reach (repeatable): the app's allow-list,
    /// as configured in WeChat's admin console.
    #[arg(long = "request-domain", value_name = "DOMAIN")]
    pub request_domains: Vec<String>,
    /// A domain `wx.connectSocket` may reach (repeatable).
    #[arg(long = "socket-domain", value_name = "DOMAIN")]
    pub socket_domains: Vec<String>,
    /// A domain `wx.uploadFile` may reach (repeatable).
    #[arg(long = "upload-domain", value_name = "DOMAIN")]
    pub upload_domains: Vec<String>,
    /// A domain `wx.downloadFile` may reach (repeatable).
    #[arg(long = "download-domain", value_name = "DOMAIN")]
    pub download_domains: Vec<String>,
    /// Answers for device APIs (location, chooseImage, scanCode…): a JSON
    /// file like `{"location": {"latitude": 31.2, "longitude": 121.5}}`.
    /// Without it those APIs fail, as on a phone whose user refuses.
    #[arg(long = "device", value_name = "FILE")]
    pub device_fixtures: Option<std::path::PathBuf>,
    /// Keep wx storage and files in memory only (by default they persist
    /// per app id under the user's data directory, as on a phone).
    #[arg(long)]
    pub no_persist: bool,
    #[command(flatten)]
    pub platform: PlatformArgs,
}

/// The embedded platform behind `wx.login`, `wx.requestPayment` and
/// `wx.requestSubscribeMessage`.
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// The super app user signed in to this run (created on first use).
    #[arg(long, value_name = "ID", default_value = "bonsai-dev")]
    pub user: String,
    /// The platform database `wx.login` and payments go through: the one a
    /// `bonsai serve` for the app's server uses
    /// [default: $BONSAI_DATABASE_URL, else platform.db in the data directory;
    /// in memory with --no-persist].
    #[arg(long = "platform-database", value_name = "URL")]
    pub database_url: Option<String>,
    /// What the user does at the cashier when the app calls wx.requestPayment.
    #[arg(long, value_enum, default_value = "pay")]
    pub pay: PayChoice,
    /// What the user answers when the app calls wx.requestSubscribeMessage.
    #[arg(long, value_enum, default_value = "accept")]
    pub subscribe: SubscribeChoice,
    /// The platform's package store [default: as `bonsai serve`'s].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// INPUT is an app id: run the version the platform's registry releases
    /// to --user (gray release included), as the super app would; the app's
    /// update manager then sees later releases.
    #[arg(long, conflicts_with = "no_platform")]
    pub released: bool,
    /// No platform: the platform APIs fail with "not supported".
    #[arg(long, conflicts_with_all = ["database_url"])]
    pub no_platform: bool,
}

#[derive(Serialize)]
struct RunReport {
    ok: bool,
    page_stack: Vec<String>,
    tree: String,
    /// Toasts, dialogs and bar state on top of the page.
    ui: bonsai_engine::api::ui::UiState,
    console: Vec<bonsai_engine::ConsoleMessage>,
    errors: Vec<bonsai_engine::JsError>,
}

pub fn run(args: &RunArgs) -> anyhow::Result<bool> {
    let (project, mut platform) = if args.platform.released {
        let appid = args.input.input.to_string_lossy();
        let embedded = open_platform(args, &appid)?;
        let local = local_version_file(args, &appid, &args.platform.user);
        let kept = local
            .as_ref()
            .and_then(|path| std::fs::read(path).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let (version, zip) = embedded.released_package(&appid, kept)?;
        eprintln!(
            "running {appid} version {version}, as released to {}",
            args.platform.user
        );
        let files = bonsai_package::input::read_zip(
            std::io::Cursor::new(zip),
            std::path::Path::new(&format!("{appid}@{version}.zip")),
            bonsai_package::input::InputLimits::default(),
        )
        .map_err(|err| anyhow::anyhow!("the released package: {}", err.to_diagnostic()))?;
        let project = crate::project::compile_files(files, bonsai_package::LoadMode::App, None);
        (project, Some(embedded))
    } else {
        (load_and_compile(&args.input.input, false), None)
    };
    let compile_errors: Vec<Diagnostic> = project
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    let Some(compiled) = project
        .compiled
        .as_ref()
        .filter(|_| compile_errors.is_empty())
    else {
        print_human(&project, &compile_errors);
        eprintln!(
            "not running: the project has {} error(s)",
            compile_errors.len()
        );
        return Ok(false);
    };
    if compiled.url_check && !args.input.json {
        eprintln!("note: network domain checks follow project.config.json (urlCheck: true)");
    } else if !compiled.url_check {
        eprintln!(
            "warning: urlCheck is false in project.config.json: domain allow-list checks are OFF (development only)"
        );
    }
    let storage = (!args.no_persist)
        .then(crate::storage::FileStorage::in_user_data_dir)
        .flatten()
        .map(|s| Arc::new(s) as Arc<dyn bonsai_engine::StorageBackend>);
    let file_system = (!args.no_persist)
        .then(crate::files::DiskFileSystem::in_user_data_dir)
        .flatten()
        .map(|f| Arc::new(f) as Arc<dyn bonsai_engine::FileSystemBackend>);
    let device_provider = match &args.device_fixtures {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let fixtures: bonsai_engine::api::device::FixtureDevice =
                serde_json::from_str(&text)
                    .with_context(|| format!("{}: not a device fixture file", path.display()))?;
            Some(Arc::new(fixtures) as Arc<dyn bonsai_engine::api::device::DeviceProvider>)
        }
        None => None,
    };
    if platform.is_none() && !args.platform.no_platform {
        platform = Some(open_platform(args, &bonsai_engine::app_key(compiled))?);
    }
    let platform = platform.map(Arc::new);
    let options = EngineOptions {
        storage,
        file_system,
        domains: bonsai_engine::api::network::Domains {
            request: args.request_domains.clone(),
            socket: args.socket_domains.clone(),
            upload_file: args.upload_domains.clone(),
            download_file: args.download_domains.clone(),
        },
        device_provider,
        network: Some(Arc::new(crate::network::HttpNetwork)),
        sockets: Some(Arc::new(crate::socket::WebSockets)),
        platform: platform
            .clone()
            .map(|p| p as Arc<dyn bonsai_engine::api::platform::PlatformClient>),
        ..EngineOptions::default()
    };
    let mut instance = AppInstance::new(Arc::new(compiled.clone()), &options)?;
    instance.launch(&LaunchOptions {
        url: args.page.clone(),
        ..LaunchOptions::default()
    });
    // Requests run in real time; their answers are part of what a page shows.
    let network_timeout = std::time::Duration::from_secs(60);
    instance.wait_for_providers(network_timeout);
    for selector in &args.taps {
        instance.tap(selector)?;
        instance.wait_for_providers(network_timeout);
    }
    if args.wait > 0 {
        instance.advance(args.wait);
    }
    let tree = instance.page_wxml(PrintOptions {
        attributes: args.attributes,
    });
    if let Some(platform) = &platform {
        if let Some(version) = platform.applied_update() {
            eprintln!("the app applied an update: it restarts on version {version}");
        }
        if let (Some(next), Some(path)) = (
            platform.next_launch(),
            local_version_file(
                args,
                &args.input.input.to_string_lossy(),
                &args.platform.user,
            ),
        ) && args.platform.released
        {
            write_local_version(&path, &next)?;
        }
    }
    let errors = instance.errors();
    let console = instance.console();
    let ok = errors.is_empty();
    if args.input.json {
        let report = RunReport {
            ok,
            page_stack: instance.page_stack(),
            tree,
            ui: instance.ui(),
            console,
            errors,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ok);
    }
    for message in &console {
        eprintln!(
            "[console.{}] {}",
            serde_json::to_value(&message.level)?
                .as_str()
                .unwrap_or("log"),
            message.text
        );
    }
    for error in &errors {
        eprintln!("uncaught error: {error}");
    }
    println!("{}", instance.page_stack().join(" > "));
    print!("{tree}");
    let ui = instance.ui();
    if let Some(toast) = &ui.toast {
        println!(
            "[{}] {}",
            if toast.loading { "loading" } else { "toast" },
            toast.title
        );
    }
    for dialog in &ui.dialogs {
        println!(
            "[dialog #{}] {}",
            dialog.id,
            serde_json::to_string(&dialog.kind)?
        );
    }
    Ok(ok)
}

/// The embedded platform for `appid`, on the database and store `bonsai
/// serve` uses unless told otherwise.
fn open_platform(args: &RunArgs, appid: &str) -> anyhow::Result<EmbeddedPlatform> {
    let flags = &args.platform;
    let database_url = match (&flags.database_url, args.no_persist) {
        (None, true) => "sqlite::memory:".to_owned(),
        (explicit, _) => crate::data_dir::platform_database_url(explicit.as_deref())?,
    };
    let store_url = match (&flags.store, args.no_persist) {
        (None, true) => "memory://".to_owned(),
        (explicit, _) => crate::platform::store_url(explicit.as_deref(), &database_url)?,
    };
    EmbeddedPlatform::open(
        EmbeddedOptions {
            database_url,
            store_url,
            user: &flags.user,
            pay: flags.pay,
            subscribe: flags.subscribe,
        },
        appid,
    )
}

/// Where the version a user last launched (or downloaded) is kept between
/// runs, per app and user: the device's local copy. None without
/// persistence.
fn local_version_file(args: &RunArgs, appid: &str, user: &str) -> Option<std::path::PathBuf> {
    if args.no_persist {
        return None;
    }
    let dir = crate::data_dir::user_data_dir()?
        .join("launch")
        .join(crate::data_dir::app_file_name(appid));
    Some(dir.join(format!("{}.json", crate::data_dir::app_file_name(user))))
}

fn write_local_version(
    path: &std::path::Path,
    version: &crate::platform_client::LocalVersion,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, serde_json::to_vec(version)?)
        .with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("writing {}", path.display()))
}
