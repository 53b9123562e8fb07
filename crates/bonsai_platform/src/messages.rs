//! Subscribe messages: an app's templates, the user's consent
//! (`wx.requestSubscribeMessage`), `POST /cgi-bin/message/subscribe/send`
//! from the developer's server, and the user's inbox.
//!
//! Subscriptions are WeChat's one-time kind: each acceptance of a template
//! lets the app send that user one message from it, and acceptances add up.
//! The consent and the inbox are in-process functions ([`request_subscribe`],
//! [`inbox`]) that the CLI's adapter for the engine, the admin API and the
//! preview call alike.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::admin::{AdminError, AdminJson, AdminPath};
use crate::clock::{Clock, SystemClock};
use crate::error::PlatformError;
use crate::identity;
use crate::secrets;
use crate::state::AppState;
use crate::wechat::{CallerApp, DATA_FORMAT, WxError};

/// Templates one `wx.requestSubscribeMessage` call may ask for.
pub const MAX_TEMPLATES_PER_REQUEST: usize = 5;
/// Keywords a template may have (WeChat lets a developer pick up to five).
pub const MAX_KEYWORDS: usize = 5;
/// The newest messages [`inbox`] returns.
pub const INBOX_LIMIT: i64 = 1000;

/// What a keyword's value must look like, named as WeChat names keywords
/// (`thing1` is a `thing`, `character_string4` a `character_string`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeywordKind {
    /// Up to 20 characters of anything.
    Thing,
    /// Up to 32 digits, may have decimals.
    Number,
    /// Up to 32 letters.
    Letter,
    /// Up to 5 symbols.
    Symbol,
    /// Up to 32 digits, letters or symbols.
    CharacterString,
    /// A 24-hour time, maybe with a date before it; or a range `a~b`.
    Time,
    /// A date, maybe with a time after it; or a range `a~b`.
    Date,
    /// A currency sign and up to 10 digits, may have decimals and end in 元.
    Amount,
    /// Up to 17 digits and symbols.
    PhoneNumber,
    /// Up to 8 characters; first and last may be Chinese, the rest letters or digits.
    CarNumber,
    /// Up to 10 Chinese characters, or up to 20 letters and symbols.
    Name,
    /// Up to 5 Chinese characters.
    Phrase,
}

impl KeywordKind {
    const ALL: [KeywordKind; 12] = [
        KeywordKind::Thing,
        KeywordKind::Number,
        KeywordKind::Letter,
        KeywordKind::Symbol,
        KeywordKind::CharacterString,
        KeywordKind::Time,
        KeywordKind::Date,
        KeywordKind::Amount,
        KeywordKind::PhoneNumber,
        KeywordKind::CarNumber,
        KeywordKind::Name,
        KeywordKind::Phrase,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeywordKind::Thing => "thing",
            KeywordKind::Number => "number",
            KeywordKind::Letter => "letter",
            KeywordKind::Symbol => "symbol",
            KeywordKind::CharacterString => "character_string",
            KeywordKind::Time => "time",
            KeywordKind::Date => "date",
            KeywordKind::Amount => "amount",
            KeywordKind::PhoneNumber => "phone_number",
            KeywordKind::CarNumber => "car_number",
            KeywordKind::Name => "name",
            KeywordKind::Phrase => "phrase",
        }
    }

    pub fn parse(text: &str) -> Option<KeywordKind> {
        KeywordKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The kind a WeChat keyword name says: `thing1` → thing.
    pub fn of_name(name: &str) -> Option<KeywordKind> {
        KeywordKind::parse(name.trim_end_matches(|c: char| c.is_ascii_digit()))
    }

    /// Whether `value` fits the kind's rule (it is known to be non-empty).
    pub fn accepts(self, value: &str) -> bool {
        let chars = value.chars().count();
        match self {
            KeywordKind::Thing => chars <= 20 && !value.chars().any(char::is_control),
            KeywordKind::Number => chars <= 32 && is_decimal(value),
            KeywordKind::Letter => chars <= 32 && value.chars().all(|c| c.is_ascii_alphabetic()),
            KeywordKind::Symbol => chars <= 5 && value.chars().all(is_symbol),
            KeywordKind::CharacterString => {
                chars <= 32 && value.chars().all(|c| c.is_ascii_graphic())
            }
            KeywordKind::Time => is_time_value(value, Need::Time),
            KeywordKind::Date => is_time_value(value, Need::Date),
            KeywordKind::Amount => is_amount(value),
            KeywordKind::PhoneNumber => {
                chars <= 17
                    && value.chars().any(|c| c.is_ascii_digit())
                    && value
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == ' ' || c.is_ascii_punctuation())
            }
            KeywordKind::CarNumber => is_car_number(value),
            KeywordKind::Name => is_name(value),
            KeywordKind::Phrase => chars <= 5 && value.chars().all(is_cjk),
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}')
}

fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
}

/// Digits with at most one decimal point between digits.
fn is_decimal(value: &str) -> bool {
    let (whole, fraction) = match value.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// An optional currency sign, up to 10 digits (decimals allowed), an optional 元.
fn is_amount(value: &str) -> bool {
    let value = value.strip_suffix('元').unwrap_or(value);
    let value = value
        .strip_prefix(['¥', '￥', '$', '€', '£', '₩', '₹', '₽', '฿'])
        .unwrap_or(value);
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    is_decimal(value) && digits <= 10
}

fn is_car_number(value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() || chars.len() > 8 {
        return false;
    }
    let last = chars.len() - 1;
    chars
        .iter()
        .enumerate()
        .all(|(i, &c)| c.is_ascii_alphanumeric() || ((i == 0 || i == last) && is_cjk(c)))
}

/// Chinese names up to 10 characters (mixed names count as Chinese); other
/// names up to 20 letters and symbols. Digits are no part of a name.
fn is_name(value: &str) -> bool {
    let count = value.chars().count();
    let fits =
        |c: char| !c.is_numeric() && !c.is_control() && (c.is_alphabetic() || !c.is_alphanumeric());
    if !value.chars().all(fits) {
        return false;
    }
    if value.chars().any(is_cjk) {
        count <= 10
    } else {
        count <= 20
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Time,
    Date,
}

/// A `time` or `date` value: one point or a range `a~b`. A point is a date
/// (`2019年10月1日`, `2019-10-01`, `2019/10/01`), a 24-hour time (`15:01`,
/// `15:01:30`) or a date then a time; `time` values need the time and
/// `date` values the date.
fn is_time_value(value: &str, need: Need) -> bool {
    if value.chars().count() > 64 {
        return false;
    }
    let mut points = value.split(['~', '～']);
    let ok = |point: &str| match parse_point(point.trim()) {
        Some((has_date, has_time)) => match need {
            Need::Time => has_time,
            Need::Date => has_date,
        },
        None => false,
    };
    let (Some(first), second, None) = (points.next(), points.next(), points.next()) else {
        return false;
    };
    ok(first) && second.is_none_or(ok)
}

/// Whether a point parses, and whether it has a date and a time.
fn parse_point(point: &str) -> Option<(bool, bool)> {
    if point.is_empty() {
        return None;
    }
    let (date, time) = match point.find(':') {
        // The time is the last word; everything before it is the date.
        Some(_) => match point.rfind([' ', '日']) {
            Some(at) => {
                let split = if point[at..].starts_with('日') {
                    at + '日'.len_utf8()
                } else {
                    at
                };
                (Some(point[..split].trim()), point[split..].trim())
            }
            None => (None, point),
        },
        None => (Some(point), ""),
    };
    let has_date = match date {
        Some(date) if !date.is_empty() => {
            if !is_date(date) {
                return None;
            }
            true
        }
        _ => false,
    };
    let has_time = !time.is_empty();
    if has_time && !is_clock_time(time) {
        return None;
    }
    Some((has_date, has_time))
}

fn number(text: &str, min_len: usize, max_len: usize) -> Option<u32> {
    if text.len() < min_len || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_date(date: &str) -> bool {
    let parts: Vec<&str> = if let Some(rest) = date.strip_suffix('日') {
        let Some((year, rest)) = rest.split_once('年') else {
            return false;
        };
        let Some((month, day)) = rest.split_once('月') else {
            return false;
        };
        vec![year, month, day]
    } else if date.contains('-') {
        date.split('-').collect()
    } else {
        date.split('/').collect()
    };
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (
        number(year.trim(), 4, 4),
        number(month.trim(), 1, 2),
        number(day.trim(), 1, 2),
    ) else {
        return false;
    };
    crate::civil_time::days_in_month(i64::from(year), i64::from(month))
        .is_some_and(|days| day >= 1 && i64::from(day) <= days)
}

fn is_clock_time(time: &str) -> bool {
    let parts: Vec<&str> = time.split(':').collect();
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] => (h, m, None),
        [h, m, s] => (h, m, Some(s)),
        _ => return false,
    };
    let in_range = |text: &str, max: u32| number(text, 2, 2).is_some_and(|n| n <= max);
    number(hour, 1, 2).is_some_and(|h| h <= 23)
        && in_range(minute, 59)
        && second.is_none_or(|s| in_range(s, 59))
}

/// A keyword as an admin defines it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordSpec {
    /// WeChat's name: `thing1`, `time2`, `amount3`…
    pub name: String,
    /// Defaults to what the name says (`thing1` → `thing`).
    #[serde(default)]
    pub kind: Option<String>,
    /// What the user sees beside the value (商品名称…); defaults to the name.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    /// Generated (43 characters, like WeChat's) when absent.
    #[serde(default)]
    pub template_id: Option<String>,
    pub title: String,
    pub keywords: Vec<KeywordSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyword {
    pub name: String,
    pub kind: KeywordKind,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    pub template_id: String,
    pub appid: String,
    pub title: String,
    pub keywords: Vec<Keyword>,
    pub created_at: i64,
}

fn check_keywords(specs: Vec<KeywordSpec>) -> Result<Vec<Keyword>, PlatformError> {
    if specs.is_empty() || specs.len() > MAX_KEYWORDS {
        return Err(PlatformError::invalid(
            "keywords",
            format!("a template has 1 to {MAX_KEYWORDS} keywords"),
        ));
    }
    let mut seen = HashSet::new();
    let mut keywords = Vec::with_capacity(specs.len());
    for spec in specs {
        let name = spec.name;
        if name.is_empty()
            || name.len() > 32
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(PlatformError::invalid(
                "keywords.name",
                format!("`{name}` is not a keyword name like thing1 (a-z, 0-9, _; at most 32)"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(PlatformError::invalid(
                "keywords.name",
                format!("`{name}` appears twice"),
            ));
        }
        let kind = match &spec.kind {
            Some(kind) => KeywordKind::parse(kind).ok_or_else(|| {
                PlatformError::invalid("keywords.kind", format!("unknown kind `{kind}`"))
            })?,
            None => KeywordKind::of_name(&name).ok_or_else(|| {
                PlatformError::invalid(
                    "keywords.kind",
                    format!("`{name}` names no known kind (thing1, time2, amount3…); give `kind`"),
                )
            })?,
        };
        let label = spec.label.unwrap_or_else(|| name.clone());
        if label.is_empty() || label.chars().count() > 20 || label.chars().any(char::is_control) {
            return Err(PlatformError::invalid(
                "keywords.label",
                "must be 1 to 20 characters",
            ));
        }
        keywords.push(Keyword { name, kind, label });
    }
    Ok(keywords)
}

/// Adds a subscribe-message template to an app.
pub async fn create_template(
    state: &AppState,
    appid: &str,
    new: NewTemplate,
) -> Result<Template, PlatformError> {
    identity::get_app(state, appid).await?;
    let template_id = match new.template_id {
        Some(id) => {
            if id.is_empty()
                || id.len() > 64
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(PlatformError::invalid(
                    "template_id",
                    "must be 1 to 64 letters, digits, `-` or `_`",
                ));
            }
            id
        }
        None => new_template_id()?,
    };
    let title = new.title;
    if title.is_empty() || title.chars().count() > 32 || title.chars().any(char::is_control) {
        return Err(PlatformError::invalid(
            "title",
            "must be 1 to 32 characters",
        ));
    }
    let keywords = check_keywords(new.keywords)?;
    let keywords_json = serde_json::to_string(&keywords)
        .map_err(|err| PlatformError::invalid("keywords", err.to_string()))?;
    let created_at = state.now();
    let inserted = sqlx::query(
        "INSERT INTO message_templates (template_id, appid, title, keywords, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (template_id) DO NOTHING",
    )
    .bind(&template_id)
    .bind(appid)
    .bind(&title)
    .bind(&keywords_json)
    .bind(created_at)
    .execute(state.db.pool())
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(PlatformError::TemplateExists(template_id));
    }
    Ok(Template {
        template_id,
        appid: appid.to_owned(),
        title,
        keywords,
        created_at,
    })
}

fn new_template_id() -> Result<String, PlatformError> {
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secrets::random_bytes::<32>()?))
}

