//! The package registry: versions of an app's code package, their review,
//! trial, phased ("gray") release and rollback, and their distribution to
//! the super app's clients.
//!
//! A version follows WeChat's life cycle (states as [`VersionState`]):
//!
//! | from                        | action                    | to        |
//! |-----------------------------|---------------------------|-----------|
//! | (upload)                    | [`upload_version`]        | develop   |
//! | develop, rejected           | [`submit_audit`]          | auditing  |
//! | auditing                    | [`approve`]               | approved  |
//! | auditing                    | [`reject`] (with a reason)| rejected  |
//! | approved, retired           | [`release`] 1–99 %        | gray      |
//! | gray                        | [`release`] higher %      | gray      |
//! | approved, gray, retired     | [`release`] 100 %         | released  |
//! | released (the one before)   | another's release 100 %   | retired   |
//! | gray                        | [`revert_gray_release`]   | approved  |
//! | released / its predecessor  | [`revert_code_release`]   | approved / released |
//!
//! Any version can be the app's one trial version (体验版). Releasing at
//! 100 % makes a version the one every user gets and retires the one before;
//! [`revert_code_release`] (WeChat's `revertcoderelease`) goes back to it,
//! once. Releasing below 100 % starts (or raises) a gray release: users whose
//! [`gray_bucket`] is below the percentage get the gray version, everyone
//! else the released one; [`revert_gray_release`] (`revertgrayrelease`)
//! sends them back. Every transition is one transaction that first bumps
//! the app's `app_registry.serial` (so an app's transitions take turns on
//! every instance), then moves the version with an UPDATE guarded by its
//! expected state (so two admins cannot both release), and writes a row to
//! the audit log ([`audit_log`]).
//!
//! Packages are content-addressed zips in a [`BlobStore`]. An upload
//! validates the zip with the package loader ([`bonsai_package`]), writes
//! the blob, and only then inserts the version row, in one transaction:
//! a crash at any point leaves either no version or a whole one (and at
//! worst an orphan blob, which is harmless). [`fetch_package`] verifies the
//! SHA-256 of what it read, so a damaged blob is never handed out.

pub(crate) mod http;
mod store;
mod validate;

use bonsai_diagnostics::DiagnosticJson;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::PlatformError;
use crate::identity;
use crate::secrets;
use crate::state::AppState;

pub use store::{BlobStore, file_url};
pub use validate::{MAX_PACKAGE_BYTES, SIZE_LIMITS};

/// Where a version is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionState {
    /// Uploaded (开发版).
    Develop,
    /// Submitted for review.
    Auditing,
    /// Passed review: may be released.
    Approved,
    /// Failed review (see the reason); may be submitted again.
    Rejected,
    /// Released to a percentage of users.
    Gray,
    /// The version every user gets (线上版本).
    Released,
    /// Was released, then replaced by a newer release.
    Retired,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Develop => "develop",
            VersionState::Auditing => "auditing",
            VersionState::Approved => "approved",
            VersionState::Rejected => "rejected",
            VersionState::Gray => "gray",
            VersionState::Released => "released",
            VersionState::Retired => "retired",
        }
    }

    fn parse(text: &str) -> Option<VersionState> {
        Some(match text {
            "develop" => VersionState::Develop,
            "auditing" => VersionState::Auditing,
            "approved" => VersionState::Approved,
            "rejected" => VersionState::Rejected,
            "gray" => VersionState::Gray,
            "released" => VersionState::Released,
            "retired" => VersionState::Retired,
            _ => return None,
        })
    }
}

impl std::fmt::Display for VersionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a registry operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("package store failed: {0}")]
    Store(#[from] object_store::Error),
    #[error("the package is invalid: {}", summary(.diagnostics))]
    InvalidPackage { diagnostics: Vec<DiagnosticJson> },
    #[error("the package is {size} bytes, over the limit of {limit} bytes")]
    PackageTooLarge { size: u64, limit: u64 },
    #[error("version `{version}` of app `{appid}` already exists")]
    VersionExists { appid: String, version: String },
    #[error("version `{version}` of app `{appid}` does not exist")]
    VersionNotFound { appid: String, version: String },
    #[error("cannot {action} version `{version}`: it is {state}")]
    WrongState {
        version: String,
        state: VersionState,
        action: &'static str,
    },
    #[error("version `{version}` is already under audit: approve or reject it first")]
    AuditInProgress { version: String },
    #[error(
        "version `{version}` is in gray release: release it at 100% or revert the gray release first"
    )]
    GrayInProgress { version: String },
    #[error(
        "the gray release of `{version}` is at {current}%; it can only be raised (asked for {requested}%)"
    )]
    GrayCannotLower {
        version: String,
        current: i64,
        requested: i64,
    },
    #[error("app `{0}` has no gray release in progress")]
    NoGrayRelease(String),
    #[error("app `{0}` has no earlier release to roll back to")]
    NothingToRollBack(String),
    #[error("app `{0}` has no released version")]
    NoRelease(String),
    #[error("package {0} is not in the registry")]
    PackageNotFound(String),
    #[error("package {0} belongs to a version but is missing from the store")]
    PackageMissing(String),
    #[error("package {sha256} is corrupt: the stored bytes hash to {actual}")]
    PackageCorrupt { sha256: String, actual: String },
    #[error("checking the package failed: {0}")]
    CheckFailed(String),
}

