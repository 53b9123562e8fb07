//! The notification outbox: callbacks from the platform to merchants'
//! servers (WeChat Pay's payment and refund notifications, Alipay's
//! `notify_url` posts), persisted and retried on each vendor's schedule.
//!
//! Why an outbox: a payment and the notification announcing it must not
//! part ways. [`enqueue`] writes the delivery on the connection the caller
//! is already using, so inside the transaction that records the payment
//! both commit or neither does; a crash after the commit loses nothing,
//! because delivery happens later, from the table.
//!
//! Delivery: [`deliver_due`] sends every delivery whose `next_attempt_at`
//! has come (by the platform [`Clock`](crate::Clock), so tests move time),
//! and [`spawn_dispatcher`] runs it every second in `serve`. Each attempt is
//! first *claimed* with a conditional update (`… WHERE next_attempt_at =
//! <the value read>`), so two instances never send the same attempt; the
//! claim pushes `next_attempt_at` a minute ahead, after which a delivery
//! whose instance died mid-attempt is due again. A failed attempt is
//! rescheduled after the channel's next interval; after the last one the
//! delivery is given up.
//!
//! Using it from another vendor module (Alipay):
//!
//! ```ignore
//! let mut tx = state.db.pool().begin().await?;
//! // … record the trade …
//! notify::enqueue(&mut tx, state.now(), notify::Delivery {
//!     channel: notify::Channel::Alipay,
//!     url: notify_url.to_owned(),
//!     content_type: "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
//!     body: signed_form,
//! }).await?;
//! tx.commit().await?;
//! ```

use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use tokio::task::JoinHandle;

use crate::admin::AdminError;
use crate::error::PlatformError;
use crate::secrets;
use crate::state::AppState;

/// How long an HTTP attempt may take (WeChat Pay: the merchant must answer
/// within 5 s).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a claim lasts: longer than any attempt, so only a dead
/// instance's claims lapse.
const CLAIM_MS: i64 = 60_000;
/// At most this many deliveries are attempted per [`deliver_due`] call.
const BATCH: i64 = 64;
/// Answers are read up to this size (an acknowledgement is a few bytes).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// WeChat Pay's retry intervals after a failed notification: 15s, 15s,
/// 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h (16 attempts
/// over 24h4m).
const WECHATPAY_RETRIES_MS: &[i64] = &[
    15 * SECOND,
    15 * SECOND,
    30 * SECOND,
    3 * MINUTE,
    10 * MINUTE,
    20 * MINUTE,
    30 * MINUTE,
    30 * MINUTE,
    30 * MINUTE,
    60 * MINUTE,
    3 * HOUR,
    3 * HOUR,
    3 * HOUR,
    6 * HOUR,
    6 * HOUR,
];

/// Alipay's: 2m, 10m, 10m, 1h, 2h, 6h, 15h (8 attempts over about 25 h).
const ALIPAY_RETRIES_MS: &[i64] = &[
    2 * MINUTE,
    10 * MINUTE,
    10 * MINUTE,
    HOUR,
    2 * HOUR,
    6 * HOUR,
    15 * HOUR,
];

/// Whose callback a delivery is: decides the retry schedule, the extra
/// headers and what counts as acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Signed at each attempt with the platform key (`Wechatpay-*`
    /// headers, fresh timestamp); acknowledged by any 2xx status.
    WechatPay,
    /// The body carries its own signature; acknowledged by a 2xx whose
    /// body, trimmed, is `success`.
    Alipay,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WechatPay => "wechatpay",
            Channel::Alipay => "alipay",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        match text {
            "wechatpay" => Some(Channel::WechatPay),
            "alipay" => Some(Channel::Alipay),
            _ => None,
        }
    }

    /// The waits after each failed attempt; the delivery is given up after
    /// the last, so there are `len() + 1` attempts in all.
    pub fn retry_schedule(self) -> Vec<Duration> {
        let millis = match self {
            Channel::WechatPay => WECHATPAY_RETRIES_MS,
            Channel::Alipay => ALIPAY_RETRIES_MS,
        };
        millis
            .iter()
            .map(|&ms| Duration::from_millis(ms.unsigned_abs()))
            .collect()
    }

    fn retry_after_ms(self, failed_attempt: i64) -> Option<i64> {
        let schedule = match self {
            Channel::WechatPay => WECHATPAY_RETRIES_MS,
            Channel::Alipay => ALIPAY_RETRIES_MS,
        };
        usize::try_from(failed_attempt - 1)
            .ok()
            .and_then(|index| schedule.get(index))
            .copied()
    }

    /// Whether the merchant's answer acknowledges the notification.
    pub fn is_acknowledged(self, status: u16, body: &str) -> bool {
        let ok_status = (200..300).contains(&status);
        match self {
            Channel::WechatPay => ok_status,
            Channel::Alipay => ok_status && body.trim() == "success",
        }
    }
}