fn template_of(row: &sqlx::any::AnyRow) -> Result<Template, PlatformError> {
    let keywords: String = row.try_get("keywords")?;
    Ok(Template {
        template_id: row.try_get("template_id")?,
        appid: row.try_get("appid")?,
        title: row.try_get("title")?,
        keywords: serde_json::from_str(&keywords)
            .map_err(|err| PlatformError::invalid("stored keywords", err.to_string()))?,
        created_at: row.try_get("created_at")?,
    })
}

/// The app's templates, oldest first.
pub async fn list_templates(state: &AppState, appid: &str) -> Result<Vec<Template>, PlatformError> {
    identity::get_app(state, appid).await?;
    let rows = sqlx::query(
        "SELECT template_id, appid, title, keywords, created_at FROM message_templates
         WHERE appid = $1 ORDER BY created_at, template_id",
    )
    .bind(appid)
    .fetch_all(state.db.pool())
    .await?;
    rows.iter().map(template_of).collect()
}

async fn find_template(
    state: &AppState,
    appid: &str,
    template_id: &str,
) -> Result<Option<Template>, PlatformError> {
    let row = sqlx::query(
        "SELECT template_id, appid, title, keywords, created_at FROM message_templates
         WHERE template_id = $1 AND appid = $2",
    )
    .bind(template_id)
    .bind(appid)
    .fetch_optional(state.db.pool())
    .await?;
    row.as_ref().map(template_of).transpose()
}