impl RegistryError {
    /// A stable code for programs: the admin API's `error.code` (for a
    /// [`RegistryError::Platform`] error, `AdminError::from` gives it).
    pub fn code(&self) -> &'static str {
        use RegistryError as E;
        match self {
            E::Platform(_) | E::Store(_) | E::CheckFailed(_) => "internal",
            E::InvalidPackage { .. } => "invalid_package",
            E::PackageTooLarge { .. } => "package_too_large",
            E::VersionExists { .. } => "version_exists",
            E::VersionNotFound { .. } => "version_not_found",
            E::WrongState { .. } => "wrong_state",
            E::AuditInProgress { .. } => "audit_in_progress",
            E::GrayInProgress { .. } => "gray_in_progress",
            E::GrayCannotLower { .. } => "gray_cannot_lower",
            E::NoGrayRelease(_) => "no_gray_release",
            E::NothingToRollBack(_) => "nothing_to_roll_back",
            E::NoRelease(_) => "no_release",
            E::PackageNotFound(_) => "package_not_found",
            E::PackageMissing(_) => "package_missing",
            E::PackageCorrupt { .. } => "package_corrupt",
        }
    }
}

fn summary(diagnostics: &[DiagnosticJson]) -> String {
    match diagnostics {
        [] => "the loader refused it".to_owned(),
        [only] => only.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

impl From<sqlx::Error> for RegistryError {
    fn from(err: sqlx::Error) -> Self {
        RegistryError::Platform(PlatformError::Database(err))
    }
}

/// One version of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    pub appid: String,
    pub version: String,
    pub description: String,
    pub state: VersionState,
    /// Whether this is the app's trial version.
    pub trial: bool,
    /// While in gray release: the share of users who get it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gray_percentage: Option<i64>,
    /// While rejected: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    /// SHA-256 of the package zip (hex): its key in the store.
    pub sha256: String,
    /// Bytes of the package zip.
    pub size: i64,
    pub created_by: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

/// What an app's users get.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReleaseStatus {
    /// The version everyone outside a gray bucket gets.
    pub release_version: Option<String>,
    /// What [`revert_code_release`] goes back to.
    pub previous_version: Option<String>,
    pub gray_version: Option<String>,
    /// 0 when no gray release is in progress.
    pub gray_percentage: i64,
    pub trial_version: Option<String>,
}

/// An app's versions (in upload order) and what is released.
#[derive(Debug, Clone, Serialize)]
pub struct VersionList {
    pub appid: String,
    pub release: ReleaseStatus,
    pub versions: Vec<Version>,
}

/// A new version's particulars (the query of the upload request).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// 1–64 characters: letters, digits, `.`, `-`, `_`, `+`.
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// Who uploads, for the audit log (default `admin`).
    #[serde(default)]
    pub by: Option<String>,
}

/// An uploaded version and the loader's warnings about its package.
#[derive(Debug, Clone, Serialize)]
pub struct Uploaded {
    #[serde(flatten)]
    pub version: Version,
    pub warnings: Vec<DiagnosticJson>,
}

/// A package checked and stored, whose version row is not written yet
/// (see [`stage_package`]).
#[derive(Debug)]
pub struct StagedVersion {
    appid: String,
    new: NewVersion,
    by: String,
    sha256: String,
    size: i64,
    warnings: Vec<DiagnosticJson>,
}

impl StagedVersion {
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn size(&self) -> i64 {
        self.size
    }
}

/// The version a user gets: what the client downloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleasedVersion {
    pub version: String,
    pub sha256: String,
    pub size: i64,
}