/// A notification to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub channel: Channel,
    pub url: String,
    /// The `Content-Type` to send the body with.
    pub content_type: String,
    pub body: String,
}

/// Queues `delivery` for its first attempt at `now` on `conn`: pass the
/// transaction (`&mut tx`) that makes the change being announced, so both
/// commit together. Returns the delivery's id.
pub async fn enqueue(
    conn: &mut AnyConnection,
    now: i64,
    delivery: Delivery,
) -> Result<String, PlatformError> {
    let id = format!("ntf_{}", secrets::random_hex(12)?);
    sqlx::query(
        "INSERT INTO notify_outbox
            (id, channel, url, content_type, body, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
    )
    .bind(&id)
    .bind(delivery.channel.as_str())
    .bind(&delivery.url)
    .bind(&delivery.content_type)
    .bind(&delivery.body)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// [`enqueue`] on a connection of its own, for a notification that goes
/// with no other write.
pub async fn enqueue_now(state: &AppState, delivery: Delivery) -> Result<String, PlatformError> {
    let mut conn = state.db.pool().acquire().await?;
    enqueue(&mut conn, state.now(), delivery).await
}

/// What one [`deliver_due`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Attempts made (claimed by this call).
    pub attempted: usize,
    pub delivered: usize,
    /// Failed and rescheduled.
    pub retrying: usize,
    /// Failed for the last time.
    pub gave_up: usize,
}

/// A claimed attempt.
struct Claimed {
    id: String,
    channel: Channel,
    url: String,
    content_type: String,
    body: String,
    attempt: i64,
}

enum Outcome {
    Delivered,
    Retrying,
    GaveUp,
}

/// Sends every delivery due at the platform's current time (up to a batch),
/// concurrently, and records each outcome.
pub async fn deliver_due(state: &AppState) -> Result<DeliveryReport, PlatformError> {
    let now = state.now();
    let due = sqlx::query(
        "SELECT id, next_attempt_at FROM notify_outbox
         WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(state.db.pool())
    .await?;

    let mut attempts = tokio::task::JoinSet::new();
    for row in &due {
        let id: String = row.try_get("id")?;
        let due_at: i64 = row.try_get("next_attempt_at")?;
        let Some(claimed) = claim(state, &id, due_at, now).await? else {
            continue; // another instance has it
        };
        let state = state.clone();
        attempts.spawn(async move { attempt(&state, claimed, now).await });
    }

    let mut report = DeliveryReport::default();
    while let Some(joined) = attempts.join_next().await {
        report.attempted += 1;
        match joined {
            Ok(Ok(Outcome::Delivered)) => report.delivered += 1,
            Ok(Ok(Outcome::Retrying)) => report.retrying += 1,
            Ok(Ok(Outcome::GaveUp)) => report.gave_up += 1,
            // The claim lapses and the attempt is made again later.
            Ok(Err(err)) => tracing::error!("recording a notification attempt failed: {err}"),
            Err(err) => tracing::error!("a notification attempt panicked or was cancelled: {err}"),
        }
    }
    Ok(report)
}

/// Takes the attempt due at `due_at`, if no one else took it first.
async fn claim(
    state: &AppState,
    id: &str,
    due_at: i64,
    now: i64,
) -> Result<Option<Claimed>, PlatformError> {
    let row = sqlx::query(
        "UPDATE notify_outbox SET next_attempt_at = $1, attempts = attempts + 1
         WHERE id = $2 AND next_attempt_at = $3
         RETURNING channel, url, content_type, body, attempts",
    )
    .bind(now + CLAIM_MS)
    .bind(id)
    .bind(due_at)
    .fetch_optional(state.db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let channel: String = row.try_get("channel")?;
    let Some(channel) = Channel::parse(&channel) else {
        return Err(PlatformError::Internal(format!(
            "notification {id} has unknown channel `{channel}`"
        )));
    };
    Ok(Some(Claimed {
        id: id.to_owned(),
        channel,
        url: row.try_get("url")?,
        content_type: row.try_get("content_type")?,
        body: row.try_get("body")?,
        attempt: row.try_get("attempts")?,
    }))
}

/// One HTTP attempt and its bookkeeping.
async fn attempt(state: &AppState, claimed: Claimed, now: i64) -> Result<Outcome, PlatformError> {
    let mut headers = vec![("Content-Type", claimed.content_type.clone())];
    if claimed.channel == Channel::WechatPay {
        headers.extend(crate::wechat_pay::signature_headers(state, claimed.body.as_bytes()).await?);
    }
    let (url, body) = (claimed.url.clone(), claimed.body.clone());
    let answer = tokio::task::spawn_blocking(move || post(&url, &headers, body))
        .await
        .unwrap_or_else(|err| Answer {
            status: None,
            body: String::new(),
            error: Some(format!("the HTTP task failed: {err}")),
        });
    let acknowledged = answer.error.is_none()
        && answer
            .status
            .is_some_and(|status| claimed.channel.is_acknowledged(status, &answer.body));
    let error = if acknowledged {
        None
    } else {
        Some(answer.error.clone().unwrap_or_else(|| match answer.status {
            Some(status) if (200..300).contains(&status) => {
                format!("HTTP {status}, but the body was not `success`")
            }
            Some(status) => format!("HTTP {status}"),
            None => "no answer".to_owned(),
        }))
    };

    let (outcome, next_attempt_at) = if acknowledged {
        (Outcome::Delivered, None)
    } else {
        match claimed.channel.retry_after_ms(claimed.attempt) {
            Some(wait) => (Outcome::Retrying, Some(now + wait)),
            None => (Outcome::GaveUp, None),
        }
    };
    let status = answer.status.map(i64::from);
    let mut tx = state.db.pool().begin().await?;
    // Guarded by the attempt number: if this instance stalled past its
    // claim and another took over, the newer attempt's record wins.
    sqlx::query(
        "UPDATE notify_outbox SET next_attempt_at = $1, delivered_at = $2, gave_up_at = $3,
                last_status = $4, last_error = $5
         WHERE id = $6 AND attempts = $7",
    )
    .bind(next_attempt_at)
    .bind(acknowledged.then_some(now))
    .bind(matches!(outcome, Outcome::GaveUp).then_some(now))
    .bind(status)
    .bind(&error)
    .bind(&claimed.id)
    .bind(claimed.attempt)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO notify_attempts (outbox_id, attempt, started_at, status, error)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (outbox_id, attempt) DO NOTHING",
    )
    .bind(&claimed.id)
    .bind(claimed.attempt)
    .bind(now)
    .bind(status)
    .bind(&error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    match &outcome {
        Outcome::Delivered => tracing::info!(
            id = claimed.id,
            attempt = claimed.attempt,
            "notification delivered"
        ),
        Outcome::Retrying | Outcome::GaveUp => tracing::warn!(
            id = claimed.id,
            attempt = claimed.attempt,
            given_up = matches!(outcome, Outcome::GaveUp),
            "notification not acknowledged: {}",
            error.as_deref().unwrap_or_default()
        ),
    }
    Ok(outcome)
}

/// What came back from one POST.
struct Answer {
    status: Option<u16>,
    body: String,
    error: Option<String>,
}

/// The HTTP client of notifications: 5 s for the whole exchange, no
/// redirects (an acknowledgement must come from the URL itself), no proxy
/// from the environment, any status returned as an answer.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .timeout_global(Some(ATTEMPT_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .build()
            .new_agent()
    })
}

