//! The library's error type. HTTP handlers turn it into the vendor's errcode
//! JSON (`wechat` routes) or the admin API's JSON error (`admin` routes); the
//! in-process API returns it as is.

use crate::open_data::OpenDataError;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("the operating system has no randomness to give: {0}")]
    Random(getrandom::Error),
    #[error("app `{0}` does not exist")]
    AppNotFound(String),
    #[error("user `{0}` does not exist")]
    UserNotFound(String),
    #[error("app `{0}` already exists")]
    AppExists(String),
    #[error("user `{0}` already exists")]
    UserExists(String),
    #[error("user `{0}` has no phone number")]
    NoPhoneNumber(String),
    #[error("user `{user}` has not logged in to `{appid}` (call wx.login first)")]
    NoSession { appid: String, user: String },
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("cryptography failed: {0}")]
    Crypto(String),
    #[error(transparent)]
    OpenData(#[from] OpenDataError),
    #[error("template `{0}` already exists")]
    TemplateExists(String),
    /// `wx.requestSubscribeMessage` failed: WeChat's errCode and errMsg.
    #[error("requestSubscribeMessage:fail {err_msg} (errCode {err_code})")]
    SubscribeFailed {
        err_code: i64,
        err_msg: &'static str,
    },
    #[error("Alipay app `{0}` does not exist")]
    AlipayAppNotFound(String),
    #[error("Alipay app `{0}` already exists")]
    AlipayAppExists(String),
    #[error("WeChat Pay merchant `{0}` does not exist")]
    MerchantNotFound(String),
    #[error("WeChat Pay merchant `{0}` already exists")]
    MerchantExists(String),
    /// A broken invariant (a row that vanished mid-request, a value the
    /// database should never hold): a bug or outside interference.
    #[error("internal error: {0}")]
    Internal(String),
    /// The failure of a statement that served several requests at once
    /// (see `batch`): each of them reports it.
    #[error(transparent)]
    Batch(std::sync::Arc<PlatformError>),
}

impl From<getrandom::Error> for PlatformError {
    fn from(err: getrandom::Error) -> Self {
        PlatformError::Random(err)
    }
}

impl PlatformError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        PlatformError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}
