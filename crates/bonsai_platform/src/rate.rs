//! Rate limits counted in the database, in fixed windows, so every instance
//! behind a load balancer counts the same requests. A fixed window lets up
//! to twice the limit through around a window's edge; WeChat documents its
//! limits per minute and that is the precision they need.
//!
//! Hits are counted in batches (see `batch`): one upsert for every request
//! counting at that moment, each still seeing a count of its own.

use std::collections::{BTreeMap, HashMap};

use crate::batch::{BatchFuture, Batcher, padded_rows, parameter_rows};
use crate::db::Db;
use crate::error::PlatformError;
use crate::state::AppState;

/// Closed windows are kept this long, then deleted.
pub(crate) const RETENTION_MS: i64 = 60 * 60 * 1000;

/// Windows counted by one upsert at most (three parameters each).
const BATCH_MAX: usize = 64;

/// One request to count: a bucket's window.
#[derive(Debug)]
pub(crate) struct Hit {
    bucket: String,
    window_start: i64,
}

/// Counts one request in `bucket`'s current window of `window_ms` and returns
/// the window's count including it. Concurrent requests each see a distinct
/// count, whichever instance serves them.
pub(crate) async fn hit(
    state: &AppState,
    bucket: String,
    window_ms: i64,
    now: i64,
) -> Result<i64, PlatformError> {
    let window_start = now - now.rem_euclid(window_ms);
    state
        .rate_counter
        .submit(Hit {
            bucket,
            window_start,
        })
        .await
}

pub(crate) fn counter(db: Db) -> Batcher<Hit, i64> {
    Batcher::new("rate counter", BATCH_MAX, move |hits| -> BatchFuture<i64> {
        Box::pin(count(db.clone(), hits))
    })
}

/// One upsert adding each window's hits of the batch; the requests of a
/// window then take the counts between its old and new total in order.
async fn count(db: Db, hits: Vec<Hit>) -> Result<Vec<i64>, PlatformError> {
    // Each distinct window once (Postgres refuses to upsert a row twice in
    // one statement) with the batch's hits in it, in key order: two upserts
    // (two batches, or two instances) locking the same windows in opposite
    // orders would deadlock on Postgres.
    let mut windows: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for hit in &hits {
        *windows
            .entry((hit.bucket.as_str(), hit.window_start))
            .or_default() += 1;
    }
    // Padding rows add no hits and are filtered out before the upsert.
    let rows = padded_rows(windows.len());
    let sql = format!(
        "INSERT INTO rate_counters (bucket, window_start, hits)
         SELECT column1, column2, column3 FROM (VALUES {}) AS counted WHERE column3 > 0
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + excluded.hits
         RETURNING bucket, window_start, hits",
        parameter_rows(rows, 3, 1)
    );
    let mut query = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    for (&(bucket, window_start), &added) in &windows {
        query = query.bind(bucket).bind(window_start).bind(added);
    }
    for _ in windows.len()..rows {
        query = query.bind("").bind(0_i64).bind(0_i64);
    }
    let totals: HashMap<(String, i64), i64> = query
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|(bucket, window_start, total)| ((bucket, window_start), total))
        .collect();
    // Each window's hits become the count its next request sees: the first
    // of the batch's requests in it sees the old total plus one.
    for (&(bucket, window_start), next) in windows.iter_mut() {
        let total = totals
            .get(&(bucket.to_owned(), window_start))
            .ok_or_else(|| {
                PlatformError::Internal(format!("rate window {bucket} was not counted"))
            })?;
        *next = total - *next + 1;
    }
    hits.iter()
        .map(|hit| {
            let next = windows
                .get_mut(&(hit.bucket.as_str(), hit.window_start))
                .ok_or_else(|| PlatformError::Internal("a hit outside its batch".to_owned()))?;
            *next += 1;
            Ok(*next - 1)
        })
        .collect()
}

pub(crate) async fn forget_before(db: &Db, before: i64) -> Result<(), PlatformError> {
    sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(())
}
