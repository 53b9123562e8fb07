//! The engine's [`PlatformClient`] for `bonsai run`: an embedded platform
//! that calls `bonsai_platform`'s domain functions on the same database
//! `bonsai serve` uses, so `wx.login` works out of the box and a `bonsai
//! serve` on that database (the one a merchant's server talks to) sees the
//! codes, sessions, payments and subscriptions this run makes.
//!
//! The "super app user" is the one signed in with `--user`; the choices a
//! person makes at the cashier and on the subscribe prompt come from
//! `--pay` and `--subscribe` (headless defaults: pay, accept).

use std::sync::Arc;

use anyhow::Context as _;
use bonsai_engine::api::AnswerSender;
use bonsai_engine::api::platform::{PlatformClient, PlatformRequest};
use bonsai_platform::identity::{self, NewApp, NewUser};
use bonsai_platform::{messages, wechat_pay};
use bonsai_platform::{AppState, PlatformConfig, PlatformError, SystemClock};
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
        })
    }
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
        self.runtime.spawn(async move {
            let call = Call {
                state: &state,
                app_id: &app_id,
                user: &user,
            };
            match call.answer(request, pay, subscribe).await {
                Ok(value) => answer.send(Ok(value)),
                Err(Refusal { code: Some(code), reason }) => answer.fail_with_code(code, reason),
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
            PlatformRequest::CheckForUpdate
            | PlatformRequest::DownloadUpdate
            | PlatformRequest::ApplyUpdate => Err("not supported yet".into()),
        }
    }
}
