//! [`AppState`]: what every handler and domain function works with.

use std::sync::Arc;

use crate::batch::Batcher;
use crate::clock::Clock;
use crate::config::PlatformConfig;
use crate::db::Db;
use crate::error::PlatformError;
use crate::secrets;

/// The database, the clock and the configuration. Cheap to clone; holds no
/// per-user state (that lives in the database).
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<PlatformConfig>,
    /// Package zips of the registry (`config.store_url`).
    pub store: crate::registry::BlobStore,
    /// The key openids and unionids are derived with. It is created once and
    /// stored in the database, so every instance (and every restart)
    /// derives the same ids; this is only a copy of an immutable row.
    identity_key: Arc<str>,
    /// Apps read so far (rows that never change).
    pub(crate) known_apps: Arc<crate::identity::KnownApps>,
    /// Login and phone codes are spent in batches.
    pub(crate) code_spender:
        Batcher<crate::identity::CodeToSpend, Option<crate::identity::SpentCode>>,
    /// Rate windows are counted in batches.
    pub(crate) rate_counter: Batcher<crate::rate::Hit, i64>,
}

impl AppState {
    /// Connects to the database, applies migrations and loads the server key.
    pub async fn connect(
        config: PlatformConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, PlatformError> {
        let db = Db::connect(&config.database_url, config.max_connections).await?;
        let identity_key = load_identity_key(&db, clock.now_millis()).await?;
        let store = crate::registry::BlobStore::from_url(&config.store_url)?;
        Ok(AppState {
            known_apps: Arc::default(),
            code_spender: crate::identity::code_spender(db.clone()),
            rate_counter: crate::rate::counter(db.clone()),
            db,
            clock,
            store,
            config: Arc::new(config),
            identity_key: identity_key.into(),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    pub(crate) fn identity_key(&self) -> &str {
        &self.identity_key
    }
}

/// Reads the identity key, creating it on first start. Two instances
/// starting at once both try the insert; the primary key keeps the first
/// and both read it back.
async fn load_identity_key(db: &Db, now: i64) -> Result<String, PlatformError> {
    sqlx::query(
        "INSERT INTO server_keys (name, value, created_at) VALUES ('identity', $1, $2)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(secrets::new_server_key()?)
    .bind(now)
    .execute(db.pool())
    .await?;
    let key: String = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = 'identity'")
        .fetch_one(db.pool())
        .await?;
    Ok(key)
}
