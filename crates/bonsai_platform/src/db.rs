//! The database: one `sqlx::AnyPool` over SQLite or Postgres, so every query
//! is written once. The Any driver passes SQL through untouched; the
//! statements in this crate keep to what both dialects accept (`$1`
//! placeholders, which sqlx's SQLite binds too, `ON CONFLICT … DO UPDATE`,
//! `RETURNING`, TEXT and BIGINT columns only). Where the two must differ
//! (SQLite's pragmas) [`Backend`] says which one this is.
//!
//! Migrations are the SQL files in `migrations/`, embedded at build time and
//! applied at startup by sqlx's own migrator (checksums, a lock so two
//! instances starting together don't race) without sqlx's proc macros.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Connection as _};

use crate::config::redact_password;
use crate::error::PlatformError;

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, PlatformError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(PlatformError::Config(format!(
                "database URL `{}` is neither sqlite:// nor postgres://",
                redact_password(url)
            )))
        }
    }
}

/// A connection pool plus the backend it runs on. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's background checkpoints, stopped with the last clone.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// The migrations, in order. A file once released is never edited (sqlx
/// refuses a changed checksum); changes go in a new file.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "identity",
        include_str!("../migrations/0001_identity.sql"),
    ),
    (
        2,
        "wechat_pay",
        include_str!("../migrations/0002_wechat_pay.sql"),
    ),
    (
        3,
        "messages_alipay",
        include_str!("../migrations/0003_messages_alipay.sql"),
    ),
    (
        5,
        "registry",
        include_str!("../migrations/0005_registry.sql"),
    ),
];

#[derive(Debug)]
struct EmbeddedMigrations;

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

impl Db {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, PlatformError> {
        let backend = Backend::of_url(url)?;
        sqlx::any::install_default_drivers();
        // No ping before each use: it is a round trip of its own (for
        // SQLite a hop to sqlx's worker thread and back), and a connection
        // that died fails its next query anyway, which the pool then drops.
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false);
        let url = match backend {
            Backend::Sqlite => {
                // SQLite has one writer. Connections that wait for it spin
                // in its busy handler (sleeps of 1 ms growing to 100 ms), so
                // a pool of them is slower than one connection that takes
                // statements in turn: measured with `bonsai bench platform`.
                options = options.max_connections(1);
                // WAL lets readers run beside the one writer; in WAL mode
                // NORMAL sync is still crash-safe (a power cut may lose the
                // last commits, never corrupt). Checkpoints mostly run on a
                // connection of their own (see `Checkpointer`); the
                // commit that crosses SQLite's threshold only checkpoints if
                // that one has fallen far behind. Both are per connection.
                options = options.after_connect(|conn, _meta| {
                    Box::pin(async move {
                        sqlx::query(&format!(
                            "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = {}",
                            Checkpointer::BACKSTOP_PAGES
                        ))
                        .execute(&mut *conn)
                        .await?;
                        Ok(())
                    })
                });
                with_create_mode(url)
            }
            Backend::Postgres => url.to_owned(),
        };
        let pool = options.connect(&url).await?;
        if backend == Backend::Sqlite {
            // The journal mode is stored in the file, so once is enough;
            // sqlx leaves it alone unless asked.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        let checkpointer = match backend {
            Backend::Sqlite if !is_in_memory(&url) => {
                Some(Arc::new(Checkpointer::start(&url, pool.clone()).await?))
            }
            _ => None,
        };
        let db = Db {
            pool,
            backend,
            _checkpointer: checkpointer,
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), PlatformError> {
        let migrator = Migrator::new(EmbeddedMigrations).await?;
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection; the pool refuses new work afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Copies SQLite's write-ahead log back into the database file every
/// [`Checkpointer::EVERY`], on a connection of its own.
///
/// Why: left to SQLite, the commit that fills the log past 1000 pages runs
/// the checkpoint itself, fsync included, and every request queued behind
/// that commit waits milliseconds (`bonsai bench platform`'s p99 doubled).
/// A passive checkpoint on another connection runs beside the writer and
/// readers without blocking them; the log restarts from its beginning once a
/// checkpoint has caught up.
#[derive(Debug)]
struct Checkpointer {
    task: tokio::task::JoinHandle<()>,
}

impl Checkpointer {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(250);
    /// Pages (4 KiB each) past which a commit checkpoints after all, so the
    /// log stays bounded if this task is gone (its runtime shut down).
    const BACKSTOP_PAGES: u32 = 16_384;

    async fn start(url: &str, pool: AnyPool) -> Result<Checkpointer, PlatformError> {
        let mut connection = sqlx::AnyConnection::connect(url).await?;
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Self::EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if pool.is_closed() {
                    break;
                }
                if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut connection)
                    .await
                {
                    tracing::warn!(
                        "SQLite checkpoint failed (commits will checkpoint instead): {err}"
                    );
                }
            }
            let _ = connection.close().await;
        });
        Ok(Checkpointer { task })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// A SQLite URL without a `mode` opens an existing file only; a platform
/// starting on a new machine should create its database.
fn with_create_mode(url: &str) -> String {
    let has_mode = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|pair| pair.starts_with("mode=")));
    if has_mode {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_come_from_the_scheme() {
        assert_eq!(
            Backend::of_url("sqlite:///x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("sqlite::memory:").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("postgres://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::of_url("mysql://h/db").is_err());
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(
            with_create_mode("sqlite:///x.db"),
            "sqlite:///x.db?mode=rwc"
        );
        assert_eq!(
            with_create_mode("sqlite:///x.db?cache=shared"),
            "sqlite:///x.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            with_create_mode("sqlite:///x.db?mode=ro"),
            "sqlite:///x.db?mode=ro"
        );
    }
}