/// `wx.getUpdateManager`'s `onCheckForUpdate`: whether the user should get
/// another version than the one they run, and which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateCheck {
    pub has_update: bool,
    /// The version the user should run (`None` when nothing is released).
    pub version: Option<String>,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// The app's transition number: the log's order.
    pub serial: i64,
    pub version: Option<String>,
    /// `upload`, `trial`, `submit`, `approve`, `reject`, `release`, `gray`,
    /// `revert_gray` or `rollback`.
    pub action: String,
    pub actor: String,
    /// The reject reason, the gray percentage, or the version rolled back from.
    pub detail: Option<String>,
    pub at: i64,
}

/// The user's gray-release bucket in an app, 0–99: the first 8 bytes of
/// SHA-256(`appid` ‖ 0x00 ‖ `user`) as a big-endian integer, modulo 100. A
/// user gets a gray version when their bucket is below its percentage, so
/// the same users stay in as the percentage rises, and every instance (and
/// every client asking again) agrees.
pub fn gray_bucket(appid: &str, user: &str) -> u8 {
    let digest = Sha256::new()
        .chain_update(appid.as_bytes())
        .chain_update([0u8])
        .chain_update(user.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // < 100, so the cast is exact.
    (u64::from_be_bytes(first) % 100) as u8
}

fn check_version(version: &str) -> Result<(), PlatformError> {
    if version.is_empty() || version.len() > 64 {
        return Err(PlatformError::invalid(
            "version",
            "must be 1 to 64 characters",
        ));
    }
    if let Some(bad) = version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')))
    {
        return Err(PlatformError::invalid(
            "version",
            format!("may only contain letters, digits, `.`, `-`, `_` and `+`, found {bad:?}"),
        ));
    }
    Ok(())
}

fn check_text(
    field: &'static str,
    value: &str,
    min_chars: usize,
    max_chars: usize,
) -> Result<(), PlatformError> {
    let count = value.chars().count();
    if count < min_chars || count > max_chars {
        return Err(PlatformError::invalid(
            field,
            if min_chars == 0 {
                format!("must be at most {max_chars} characters")
            } else {
                format!("must be {min_chars} to {max_chars} characters")
            },
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(PlatformError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// The audit log's actor: given, else `admin`.
fn actor(by: Option<&str>) -> Result<String, PlatformError> {
    let by = by.unwrap_or("admin");
    check_text("by", by, 1, 64)?;
    if by.contains(['\n', '\t']) {
        return Err(PlatformError::invalid("by", "must be one line"));
    }
    Ok(by.to_owned())
}

fn check_sha256(sha256: &str) -> Result<String, PlatformError> {
    if sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha256.to_ascii_lowercase())
    } else {
        Err(PlatformError::invalid(
            "sha256",
            "must be 64 hexadecimal digits",
        ))
    }
}

/// Checks and stores a package without creating its version: the first
/// half of [`upload_version`]. Until [`commit_version`] runs, the blob is an
/// orphan nobody points at; dropping the result is always safe.
pub async fn stage_package(
    state: &AppState,
    appid: &str,
    new: NewVersion,
    zip: Bytes,
) -> Result<StagedVersion, RegistryError> {
    check_version(&new.version)?;
    check_text("description", &new.description, 0, 1024)?;
    let by = actor(new.by.as_deref())?;
    identity::get_app(state, appid).await?;
    if zip.len() > MAX_PACKAGE_BYTES {
        return Err(RegistryError::PackageTooLarge {
            size: zip.len() as u64,
            limit: MAX_PACKAGE_BYTES as u64,
        });
    }
    // Refuse a taken version before the work; the insert decides for real.
    let exists = sqlx::query("SELECT 1 FROM app_versions WHERE appid = $1 AND version = $2")
        .bind(appid)
        .bind(&new.version)
        .fetch_optional(state.db.pool())
        .await?;
    if exists.is_some() {
        return Err(RegistryError::VersionExists {
            appid: appid.to_owned(),
            version: new.version,
        });
    }

    // Reading and loading up to 30 MB is CPU work: off the async threads.
    // A panic in the loader becomes an error, not a crash.
    let to_check = zip.clone();
    let (checked, sha256) = tokio::task::spawn_blocking(move || {
        (
            validate::check_zip(&to_check),
            secrets::sha256_hex(&to_check),
        )
    })
    .await
    .map_err(|err| RegistryError::CheckFailed(err.to_string()))?;
    if !checked.errors.is_empty() {
        return Err(RegistryError::InvalidPackage {
            diagnostics: checked.errors,
        });
    }
    let size = zip.len() as i64;
    state.store.put(&sha256, zip).await?;
    Ok(StagedVersion {
        appid: appid.to_owned(),
        new,
        by,
        sha256,
        size,
        warnings: checked.warnings,
    })
}

/// Creates the version of a staged package (in `develop`): the second half
/// of [`upload_version`], one transaction.
pub async fn commit_version(
    state: &AppState,
    staged: StagedVersion,
) -> Result<Uploaded, RegistryError> {
    let StagedVersion {
        appid,
        new,
        by,
        sha256,
        size,
        warnings,
    } = staged;
    let mut tx = AppTx::begin(state, &appid).await?;
    let inserted = sqlx::query(
        "INSERT INTO app_versions
            (appid, version, description, sha256, size, state, created_by, upload_serial, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (appid, version) DO NOTHING",
    )
    .bind(&appid)
    .bind(&new.version)
    .bind(&new.description)
    .bind(&sha256)
    .bind(size)
    .bind(VersionState::Develop.as_str())
    .bind(&by)
    .bind(tx.serial)
    .bind(tx.now)
    .execute(&mut *tx.tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(RegistryError::VersionExists {
            appid,
            version: new.version,
        });
    }
    tx.audit(Some(&new.version), "upload", &by, Some(sha256.clone()))
        .await?;
    tx.commit().await?;
    tracing::info!(%appid, version = %new.version, %sha256, size, "version uploaded");
    let version = get_version(state, &appid, &new.version).await?;
    Ok(Uploaded { version, warnings })
}

/// Uploads a package zip as a new version in `develop`: checks it with the
/// package loader (errors refuse it, with their diagnostics), stores the
/// blob, then inserts the version.
pub async fn upload_version(
    state: &AppState,
    appid: &str,
    new: NewVersion,
    zip: Bytes,
) -> Result<Uploaded, RegistryError> {
    let staged = stage_package(state, appid, new, zip).await?;
    commit_version(state, staged).await
}

const VERSION_COLUMNS: &str = "appid, version, description, sha256, size, state, reject_reason, created_by, created_at, updated_at";

fn version_of(row: &AnyRow, release: &ReleaseStatus) -> Result<Version, RegistryError> {
    let state: String = row.try_get("state")?;
    let state = VersionState::parse(&state).ok_or_else(|| {
        PlatformError::Internal(format!("a version has the unknown state `{state}`"))
    })?;
    let version: String = row.try_get("version")?;
    let gray = release.gray_version.as_deref() == Some(version.as_str());
    Ok(Version {
        appid: row.try_get("appid")?,
        description: row.try_get("description")?,
        state,
        trial: release.trial_version.as_deref() == Some(version.as_str()),
        gray_percentage: gray.then_some(release.gray_percentage),
        reject_reason: row.try_get("reject_reason")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version,
    })
}

fn release_of(row: &AnyRow) -> Result<ReleaseStatus, sqlx::Error> {
    Ok(ReleaseStatus {
        release_version: row.try_get("release_version")?,
        previous_version: row.try_get("previous_version")?,
        gray_version: row.try_get("gray_version")?,
        gray_percentage: row.try_get("gray_percentage")?,
        trial_version: row.try_get("trial_version")?,
    })
}

const RELEASE_COLUMNS: &str =
    "release_version, previous_version, gray_version, gray_percentage, trial_version";

/// What is released in an app (all `None` before its first version).
pub async fn release_status(state: &AppState, appid: &str) -> Result<ReleaseStatus, RegistryError> {
    identity::get_app(state, appid).await?;
    let row = sqlx::query(&format!(
        "SELECT {RELEASE_COLUMNS} FROM app_registry WHERE appid = $1"
    ))
    .bind(appid)
    .fetch_optional(state.db.pool())
    .await?;
    Ok(match row {
        Some(row) => release_of(&row)?,
        None => ReleaseStatus::default(),
    })
}

pub async fn get_version(
    state: &AppState,
    appid: &str,
    version: &str,
) -> Result<Version, RegistryError> {
    let release = release_status(state, appid).await?;
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM app_versions WHERE appid = $1 AND version = $2"
    ))
    .bind(appid)
    .bind(version)
    .fetch_optional(state.db.pool())
    .await?;
    match row {
        Some(row) => version_of(&row, &release),
        None => Err(RegistryError::VersionNotFound {
            appid: appid.to_owned(),
            version: version.to_owned(),
        }),
    }
}

/// An app's versions in upload order, with what is released.
pub async fn list_versions(state: &AppState, appid: &str) -> Result<VersionList, RegistryError> {
    let release = release_status(state, appid).await?;
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM app_versions WHERE appid = $1 ORDER BY upload_serial"
    ))
    .bind(appid)
    .fetch_all(state.db.pool())
    .await?;
    let versions = rows
        .iter()
        .map(|row| version_of(row, &release))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VersionList {
        appid: appid.to_owned(),
        release,
        versions,
    })
}

