//! `bonsai serve`: the platform server (crate `bonsai_platform`) on a socket.
//!
//! The database defaults to `platform.db` in the user data directory
//! (SQLite, WAL); `--database-url` (or `BONSAI_DATABASE_URL`) points it at
//! another SQLite file or at Postgres. The registry's package zips go to
//! `--store` (or `BONSAI_STORE_URL`): `packages/` beside the SQLite file by
//! default, or `file:///dir`, or `s3://bucket/prefix` with `AWS_*` settings
//! (several instances need a shared store: S3). The admin API's token comes
//! from `BONSAI_ADMIN_TOKEN`; without one a token is made up and printed,
//! which suits one developer's machine but not several instances, which must
//! share it.
//! Ctrl-C or SIGTERM stops it after the requests in flight.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use bonsai_platform::{AppState, PlatformConfig, SystemClock};
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8420")]
    pub listen: SocketAddr,
    /// `sqlite://path/to/platform.db` or `postgres://user@host/db`
    /// [default: $BONSAI_DATABASE_URL, else platform.db in the Bonsai data directory]
    #[arg(long)]
    pub database_url: Option<String>,
    /// Package store: `file:///dir` or `s3://bucket/prefix` (AWS_* variables)
    /// [default: $BONSAI_STORE_URL, else packages/ beside the SQLite file, else in the data directory]
    #[arg(long)]
    pub store: Option<String>,
}

pub fn serve(args: &ServeArgs) -> anyhow::Result<bool> {
    let database_url = crate::data_dir::platform_database_url(args.database_url.as_deref())?;
    let admin_token = match crate::data_dir::non_empty_env("BONSAI_ADMIN_TOKEN") {
        Some(token) => token,
        None => {
            let token = bonsai_platform::secrets::new_admin_token()?;
            eprintln!("BONSAI_ADMIN_TOKEN is not set; this run's admin token is: {token}");
            token
        }
    };
    let mut config = PlatformConfig::new(database_url, admin_token);
    config.store_url = crate::platform::store_url(args.store.as_deref(), &config.database_url)?;
    let shown_url = bonsai_platform::config::redact_password(&config.database_url);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let state = AppState::connect(config, Arc::new(SystemClock))
            .await
            .with_context(|| format!("opening the platform database {shown_url}"))?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let address = listener.local_addr().unwrap_or(args.listen);
        eprintln!(
            "bonsai serve: http://{address} (database {shown_url}, packages {}); Ctrl-C stops it",
            state.store.url()
        );
        bonsai_platform::serve(listener, state, shutdown_signal())
            .await
            .context("serving")?;
        eprintln!("bonsai serve: stopped");
        Ok(true)
    })
}

/// Resolves on Ctrl-C, or on SIGTERM (how containers and service managers
/// ask a process to stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::pin!(ctrl_c, terminate);
    tokio::select! {
        () = &mut ctrl_c => {}
        () = &mut terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
