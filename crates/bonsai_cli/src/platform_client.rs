//! The engine's [`PlatformClient`] for `bonsai run`: an embedded platform
//! that calls `bonsai_platform`'s domain functions on the same database
//! `bonsai serve` uses, so `wx.login` works out of the box and a `bonsai
//! serve` on that database (the one a merchant's server talks to) sees the
//! codes, sessions, payments and subscriptions this run makes.
//!
//! The "super app user" is the one signed in with `--user`; the choices a
//! person makes at the cashier and on the subscribe prompt come from
//! `--pay` and `--subscribe` (headless defaults: pay, accept).

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use bonsai_engine::api::AnswerSender;
use bonsai_engine::api::platform::{PlatformClient, PlatformRequest};
use bonsai_platform::identity::{self, NewApp, NewUser};
use bonsai_platform::registry::{self, ReleasedVersion};
use bonsai_platform::{AppState, PlatformConfig, PlatformError, SystemClock};
use bonsai_platform::{messages, wechat_pay};
use clap::ValueEnum;
use serde_json::{Value, json};

/// What the signed-in user does at the cashier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PayChoice {
    /// Confirm the payment.
    Pay,
    /// Close the cashier (`requestPayment:fail cancel`).
    Cancel,
}

/// What the signed-in user answers on a subscribe-message prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubscribeChoice {
    Accept,
    Reject,
}

/// The platform as `bonsai run` embeds it.
pub struct EmbeddedPlatform {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    user: String,
    pay: PayChoice,
    subscribe: SubscribeChoice,
    updates: Arc<Mutex<Updates>>,
}

/// The registry versions this run knows of: the one it runs (none for a
/// project directory, which is always the newest) and the one the update
/// manager found, downloaded and applied.
#[derive(Debug, Default)]
struct Updates {
    running: Option<String>,
    found: Option<ReleasedVersion>,
    downloaded: bool,
    applied: Option<String>,
    next_launch: Option<LocalVersion>,
}

/// A version kept on the device between launches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocalVersion {
    pub version: String,
    pub sha256: String,
}

impl LocalVersion {
    fn of(release: &ReleasedVersion) -> LocalVersion {
        LocalVersion {
            version: release.version.clone(),
            sha256: release.sha256.clone(),
        }
    }

    fn release(&self) -> ReleasedVersion {
        ReleasedVersion {
            version: self.version.clone(),
            sha256: self.sha256.clone(),
            size: 0,
        }
    }
}

// The state holds credentials (the admin token); show only what identifies the run.
impl std::fmt::Debug for EmbeddedPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedPlatform")
            .field("user", &self.user)
            .field("pay", &self.pay)
            .field("subscribe", &self.subscribe)
            .finish_non_exhaustive()
    }
}

/// How a run's platform is set up.
pub struct EmbeddedOptions<'a> {
    pub database_url: String,
    /// Where the registry's packages are (see `crate::platform::store_url`).
    pub store_url: String,
    pub user: &'a str,
    pub pay: PayChoice,
    pub subscribe: SubscribeChoice,
}

impl EmbeddedPlatform {
    /// Opens the database (applying migrations), makes sure the signed-in
    /// user exists and that `appid` is registered. A newly registered app's
    /// AppSecret is printed once, since only its hash is kept.
    pub fn open(options: EmbeddedOptions<'_>, appid: &str) -> anyhow::Result<EmbeddedPlatform> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the platform's async runtime")?;
        let shown_url = bonsai_platform::config::redact_password(&options.database_url);
        // One connection: an in-memory SQLite database exists per connection.
        let mut config = PlatformConfig::new(options.database_url, String::new());
        config.max_connections = 1;
        config.store_url = options.store_url;
        let state = runtime
            .block_on(AppState::connect(config, Arc::new(SystemClock)))
            .with_context(|| format!("opening the platform database {shown_url}"))?;
        runtime.block_on(ensure_registered(&state, appid, options.user, &shown_url))?;
        Ok(EmbeddedPlatform {
            runtime,
            state,
            user: options.user.to_owned(),
            pay: options.pay,
            subscribe: options.subscribe,
            updates: Arc::default(),
        })
    }