/// The audit log of an app, oldest first.
pub async fn audit_log(state: &AppState, appid: &str) -> Result<Vec<AuditEntry>, RegistryError> {
    identity::get_app(state, appid).await?;
    let rows = sqlx::query(
        "SELECT serial, version, action, actor, detail, at FROM registry_audit
         WHERE appid = $1 ORDER BY serial",
    )
    .bind(appid)
    .fetch_all(state.db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                serial: row.try_get("serial")?,
                version: row.try_get("version")?,
                action: row.try_get("action")?,
                actor: row.try_get("actor")?,
                detail: row.try_get("detail")?,
                at: row.try_get("at")?,
            })
        })
        .collect()
}

/// One registry transition of one app: a transaction that holds the app's
/// registry row (see the module docs).
struct AppTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    appid: String,
    serial: i64,
    now: i64,
    release: ReleaseStatus,
}

impl AppTx {
    async fn begin(state: &AppState, appid: &str) -> Result<AppTx, RegistryError> {
        identity::get_app(state, appid).await?;
        let now = state.now();
        let mut tx = state.db.pool().begin().await?;
        // The first statement writes, so SQLite takes its write lock here
        // rather than failing to upgrade a read lock later.
        let row = sqlx::query(&format!(
            "INSERT INTO app_registry (appid, serial, updated_at) VALUES ($1, 1, $2)
             ON CONFLICT (appid) DO UPDATE SET
                serial = app_registry.serial + 1, updated_at = excluded.updated_at
             RETURNING serial, {RELEASE_COLUMNS}"
        ))
        .bind(appid)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        Ok(AppTx {
            serial: row.try_get("serial")?,
            release: release_of(&row)?,
            tx,
            appid: appid.to_owned(),
            now,
        })
    }

