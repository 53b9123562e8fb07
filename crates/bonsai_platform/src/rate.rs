//! Rate limits counted in the database, in fixed windows, so every instance
//! behind a load balancer counts the same requests. A fixed window lets up
//! to twice the limit through around a window's edge; WeChat documents its
//! limits per minute and that is the precision they need.
//!
//! Hits are counted in batches (see `batch`): one upsert for every request
//! counting at that moment, each still seeing a count of its own.

use std::collections::HashMap;

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
    // one statement), with how many of the batch's hits are in it.
    let mut windows: Vec<(&str, i64, i64)> = Vec::new();
    let mut window_of: HashMap<(&str, i64), usize> = HashMap::new();
    for hit in &hits {
        let index = *window_of
            .entry((hit.bucket.as_str(), hit.window_start))
            .or_insert_with(|| {
                windows.push((&hit.bucket, hit.window_start, 0));
                windows.len() - 1
            });
        windows[index].2 += 1;
    }
    // Rows in one order whatever the batch: two upserts (two batches, or
    // two instances) locking the same windows in opposite orders would
    // deadlock on Postgres.
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.sort_unstable_by_key(|&index| (windows[index].0, windows[index].1));
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
    for &index in &order {
        let (bucket, window_start, added) = windows[index];
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
    // The count each window's next request sees, from its first in the batch.
    let mut next: Vec<i64> = Vec::with_capacity(windows.len());
    for &(bucket, window_start, added) in &windows {
        let total = totals
            .get(&(bucket.to_owned(), window_start))
            .ok_or_else(|| {
                PlatformError::Internal(format!("rate window {bucket} was not counted"))
            })?;
        next.push(total - added + 1);
    }
    Ok(hits
        .iter()
        .map(|hit| {
            let index = window_of[&(hit.bucket.as_str(), hit.window_start)];
            next[index] += 1;
            next[index] - 1
        })
        .collect())
}

pub(crate) async fn forget_before(db: &Db, before: i64) -> Result<(), PlatformError> {
    sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(())
}