    /// The package to launch for this run's user, as the super app picks
    /// it at a cold start: the version kept locally from an earlier launch
    /// (`local`, when given and still in the store), else the one the
    /// registry releases to the user (gray release honoured). Checked
    /// against its sha256. The update manager then compares the registry's
    /// release with it, and a downloaded update becomes the local version
    /// for the next launch, as in WeChat.
    pub fn released_package(
        &self,
        appid: &str,
        local: Option<LocalVersion>,
    ) -> anyhow::Result<(String, Vec<u8>)> {
        let (release, bytes) = self.runtime.block_on(async {
            if let Some(local) = &local
                && let Ok(bytes) = registry::fetch_package(&self.state, &local.sha256).await
            {
                return anyhow::Ok((local.release(), bytes));
            }
            let release = registry::resolve_release(&self.state, appid, &self.user)
                .await?
                .with_context(|| {
                    format!("{appid} has no version released to user {}", self.user)
                })?;
            let bytes = registry::fetch_package(&self.state, &release.sha256).await?;
            anyhow::Ok((release, bytes))
        })?;
        let version = release.version.clone();
        let mut updates = self.lock_updates();
        updates.running = Some(release.version.clone());
        updates.next_launch = Some(LocalVersion::of(&release));
        drop(updates);
        Ok((version, bytes.to_vec()))
    }

    /// What the next cold start should launch: the version run now, or the
    /// update this run downloaded.
    pub fn next_launch(&self) -> Option<LocalVersion> {
        self.lock_updates().next_launch.clone()
    }

    /// The version `UpdateManager.applyUpdate()` asked to restart on.
    pub fn applied_update(&self) -> Option<String> {
        self.lock_updates().applied.clone()
    }

    fn lock_updates(&self) -> std::sync::MutexGuard<'_, Updates> {
        lock(&self.updates)
    }
}

fn lock(updates: &Mutex<Updates>) -> std::sync::MutexGuard<'_, Updates> {
    updates
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn ensure_registered(
    state: &AppState,
    appid: &str,
    user: &str,
    shown_url: &str,
) -> anyhow::Result<()> {
    match identity::get_app(state, appid).await {
        Ok(_) => {}
        Err(PlatformError::AppNotFound(_)) => {
            let created = identity::create_app(
                state,
                NewApp {
                    appid: Some(appid.to_owned()),
                    name: Some(appid.to_owned()),
                    ..NewApp::default()
                },
            )
            .await
            .with_context(|| format!("registering app {appid} on the platform"))?;
            eprintln!(
                "registered app {appid} on the platform ({shown_url}); its AppSecret, shown once: {}",
                created.secret
            );
        }
        Err(err) => return Err(err).with_context(|| format!("looking up app {appid}")),
    }
    match identity::get_user(state, user).await {
        Ok(_) => Ok(()),
        Err(PlatformError::UserNotFound(_)) => {
            identity::create_user(
                state,
                NewUser {
                    id: Some(user.to_owned()),
                    nickname: Some(user.to_owned()),
                    ..NewUser::default()
                },
            )
            .await
            .with_context(|| format!("creating platform user {user}"))?;
            Ok(())
        }
        Err(err) => Err(err).with_context(|| format!("looking up user {user}")),
    }
}

impl PlatformClient for EmbeddedPlatform {
    fn request(&self, app_id: &str, request: PlatformRequest, answer: AnswerSender) {
        let state = self.state.clone();
        let app_id = app_id.to_owned();
        let user = self.user.clone();
        let (pay, subscribe) = (self.pay, self.subscribe);
        let updates = self.updates.clone();
        self.runtime.spawn(async move {
            let call = Call {
                state: &state,
                app_id: &app_id,
                user: &user,
                updates: &updates,
            };
            match call.answer(request, pay, subscribe).await {
                Ok(value) => answer.send(Ok(value)),
                Err(Refusal {
                    code: Some(code),
                    reason,
                }) => answer.fail_with_code(code, reason),
                Err(Refusal { code: None, reason }) => answer.send(Err(reason)),
            }
        });
    }
}