    /// Moves a version from one of `from` to `to`, or says why it can't.
    async fn move_version(
        &mut self,
        version: &str,
        from: &[VersionState],
        to: VersionState,
        action: &'static str,
        reject_reason: Option<&str>,
    ) -> Result<(), RegistryError> {
        let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let moved = sqlx::query(&format!(
            "UPDATE app_versions SET state = $3, reject_reason = $4, updated_at = $5
             WHERE appid = $1 AND version = $2 AND state IN ({})",
            allowed.join(", ")
        ))
        .bind(&self.appid)
        .bind(version)
        .bind(to.as_str())
        .bind(reject_reason)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        if moved.rows_affected() == 1 {
            return Ok(());
        }
        let current: Option<String> =
            sqlx::query_scalar("SELECT state FROM app_versions WHERE appid = $1 AND version = $2")
                .bind(&self.appid)
                .bind(version)
                .fetch_optional(&mut *self.tx)
                .await?;
        Err(match current.as_deref().map(VersionState::parse) {
            None => RegistryError::VersionNotFound {
                appid: self.appid.clone(),
                version: version.to_owned(),
            },
            Some(Some(state)) => RegistryError::WrongState {
                version: version.to_owned(),
                state,
                action,
            },
            Some(None) => PlatformError::Internal(format!(
                "version `{version}` has an unknown state {current:?}"
            ))
            .into(),
        })
    }

    /// Writes back `self.release`.
    async fn save_release(&mut self) -> Result<(), RegistryError> {
        let saved = sqlx::query(
            "UPDATE app_registry SET release_version = $3, previous_version = $4,
                gray_version = $5, gray_percentage = $6, trial_version = $7
             WHERE appid = $1 AND serial = $2",
        )
        .bind(&self.appid)
        .bind(self.serial)
        .bind(&self.release.release_version)
        .bind(&self.release.previous_version)
        .bind(&self.release.gray_version)
        .bind(self.release.gray_percentage)
        .bind(&self.release.trial_version)
        .execute(&mut *self.tx)
        .await?;
        if saved.rows_affected() != 1 {
            return Err(PlatformError::Internal(format!(
                "the registry row of `{}` changed during a transition",
                self.appid
            ))
            .into());
        }
        Ok(())
    }