/// The user's answer to one template in the subscribe dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscribeChoice {
    Accept,
    Reject,
}

/// What `wx.requestSubscribeMessage` answers for a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscribeResult {
    /// The user accepted: the app may send one more message from it.
    Accept,
    /// The user declined.
    Reject,
    /// Blocked by the platform (never given by this sandbox so far).
    Ban,
    /// Not shown: another template of the same title came first, or the id
    /// is not one of the app's templates.
    Filter,
}

impl SubscribeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscribeResult::Accept => "accept",
            SubscribeResult::Reject => "reject",
            SubscribeResult::Ban => "ban",
            SubscribeResult::Filter => "filter",
        }
    }
}

fn subscribe_failed(err_code: i64, err_msg: &'static str) -> PlatformError {
    PlatformError::SubscribeFailed { err_code, err_msg }
}

/// `wx.requestSubscribeMessage({tmplIds})` for `user` in `appid`: the
/// dialog shows the app's templates among `template_ids` (each title once)
/// and `decision` answers for each. Every acceptance lets the app send one
/// more message from that template. The map holds every id asked for.
///
/// Fails as WeChat does ([`PlatformError::SubscribeFailed`] with its
/// errCode): no ids (10001), more than [`MAX_TEMPLATES_PER_REQUEST`]
/// (20003), or none of them the app's (20001).
pub async fn request_subscribe(
    state: &AppState,
    appid: &str,
    user: &str,
    template_ids: &[String],
    decision: impl Fn(&str) -> SubscribeChoice,
) -> Result<BTreeMap<String, SubscribeResult>, PlatformError> {
    identity::get_app(state, appid).await?;
    identity::get_user(state, user).await?;
    if template_ids.is_empty() {
        return Err(subscribe_failed(10001, "TmplIds can't be empty"));
    }
    if template_ids.len() > MAX_TEMPLATES_PER_REQUEST {
        return Err(subscribe_failed(20003, "Templates count out of max bounds"));
    }
    let mut templates = Vec::new();
    for id in template_ids {
        templates.push((id, find_template(state, appid, id).await?));
    }
    if templates.iter().all(|(_, template)| template.is_none()) {
        return Err(subscribe_failed(
            20001,
            "No template data return, verify the template id exist",
        ));
    }

    let openid = identity::openid_of(state, appid, user);
    let now = state.now();
    let mut results = BTreeMap::new();
    let mut titles = HashSet::new();
    let mut tx = state.db.pool().begin().await?;
    for (id, template) in templates {
        if results.contains_key(id.as_str()) {
            continue;
        }
        let result = match template {
            Some(template) if titles.insert(template.title.clone()) => {
                let choice = decision(id);
                sqlx::query(
                    "INSERT INTO message_subscriptions
                        (template_id, user_id, appid, openid, remaining, last_choice, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (template_id, user_id) DO UPDATE SET
                        remaining = message_subscriptions.remaining + excluded.remaining,
                        last_choice = excluded.last_choice,
                        updated_at = excluded.updated_at",
                )
                .bind(id)
                .bind(user)
                .bind(appid)
                .bind(&openid)
                .bind(i64::from(choice == SubscribeChoice::Accept))
                .bind(match choice {
                    SubscribeChoice::Accept => "accept",
                    SubscribeChoice::Reject => "reject",
                })
                .bind(now)
                .execute(&mut *tx)
                .await?;
                match choice {
                    SubscribeChoice::Accept => SubscribeResult::Accept,
                    SubscribeChoice::Reject => SubscribeResult::Reject,
                }
            }
            _ => SubscribeResult::Filter,
        };
        results.insert(id.clone(), result);
    }
    tx.commit().await?;
    Ok(results)
}

/// How many more messages the app may send the user from a template.
pub async fn remaining_sends(
    state: &AppState,
    template_id: &str,
    user: &str,
) -> Result<i64, PlatformError> {
    let remaining: Option<i64> = sqlx::query_scalar(
        "SELECT remaining FROM message_subscriptions WHERE template_id = $1 AND user_id = $2",
    )
    .bind(template_id)
    .bind(user)
    .fetch_optional(state.db.pool())
    .await?;
    Ok(remaining.unwrap_or(0))
}

/// `subscribeMessage.send`'s body. Fields WeChat ignores (`miniprogram`…) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SendRequest {
    #[serde(default)]
    pub touser: Option<String>,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// developer, trial or formal (the default).
    #[serde(default)]
    pub miniprogram_state: Option<String>,
    /// zh_CN (the default), en_US, zh_HK or zh_TW.
    #[serde(default)]
    pub lang: Option<String>,
}