/// Why a call fails: the text after `"<api>:fail "`, and WeChat's errCode
/// where it numbers the failure.
struct Refusal {
    code: Option<i64>,
    reason: String,
}

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(err: E) -> Self {
        Refusal {
            code: None,
            reason: err.to_string(),
        }
    }
}

/// One call on behalf of the signed-in user.
struct Call<'a> {
    state: &'a AppState,
    app_id: &'a str,
    user: &'a str,
    updates: &'a Mutex<Updates>,
}

impl Call<'_> {
    async fn answer(
        &self,
        request: PlatformRequest,
        pay: PayChoice,
        subscribe: SubscribeChoice,
    ) -> Result<Value, Refusal> {
        let (state, app_id, user) = (self.state, self.app_id, self.user);
        match request {
            PlatformRequest::Login => {
                let issued = identity::issue_login_code(state, app_id, user).await?;
                Ok(json!({ "code": issued.code }))
            }
            PlatformRequest::CheckSession => {
                if identity::has_session(state, app_id, user).await? {
                    Ok(json!({}))
                } else {
                    Err("session time out, need relogin".into())
                }
            }
            PlatformRequest::GetUserProfile { lang, .. } => {
                let profile = identity::user_profile(state, app_id, user, &lang).await?;
                Ok(serde_json::to_value(profile)?)
            }
            PlatformRequest::RequestPayment { params } => {
                let decision = match pay {
                    PayChoice::Pay => wechat_pay::PayDecision::Confirm,
                    PayChoice::Cancel => wechat_pay::PayDecision::Cancel,
                };
                wechat_pay::request_payment(state, app_id, user, &params, decision).await?;
                Ok(json!({}))
            }
            PlatformRequest::RequestSubscribeMessage { template_ids } => {
                let choice = match subscribe {
                    SubscribeChoice::Accept => messages::SubscribeChoice::Accept,
                    SubscribeChoice::Reject => messages::SubscribeChoice::Reject,
                };
                match messages::request_subscribe(state, app_id, user, &template_ids, |_| choice)
                    .await
                {
                    Ok(answers) => Ok(serde_json::to_value(answers)?),
                    Err(PlatformError::SubscribeFailed { err_code, err_msg }) => Err(Refusal {
                        code: Some(err_code),
                        reason: err_msg.to_owned(),
                    }),
                    Err(err) => Err(err.into()),
                }
            }
            PlatformRequest::CheckForUpdate => {
                let Some(running) = lock(self.updates).running.clone() else {
                    // A project directory is the newest version there is.
                    return Ok(json!({ "hasUpdate": false }));
                };
                let check = registry::check_update(state, app_id, user, Some(&running)).await?;
                let found = if check.has_update {
                    registry::resolve_release(state, app_id, user).await?
                } else {
                    None
                };
                let has_update = found.is_some();
                lock(self.updates).found = found;
                Ok(json!({ "hasUpdate": has_update }))
            }
            PlatformRequest::DownloadUpdate => {
                let found = lock(self.updates).found.clone();
                let Some(found) = found else {
                    return Err("no update to download".into());
                };
                registry::fetch_package(state, &found.sha256).await?;
                let mut updates = lock(self.updates);
                updates.downloaded = true;
                updates.next_launch = Some(LocalVersion::of(&found));
                Ok(json!({}))
            }
            PlatformRequest::ApplyUpdate => {
                let mut updates = lock(self.updates);
                match (&updates.found, updates.downloaded) {
                    (Some(found), true) => {
                        updates.applied = Some(found.version.clone());
                        Ok(json!({}))
                    }
                    _ => Err("update is not ready".into()),
                }
            }
        }
    }
}