    async fn audit(
        &mut self,
        version: Option<&str>,
        action: &str,
        actor: &str,
        detail: Option<String>,
    ) -> Result<(), RegistryError> {
        sqlx::query(
            "INSERT INTO registry_audit (appid, serial, version, action, actor, detail, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&self.appid)
        .bind(self.serial)
        .bind(version)
        .bind(action)
        .bind(actor)
        .bind(detail)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self) -> Result<ReleaseStatus, RegistryError> {
        self.tx.commit().await?;
        Ok(self.release)
    }

    /// Records `action` on `version` in the audit log, commits, and returns
    /// the version as it now is.
    async fn finish(
        mut self,
        state: &AppState,
        version: &str,
        action: &str,
        by: &str,
        detail: Option<String>,
    ) -> Result<Version, RegistryError> {
        self.audit(Some(version), action, by, detail).await?;
        let appid = self.appid.clone();
        self.commit().await?;
        get_version(state, &appid, version).await
    }

    /// Makes `step` on `version`, then [`finish`](Self::finish)es with it.
    async fn transition(
        mut self,
        state: &AppState,
        version: &str,
        by: &str,
        step: Step<'_>,
    ) -> Result<Version, RegistryError> {
        self.move_version(version, step.from, step.to, step.action, step.reason)
            .await?;
        let detail = step.reason.map(str::to_owned);
        self.finish(state, version, step.action, by, detail).await
    }
}

/// A version's move through review, as [`AppTx::transition`] makes it.
struct Step<'a> {
    from: &'a [VersionState],
    to: VersionState,
    /// Names the move in errors and in the audit log.
    action: &'static str,
    /// Kept as the version's reject reason and as the audit detail.
    reason: Option<&'a str>,
}

/// Makes `version` the app's trial version (replacing any other).
pub async fn set_trial(
    state: &AppState,
    appid: &str,
    version: &str,
    by: Option<&str>,
) -> Result<Version, RegistryError> {
    let by = actor(by)?;
    let mut tx = AppTx::begin(state, appid).await?;
    // Any version can be the trial one, whatever its state.
    let exists = sqlx::query("SELECT 1 FROM app_versions WHERE appid = $1 AND version = $2")
        .bind(appid)
        .bind(version)
        .fetch_optional(&mut *tx.tx)
        .await?;
    if exists.is_none() {
        return Err(RegistryError::VersionNotFound {
            appid: appid.to_owned(),
            version: version.to_owned(),
        });
    }
    tx.release.trial_version = Some(version.to_owned());
    tx.save_release().await?;
    tx.finish(state, version, "trial", &by, None).await
}

/// Submits a version for review (from develop, or again after a rejection).
/// One version of an app is under review at a time.
pub async fn submit_audit(
    state: &AppState,
    appid: &str,
    version: &str,
    by: Option<&str>,
) -> Result<Version, RegistryError> {
    let by = actor(by)?;
    let mut tx = AppTx::begin(state, appid).await?;
    let auditing: Option<String> = sqlx::query_scalar(
        "SELECT version FROM app_versions WHERE appid = $1 AND state = 'auditing' AND version <> $2",
    )
    .bind(appid)
    .bind(version)
    .fetch_optional(&mut *tx.tx)
    .await?;
    if let Some(other) = auditing {
        return Err(RegistryError::AuditInProgress { version: other });
    }
    let step = Step {
        from: &[VersionState::Develop, VersionState::Rejected],
        to: VersionState::Auditing,
        action: "submit",
        reason: None,
    };
    tx.transition(state, version, &by, step).await
}

/// Passes a version under review.
pub async fn approve(
    state: &AppState,
    appid: &str,
    version: &str,
    by: Option<&str>,
) -> Result<Version, RegistryError> {
    let by = actor(by)?;
    let step = Step {
        from: &[VersionState::Auditing],
        to: VersionState::Approved,
        action: "approve",
        reason: None,
    };
    let tx = AppTx::begin(state, appid).await?;
    tx.transition(state, version, &by, step).await
}

/// Fails a version under review, saying why (1–1024 characters).
pub async fn reject(
    state: &AppState,
    appid: &str,
    version: &str,
    reason: &str,
    by: Option<&str>,
) -> Result<Version, RegistryError> {
    let by = actor(by)?;
    let reason = reason.trim();
    check_text("reason", reason, 1, 1024)?;
    let step = Step {
        from: &[VersionState::Auditing],
        to: VersionState::Rejected,
        action: "reject",
        reason: Some(reason),
    };
    let tx = AppTx::begin(state, appid).await?;
    tx.transition(state, version, &by, step).await
}