/// A refused send: WeChat's errcode and errmsg, or our own failure.
#[derive(Debug)]
pub enum SendError {
    Refused { errcode: i64, errmsg: String },
    Internal(PlatformError),
}

impl SendError {
    fn refused(errcode: i64, errmsg: impl Into<String>) -> Self {
        SendError::Refused {
            errcode,
            errmsg: errmsg.into(),
        }
    }

    pub fn errcode(&self) -> i64 {
        match self {
            SendError::Refused { errcode, .. } => *errcode,
            SendError::Internal(_) => -1,
        }
    }
}

impl From<PlatformError> for SendError {
    fn from(err: PlatformError) -> Self {
        SendError::Internal(err)
    }
}

impl From<sqlx::Error> for SendError {
    fn from(err: sqlx::Error) -> Self {
        SendError::Internal(err.into())
    }
}

fn invalid_openid() -> SendError {
    SendError::refused(40003, "invalid openid")
}

/// One keyword of a sent message, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageItem {
    pub name: String,
    pub label: String,
    pub value: String,
}

/// The value of `data.<name>.value` as text: strings as they are, numbers
/// as written; anything else is no value.
fn value_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn check_data(
    template: &Template,
    data: Option<&serde_json::Value>,
) -> Result<Vec<MessageItem>, SendError> {
    let data = match data {
        Some(serde_json::Value::Object(data)) => Some(data),
        None | Some(serde_json::Value::Null) => None,
        Some(_) => return Err(SendError::refused(47003, "argument invalid! data invalid")),
    };
    let mut items = Vec::with_capacity(template.keywords.len());
    for keyword in &template.keywords {
        let name = &keyword.name;
        let value = data
            .and_then(|data| data.get(name))
            .and_then(|entry| entry.get("value"));
        let text = match value {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(value_text(value).ok_or_else(|| {
                SendError::refused(
                    47003,
                    format!("argument invalid! data.{name}.value invalid"),
                )
            })?),
        };
        let text = text.filter(|text| !text.trim().is_empty()).ok_or_else(|| {
            SendError::refused(
                47003,
                format!("argument invalid! data.{name}.value is empty"),
            )
        })?;
        if !keyword.kind.accepts(&text) {
            return Err(SendError::refused(
                47003,
                format!("argument invalid! data.{name}.value invalid"),
            ));
        }
        items.push(MessageItem {
            name: name.clone(),
            label: keyword.label.clone(),
            value: text,
        });
    }
    Ok(items)
}

