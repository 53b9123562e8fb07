//! Rate limits counted in the database, in fixed windows, so every instance
//! behind a load balancer counts the same requests. A fixed window lets up
//! to twice the limit through around a window's edge; WeChat documents its
//! limits per minute and that is the precision they need.

use crate::db::Db;
use crate::error::PlatformError;

/// Closed windows are kept this long, then deleted.
pub(crate) const RETENTION_MS: i64 = 60 * 60 * 1000;

/// Counts one request in `bucket`'s current window of `window_ms` and returns
/// the window's count including it. One upsert, so concurrent requests each
/// see a distinct count.
pub(crate) async fn hit(
    db: &Db,
    bucket: &str,
    window_ms: i64,
    now: i64,
) -> Result<i64, PlatformError> {
    let window_start = now - now.rem_euclid(window_ms);
    let hits: i64 = sqlx::query_scalar(
        "INSERT INTO rate_counters (bucket, window_start, hits) VALUES ($1, $2, 1)
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1
         RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(db.pool())
    .await?;
    Ok(hits)
}

pub(crate) async fn forget_before(db: &Db, before: i64) -> Result<(), PlatformError> {
    sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(())
}