/// Releases an approved version to `gray_percentage` (1–100) of the app's
/// users. 100 makes it the released version for everyone (retiring the one
/// before); less starts a gray release, and calling again with a higher
/// percentage raises it (WeChat's `grayrelease`). While a gray release is in
/// progress no other version can be released.
pub async fn release(
    state: &AppState,
    appid: &str,
    version: &str,
    gray_percentage: i64,
    by: Option<&str>,
) -> Result<ReleaseStatus, RegistryError> {
    let by = actor(by)?;
    if !(1..=100).contains(&gray_percentage) {
        return Err(PlatformError::invalid("gray_percentage", "must be 1 to 100").into());
    }
    let mut tx = AppTx::begin(state, appid).await?;
    if let Some(gray) = &tx.release.gray_version
        && gray != version
    {
        return Err(RegistryError::GrayInProgress {
            version: gray.clone(),
        });
    }
    use VersionState as S;
    if gray_percentage == 100 {
        tx.move_version(
            version,
            &[S::Approved, S::Gray, S::Retired],
            S::Released,
            "release",
            None,
        )
        .await?;
        let old = tx.release.release_version.take();
        if let Some(old) = &old {
            tx.move_version(old, &[S::Released], S::Retired, "retire", None)
                .await
                .map_err(|err| {
                    PlatformError::Internal(format!(
                        "the released version `{old}` could not be retired: {err}"
                    ))
                })?;
        }
        tx.release.previous_version = old;
        tx.release.release_version = Some(version.to_owned());
        tx.release.gray_version = None;
        tx.release.gray_percentage = 0;
        tx.save_release().await?;
        tx.audit(Some(version), "release", &by, Some("100".to_owned()))
            .await?;
        tracing::info!(%appid, %version, "version released");
    } else {
        if tx.release.gray_version.as_deref() == Some(version) {
            if gray_percentage <= tx.release.gray_percentage {
                return Err(RegistryError::GrayCannotLower {
                    version: version.to_owned(),
                    current: tx.release.gray_percentage,
                    requested: gray_percentage,
                });
            }
            tx.move_version(version, &[S::Gray], S::Gray, "raise", None)
                .await?;
        } else {
            tx.move_version(
                version,
                &[S::Approved, S::Retired],
                S::Gray,
                "gray-release",
                None,
            )
            .await?;
        }
        tx.release.gray_version = Some(version.to_owned());
        tx.release.gray_percentage = gray_percentage;
        tx.save_release().await?;
        tx.audit(
            Some(version),
            "gray",
            &by,
            Some(gray_percentage.to_string()),
        )
        .await?;
        tracing::info!(%appid, %version, gray_percentage, "gray release");
    }
    tx.commit().await
}

/// Ends a gray release: its users go back to the released version, and the
/// gray version back to approved (WeChat's `revertgrayrelease`).
pub async fn revert_gray_release(
    state: &AppState,
    appid: &str,
    by: Option<&str>,
) -> Result<ReleaseStatus, RegistryError> {
    let by = actor(by)?;
    let mut tx = AppTx::begin(state, appid).await?;
    let Some(gray) = tx.release.gray_version.take() else {
        return Err(RegistryError::NoGrayRelease(appid.to_owned()));
    };
    tx.move_version(
        &gray,
        &[VersionState::Gray],
        VersionState::Approved,
        "revert",
        None,
    )
    .await?;
    tx.release.gray_percentage = 0;
    tx.save_release().await?;
    tx.audit(Some(&gray), "revert_gray", &by, None).await?;
    tracing::info!(%appid, version = %gray, "gray release reverted");
    tx.commit().await
}

/// Rolls the released version back to the one before it (WeChat's
/// `revertcoderelease`): once, as WeChat allows; the rolled-back version
/// returns to approved. Not while a gray release is in progress.
pub async fn revert_code_release(
    state: &AppState,
    appid: &str,
    by: Option<&str>,
) -> Result<ReleaseStatus, RegistryError> {
    let by = actor(by)?;
    let mut tx = AppTx::begin(state, appid).await?;
    if let Some(gray) = &tx.release.gray_version {
        return Err(RegistryError::GrayInProgress {
            version: gray.clone(),
        });
    }
    let (Some(current), Some(previous)) = (
        tx.release.release_version.clone(),
        tx.release.previous_version.clone(),
    ) else {
        return Err(RegistryError::NothingToRollBack(appid.to_owned()));
    };
    use VersionState as S;
    tx.move_version(&current, &[S::Released], S::Approved, "roll back", None)
        .await?;
    tx.move_version(&previous, &[S::Retired], S::Released, "restore", None)
        .await?;
    tx.release.release_version = Some(previous.clone());
    tx.release.previous_version = None;
    tx.save_release().await?;
    tx.audit(Some(&previous), "rollback", &by, Some(current.clone()))
        .await?;
    tracing::info!(%appid, from = %current, to = %previous, "release rolled back");
    tx.commit().await
}