/// The user an openid of `appid` stands for: one who logged in to the app
/// or answered one of its subscribe dialogs.
async fn user_of_openid(
    state: &AppState,
    appid: &str,
    openid: &str,
) -> Result<Option<String>, PlatformError> {
    let from_session: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM sessions WHERE appid = $1 AND openid = $2")
            .bind(appid)
            .bind(openid)
            .fetch_optional(state.db.pool())
            .await?;
    if from_session.is_some() {
        return Ok(from_session);
    }
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM message_subscriptions WHERE appid = $1 AND openid = $2 LIMIT 1",
    )
    .bind(appid)
    .bind(openid)
    .fetch_optional(state.db.pool())
    .await?)
}

/// `subscribeMessage.send` from `appid`'s server: checks the receiver, the
/// template and the data, spends one of the user's acceptances and puts the
/// message in their inbox. Returns the msgid.
pub async fn send(state: &AppState, appid: &str, request: SendRequest) -> Result<i64, SendError> {
    let openid = request.touser.as_deref().unwrap_or_default();
    if openid.is_empty() || openid.len() > 128 {
        return Err(invalid_openid());
    }
    let Some(user) = user_of_openid(state, appid, openid).await? else {
        return Err(invalid_openid());
    };
    let template_id = request.template_id.as_deref().unwrap_or_default();
    let template = if template_id.is_empty() || template_id.len() > 128 {
        None
    } else {
        find_template(state, appid, template_id).await?
    };
    let Some(template) = template else {
        return Err(SendError::refused(40037, "invalid template_id"));
    };
    let items = check_data(&template, request.data.as_ref())?;
    let miniprogram_state = request
        .miniprogram_state
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "formal".to_owned());
    if !matches!(miniprogram_state.as_str(), "developer" | "trial" | "formal") {
        return Err(SendError::refused(
            47003,
            "argument invalid! miniprogram_state invalid",
        ));
    }
    let lang = request
        .lang
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "zh_CN".to_owned());
    if !matches!(lang.as_str(), "zh_CN" | "en_US" | "zh_HK" | "zh_TW") {
        return Err(SendError::refused(47003, "argument invalid! lang invalid"));
    }
    let page = request.page.filter(|p| !p.is_empty());
    if page
        .as_ref()
        .is_some_and(|p| p.len() > 1024 || p.chars().any(char::is_control))
    {
        return Err(SendError::refused(47003, "argument invalid! page invalid"));
    }
    let items_json = serde_json::to_string(&items)
        .map_err(|err| PlatformError::invalid("message", err.to_string()))?;

    let now = state.now();
    // The spend is the transaction's first statement: a write, so SQLite
    // takes its write lock at once (see wechat::token::begin_issuing).
    let mut tx = state.db.pool().begin().await?;
    let spent = sqlx::query(
        "UPDATE message_subscriptions SET remaining = remaining - 1, updated_at = $1
         WHERE template_id = $2 AND user_id = $3 AND appid = $4 AND remaining > 0",
    )
    .bind(now)
    .bind(&template.template_id)
    .bind(&user)
    .bind(appid)
    .execute(&mut *tx)
    .await?;
    if spent.rows_affected() == 0 {
        return Err(SendError::refused(43101, "user refuse to accept the msg"));
    }
    let seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE user_id = $1")
            .bind(&user)
            .fetch_one(&mut *tx)
            .await?;
    let msgid = new_msgid()?;
    sqlx::query(
        "INSERT INTO messages (msgid, user_id, appid, template_id, seq, title, page, items,
            miniprogram_state, lang, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(msgid)
    .bind(&user)
    .bind(appid)
    .bind(&template.template_id)
    .bind(seq)
    .bind(&template.title)
    .bind(&page)
    .bind(&items_json)
    .bind(&miniprogram_state)
    .bind(&lang)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::debug!(%appid, msgid, "subscribe message sent");
    Ok(msgid)
}