/// A blocking POST (run it in `spawn_blocking`).
fn post(url: &str, headers: &[(&str, String)], body: String) -> Answer {
    let mut request = agent().post(url);
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    match request.send(body) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let body = response
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_string()
                .unwrap_or_default();
            Answer {
                status: Some(status),
                body,
                error: None,
            }
        }
        Err(err) => Answer {
            status: None,
            body: String::new(),
            error: Some(err.to_string()),
        },
    }
}

/// Runs the platform's timed work every second until aborted: refunds
/// whose delay has passed succeed (queuing their notifications), then due
/// notifications are delivered. Every instance may run one; claims keep
/// them from doing the same work twice.
pub fn spawn_dispatcher(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = crate::wechat_pay::settle_due_refunds(&state).await {
                tracing::error!("settling due refunds failed: {err}");
            }
            match deliver_due(&state).await {
                Ok(report) if report.attempted > 0 => tracing::debug!(?report, "notifications"),
                Ok(_) => {}
                Err(err) => tracing::error!("delivering notifications failed: {err}"),
            }
        }
    })
}

/// One attempt, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub started_at: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
}

/// A delivery and its attempts, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationRecord {
    pub id: String,
    pub channel: Channel,
    pub url: String,
    pub content_type: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub history: Vec<AttemptRecord>,
}