/// The version `user` gets of `appid`: the gray version when the user's
/// [`gray_bucket`] is below its percentage, else the released one; `None`
/// when the app has released nothing (to this user).
pub async fn resolve_release(
    state: &AppState,
    appid: &str,
    user_id: &str,
) -> Result<Option<ReleasedVersion>, RegistryError> {
    let release = release_status(state, appid).await?;
    let chosen = match &release.gray_version {
        Some(gray) if i64::from(gray_bucket(appid, user_id)) < release.gray_percentage => {
            Some(gray)
        }
        _ => release.release_version.as_ref(),
    };
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    let row =
        sqlx::query("SELECT sha256, size FROM app_versions WHERE appid = $1 AND version = $2")
            .bind(appid)
            .bind(chosen)
            .fetch_optional(state.db.pool())
            .await?;
    let Some(row) = row else {
        return Err(PlatformError::Internal(format!(
            "released version `{chosen}` of `{appid}` has no row"
        ))
        .into());
    };
    Ok(Some(ReleasedVersion {
        version: chosen.clone(),
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
    }))
}

/// `wx.getUpdateManager`: whether `user`, running `current_version` (`None`
/// when nothing is installed), should switch, and to what. Any difference
/// counts, so a rollback is an update too, as in WeChat.
pub async fn check_update(
    state: &AppState,
    appid: &str,
    user_id: &str,
    current_version: Option<&str>,
) -> Result<UpdateCheck, RegistryError> {
    let resolved = resolve_release(state, appid, user_id).await?;
    let version = resolved.map(|r| r.version);
    Ok(UpdateCheck {
        has_update: version.is_some() && version.as_deref() != current_version,
        version,
    })
}

/// The package zip with this SHA-256, read from the store and verified: a
/// blob whose bytes don't hash to its name is refused. Only packages of
/// versions are served (an orphan blob of a failed upload is not).
pub async fn fetch_package(state: &AppState, sha256: &str) -> Result<Bytes, RegistryError> {
    let sha256 = check_sha256(sha256)?;
    let known = sqlx::query("SELECT 1 FROM app_versions WHERE sha256 = $1 LIMIT 1")
        .bind(&sha256)
        .fetch_optional(state.db.pool())
        .await?;
    if known.is_none() {
        return Err(RegistryError::PackageNotFound(sha256));
    }
    let Some(bytes) = state.store.get(&sha256).await? else {
        tracing::error!(%sha256, "a version's package is missing from the store");
        return Err(RegistryError::PackageMissing(sha256));
    };
    let hashed = bytes.clone();
    let actual = tokio::task::spawn_blocking(move || secrets::sha256_hex(&hashed))
        .await
        .map_err(|err| RegistryError::CheckFailed(err.to_string()))?;
    if actual != sha256 {
        tracing::error!(%sha256, %actual, "a stored package is corrupt");
        return Err(RegistryError::PackageCorrupt { sha256, actual });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(gray_bucket("wxapp", "alice"), gray_bucket("wxapp", "alice"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        let mut counts = [0u32; 100];
        for i in 0..10_000 {
            counts[usize::from(gray_bucket("wxapp", &format!("user{i}")))] += 1;
        }
        assert!(
            counts.iter().all(|&c| (50..=150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn versions_are_checked() {
        for good in ["1.0.0", "2024.01.02-beta+3", "v_1"] {
            assert!(check_version(good).is_ok(), "{good}");
        }
        for bad in ["", "1 0", "1/0", "../x", &"9".repeat(65)] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn states_round_trip() {
        use VersionState as S;
        for state in [
            S::Develop,
            S::Auditing,
            S::Approved,
            S::Rejected,
            S::Gray,
            S::Released,
            S::Retired,
        ] {
            assert_eq!(VersionState::parse(state.as_str()), Some(state));
        }
    }
}