/// A numeric msgid, as WeChat's are, kept below 2^53 so JavaScript reads it exactly.
fn new_msgid() -> Result<i64, PlatformError> {
    let random = u64::from_le_bytes(secrets::random_bytes::<8>()?);
    let low = 1u64 << 52;
    let id = low + random % low;
    i64::try_from(id).map_err(|_| PlatformError::Crypto("msgid out of range".to_owned()))
}

/// A message in a user's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxMessage {
    pub msgid: i64,
    pub appid: String,
    pub template_id: String,
    pub title: String,
    pub page: Option<String>,
    pub items: Vec<MessageItem>,
    pub miniprogram_state: String,
    pub lang: String,
    pub sent_at: i64,
}

/// The user's messages from every app, newest first (at most [`INBOX_LIMIT`]).
pub async fn inbox(state: &AppState, user: &str) -> Result<Vec<InboxMessage>, PlatformError> {
    identity::get_user(state, user).await?;
    let rows = sqlx::query(
        "SELECT msgid, appid, template_id, title, page, items, miniprogram_state, lang, sent_at
         FROM messages WHERE user_id = $1 ORDER BY sent_at DESC, seq DESC LIMIT $2",
    )
    .bind(user)
    .bind(INBOX_LIMIT)
    .fetch_all(state.db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let items: String = row.try_get("items")?;
            Ok(InboxMessage {
                msgid: row.try_get("msgid")?,
                appid: row.try_get("appid")?,
                template_id: row.try_get("template_id")?,
                title: row.try_get("title")?,
                page: row.try_get("page")?,
                items: serde_json::from_str(&items)
                    .map_err(|err| PlatformError::invalid("stored message", err.to_string()))?,
                miniprogram_state: row.try_get("miniprogram_state")?,
                lang: row.try_get("lang")?,
                sent_at: row.try_get("sent_at")?,
            })
        })
        .collect()
}

/// WeChat's request id, as `wechat` writes it.
fn new_rid() -> String {
    let now = SystemClock.now_millis() / 1000;
    let random = secrets::random_bytes::<8>().unwrap_or_default();
    format!(
        "{now:08x}-{}-{}",
        hex::encode(&random[..4]),
        hex::encode(&random[4..])
    )
}

impl IntoResponse for SendError {
    fn into_response(self) -> Response {
        match self {
            // These errmsgs end in " rid: …" without a comma, as WeChat writes them.
            SendError::Refused { errcode, errmsg } => {
                let rid = new_rid();
                tracing::debug!(%rid, errcode, "{errmsg}");
                Json(serde_json::json!({
                    "errcode": errcode,
                    "errmsg": format!("{errmsg} rid: {rid}"),
                }))
                .into_response()
            }
            SendError::Internal(err) => WxError::Internal(err).into_response(),
        }
    }
}

async fn send_handler(
    State(state): State<AppState>,
    caller: CallerApp,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return WxError::Api(DATA_FORMAT).into_response();
    };
    let Ok(request) = serde_json::from_slice::<SendRequest>(&body) else {
        return WxError::Api(DATA_FORMAT).into_response();
    };
    match send(&state, &caller.appid, request).await {
        Ok(msgid) => Json(serde_json::json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
            .into_response(),
        Err(err) => err.into_response(),
    }
}

/// WeChat's routes, merged at the root.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/cgi-bin/message/subscribe/send", post(send_handler))
}

type AdminResult = Result<Response, AdminError>;

async fn create_template_handler(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
    AdminJson(new): AdminJson<NewTemplate>,
) -> AdminResult {
    let template = create_template(&state, &appid, new).await?;
    Ok((StatusCode::CREATED, Json(template)).into_response())
}

async fn list_templates_handler(
    State(state): State<AppState>,
    AdminPath(appid): AdminPath<String>,
) -> AdminResult {
    Ok(Json(list_templates(&state, &appid).await?).into_response())
}