/// The newest deliveries (of one channel, if given), with their attempts.
pub async fn list(
    state: &AppState,
    channel: Option<Channel>,
    limit: i64,
) -> Result<Vec<NotificationRecord>, PlatformError> {
    let rows = sqlx::query(
        "SELECT id, channel, url, content_type, body, attempts, next_attempt_at, delivered_at,
                gave_up_at, last_status, last_error, created_at
         FROM notify_outbox WHERE ($1 = '' OR channel = $1)
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(channel.map(Channel::as_str).unwrap_or(""))
    .bind(limit.clamp(1, 1000))
    .fetch_all(state.db.pool())
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get("id")?;
        let channel: String = row.try_get("channel")?;
        let history = sqlx::query(
            "SELECT attempt, started_at, status, error FROM notify_attempts
             WHERE outbox_id = $1 ORDER BY attempt",
        )
        .bind(&id)
        .fetch_all(state.db.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(AttemptRecord {
                attempt: row.try_get("attempt")?,
                started_at: row.try_get("started_at")?,
                status: row.try_get("status")?,
                error: row.try_get("error")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        records.push(NotificationRecord {
            channel: Channel::parse(&channel).ok_or_else(|| {
                PlatformError::Internal(format!(
                    "notification {id} has unknown channel `{channel}`"
                ))
            })?,
            id,
            url: row.try_get("url")?,
            content_type: row.try_get("content_type")?,
            body: row.try_get("body")?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            delivered_at: row.try_get("delivered_at")?,
            gave_up_at: row.try_get("gave_up_at")?,
            last_status: row.try_get("last_status")?,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
            history,
        });
    }
    Ok(records)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /admin/notifications?channel=wechatpay|alipay&limit=N`.
async fn list_handler(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let Query(query) = query.map_err(|rejection| AdminError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_query",
        message: rejection.body_text(),
    })?;
    let channel = match query.channel.as_deref() {
        None | Some("") => None,
        Some(name) => Some(Channel::parse(name).ok_or_else(|| AdminError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_query",
            message: format!("unknown channel `{name}`: use wechatpay or alipay"),
        })?),
    };
    let records = list(&state, channel, query.limit.unwrap_or(100)).await?;
    Ok(Json(serde_json::json!({ "notifications": records })).into_response())
}

/// `/notifications`, to be merged into the admin router (behind its token).
pub(crate) fn admin_router() -> Router<AppState> {
    Router::new().route("/notifications", get(list_handler))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_the_vendors() {
        let total: Duration = Channel::WechatPay.retry_schedule().iter().sum();
        assert_eq!(total, Duration::from_secs(24 * 3600 + 4 * 60));
        assert_eq!(Channel::WechatPay.retry_schedule().len(), 15);
        assert_eq!(Channel::Alipay.retry_schedule().len(), 7);
        assert_eq!(Channel::WechatPay.retry_after_ms(1), Some(15_000));
        assert_eq!(Channel::WechatPay.retry_after_ms(15), Some(6 * HOUR));
        assert_eq!(Channel::WechatPay.retry_after_ms(16), None);
        assert_eq!(Channel::Alipay.retry_after_ms(7), Some(15 * HOUR));
        assert_eq!(Channel::Alipay.retry_after_ms(8), None);
    }

    #[test]
    fn acknowledgements() {
        assert!(Channel::WechatPay.is_acknowledged(200, ""));
        assert!(Channel::WechatPay.is_acknowledged(204, ""));
        assert!(!Channel::WechatPay.is_acknowledged(500, "{\"code\":\"FAIL\"}"));
        assert!(Channel::Alipay.is_acknowledged(200, "success\n"));
        assert!(!Channel::Alipay.is_acknowledged(200, "fail"));
        assert!(!Channel::Alipay.is_acknowledged(500, "success"));
    }
}