/// The admin's answer for the dialog: one for all, or one per template
/// (templates left out are rejected).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Decision {
    All(SubscribeChoice),
    PerTemplate(HashMap<String, SubscribeChoice>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeBody {
    appid: String,
    user: String,
    template_ids: Vec<String>,
    decision: Decision,
}

async fn subscribe_handler(
    State(state): State<AppState>,
    AdminJson(body): AdminJson<SubscribeBody>,
) -> AdminResult {
    let decision = |id: &str| match &body.decision {
        Decision::All(choice) => *choice,
        Decision::PerTemplate(choices) => {
            choices.get(id).copied().unwrap_or(SubscribeChoice::Reject)
        }
    };
    let results = request_subscribe(
        &state,
        &body.appid,
        &body.user,
        &body.template_ids,
        decision,
    )
    .await?;
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

async fn inbox_handler(
    State(state): State<AppState>,
    AdminPath(user): AdminPath<String>,
) -> AdminResult {
    Ok(Json(inbox(&state, &user).await?).into_response())
}

/// The admin routes, merged into `/admin` (behind its token check).
pub(crate) fn admin_router() -> Router<AppState> {
    Router::new()
        .route(
            "/apps/{appid}/message-templates",
            post(create_template_handler).get(list_templates_handler),
        )
        .route("/messages/subscribe", post(subscribe_handler))
        .route("/users/{user}/messages", get(inbox_handler))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_names() {
        assert_eq!(KeywordKind::of_name("thing1"), Some(KeywordKind::Thing));
        assert_eq!(
            KeywordKind::of_name("character_string12"),
            Some(KeywordKind::CharacterString)
        );
        assert_eq!(
            KeywordKind::of_name("phone_number9"),
            Some(KeywordKind::PhoneNumber)
        );
        assert_eq!(KeywordKind::of_name("site01"), None);
    }

    #[test]
    fn values_follow_wechat_rules() {
        use KeywordKind as K;
        let cases: &[(K, &str, bool)] = &[
            (K::Thing, "二十个字以内的任何内容", true),
            (K::Thing, "123456789012345678901", false),
            (K::Number, "339208499", true),
            (K::Number, "3.14", true),
            (K::Number, "12a", false),
            (K::Number, "1.", false),
            (K::Number, &"9".repeat(33), false),
            (K::Letter, "abc", true),
            (K::Letter, "ab1", false),
            (K::Symbol, "+-*", true),
            (K::Symbol, "a", false),
            (K::CharacterString, "ORDER-2024_001", true),
            (K::CharacterString, "有中文", false),
            (K::Time, "15:01", true),
            (K::Time, "2019年10月1日 15:01", true),
            (K::Time, "2023-08-21 22:48:54", true),
            (K::Time, "15:01~16:30", true),
            (K::Time, "2019-10-01", false),
            (K::Time, "25:00", false),
            (K::Date, "2019年10月1日", true),
            (K::Date, "2019-10-01 15:01", true),
            (K::Date, "2019/10/01~2019/10/07", true),
            (K::Date, "2019-02-30", false),
            (K::Date, "15:01", false),
            (K::Date, "tomorrow", false),
            (K::Amount, "¥1.00", true),
            (K::Amount, "100元", true),
            (K::Amount, "￥12345.67元", true),
            (K::Amount, "¥12345678901", false),
            (K::Amount, "one yuan", false),
            (K::PhoneNumber, "+86-0766-66888866", true),
            (K::PhoneNumber, "123456789012345678", false),
            (K::PhoneNumber, "call me", false),
            (K::CarNumber, "粤A8Z888挂", true),
            (K::CarNumber, "粤A8Z888挂9", false),
            (K::CarNumber, "A粤8", false),
            (K::Name, "张三", true),
            (K::Name, "John Smith", true),
            (K::Name, "张三丰张三丰张三丰张三", false),
            (K::Name, "R2D2", false),
            (K::Phrase, "配送中", true),
            (K::Phrase, "配送中了吗啊", false),
            (K::Phrase, "ok", false),
        ];
        for &(kind, value, expected) in cases {
            assert_eq!(kind.accepts(value), expected, "{kind:?} {value:?}");
        }
    }
}
