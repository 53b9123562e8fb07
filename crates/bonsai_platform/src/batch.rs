//! Group commit: statements that many requests make at once (spending login
//! codes, counting rate windows) run as one statement for all the requests
//! waiting at that moment.
//!
//! Why: a statement's cost is mostly its round trip (for SQLite a hop to
//! sqlx's worker thread and back, for Postgres the network and a backend
//! wakeup), not the rows it touches. Under load, requests queue while a
//! batch runs and the next batch takes them all; when idle, a batch is one
//! request and nothing waits for company. No timers, so no added latency.
//!
//! Each busy period is drained by a spawned task, not by a request's own
//! future: a client hanging up cancels its request, never the batch other
//! requests wait on. If the drain task itself dies (its runtime shut down, a
//! panic), its guard fails every queued request instead of stranding them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::error::PlatformError;

/// What a batch runs: every input in, one output per input out, in order.
pub(crate) type BatchFuture<O> =
    Pin<Box<dyn Future<Output = Result<Vec<O>, PlatformError>> + Send>>;
type RunBatch<I, O> = dyn Fn(Vec<I>) -> BatchFuture<O> + Send + Sync;
type Waiter<O> = oneshot::Sender<Result<O, PlatformError>>;

/// Runs submitted inputs in batches of at most `max` through `run`.
pub(crate) struct Batcher<I, O> {
    shared: Arc<Shared<I, O>>,
}

struct Shared<I, O> {
    name: &'static str,
    max: usize,
    run: Box<RunBatch<I, O>>,
    queue: Mutex<Queue<I, O>>,
}

struct Queue<I, O> {
    waiting: Vec<(I, Waiter<O>)>,
    /// A drain task is running and will take what is queued.
    draining: bool,
}

impl<I, O> Clone for Batcher<I, O> {
    fn clone(&self) -> Self {
        Batcher {
            shared: self.shared.clone(),
        }
    }
}

impl<I, O> fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("name", &self.shared.name)
            .field("max", &self.shared.max)
            .finish_non_exhaustive()
    }
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    pub(crate) fn new(
        name: &'static str,
        max: usize,
        run: impl Fn(Vec<I>) -> BatchFuture<O> + Send + Sync + 'static,
    ) -> Self {
        Batcher {
            shared: Arc::new(Shared {
                name,
                max: max.max(1),
                run: Box::new(run),
                queue: Mutex::new(Queue {
                    waiting: Vec::new(),
                    draining: false,
                }),
            }),
        }
    }

    /// Queues `input` for the next batch and waits for its output.
    pub(crate) async fn submit(&self, input: I) -> Result<O, PlatformError> {
        let (answer, answered) = oneshot::channel();
        let start_draining = {
            let mut queue = self.shared.lock();
            queue.waiting.push((input, answer));
            !std::mem::replace(&mut queue.draining, true)
        };
        if start_draining {
            tokio::spawn(drain(self.shared.clone()));
        }
        answered.await.unwrap_or_else(|_| {
            Err(PlatformError::Internal(format!(
                "the {} batch this request was in was dropped",
                self.shared.name
            )))
        })
    }
}

impl<I, O> Shared<I, O> {
    fn lock(&self) -> MutexGuard<'_, Queue<I, O>> {
        // Nothing panics while holding the lock, but a poisoned queue is
        // still a consistent one.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs batches until the queue is empty.
async fn drain<I, O>(shared: Arc<Shared<I, O>>) {
    let mut guard = DrainGuard {
        shared: &shared,
        done: false,
    };
    loop {
        let batch: Vec<(I, Waiter<O>)> = {
            let mut queue = shared.lock();
            if queue.waiting.is_empty() {
                queue.draining = false;
                guard.done = true;
                return;
            }
            let take = queue.waiting.len().min(shared.max);
            queue.waiting.drain(..take).collect()
        };
        let (inputs, waiters): (Vec<I>, Vec<Waiter<O>>) = batch.into_iter().unzip();
        let count = inputs.len();
        match (shared.run)(inputs).await {
            Ok(outputs) if outputs.len() == count => {
                for (waiter, output) in waiters.into_iter().zip(outputs) {
                    // The request may have been cancelled meanwhile.
                    let _ = waiter.send(Ok(output));
                }
            }
            Ok(outputs) => {
                let message = format!(
                    "the {} batch answered {} of {count} requests",
                    shared.name,
                    outputs.len()
                );
                for waiter in waiters {
                    let _ = waiter.send(Err(PlatformError::Internal(message.clone())));
                }
            }
            Err(err) => {
                let err = Arc::new(err);
                for waiter in waiters {
                    let _ = waiter.send(Err(PlatformError::Batch(err.clone())));
                }
            }
        }
    }
}

/// Rows of `columns` parameters each, numbered from `$first`:
/// `($2, $3), ($4, $5)`. Batched statements pad their rows to a power of
/// two ([`padded_rows`]) so that each kind of statement has a handful of
/// texts, each prepared once per connection, instead of one per batch size.
pub(crate) fn parameter_rows(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|row| {
            let params: Vec<String> = (0..columns)
                .map(|column| format!("${}", first + row * columns + column))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many rows a batch of `len` is padded to.
pub(crate) fn padded_rows(len: usize) -> usize {
    len.max(1).next_power_of_two()
}

/// Fails what is queued if the drain task stops before the queue is empty,
/// and lets the next request start a new one.
struct DrainGuard<'a, I, O> {
    shared: &'a Shared<I, O>,
    done: bool,
}

impl<I, O> Drop for DrainGuard<'_, I, O> {
    fn drop(&mut self) {
        if !self.done {
            let mut queue = self.shared.lock();
            // Dropping the senders answers each waiter with an error.
            queue.waiting.clear();
            queue.draining = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn doubling(batches: Arc<AtomicUsize>, sizes: Arc<Mutex<Vec<usize>>>) -> Batcher<u32, u32> {
        Batcher::new("doubling", 8, move |inputs: Vec<u32>| {
            batches.fetch_add(1, Ordering::SeqCst);
            sizes.lock().unwrap().push(inputs.len());
            Box::pin(async move {
                tokio::task::yield_now().await;
                Ok(inputs.into_iter().map(|n| n * 2).collect())
            })
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_batches_and_each_gets_its_own_answer() {
        let batches = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let batcher = doubling(batches.clone(), sizes.clone());
        let tasks: Vec<_> = (0..100u32)
            .map(|n| {
                let batcher = batcher.clone();
                tokio::spawn(async move { (n, batcher.submit(n).await) })
            })
            .collect();
        for task in tasks {
            let (n, answer) = task.await.unwrap();
            assert_eq!(answer.unwrap(), n * 2);
        }
        let sizes = sizes.lock().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 100);
        assert!(
            sizes.iter().all(|&size| (1..=8).contains(&size)),
            "{sizes:?}"
        );
        assert!(
            batches.load(Ordering::SeqCst) < 100,
            "100 concurrent requests ran one by one: {sizes:?}"
        );
    }

    #[test]
    fn rows_are_numbered_and_padded() {
        assert_eq!(parameter_rows(2, 2, 2), "($2, $3), ($4, $5)");
        assert_eq!(parameter_rows(1, 3, 1), "($1, $2, $3)");
        let padded: Vec<usize> = [0, 1, 2, 3, 5, 8, 9, 64].map(padded_rows).to_vec();
        assert_eq!(padded, [1, 1, 2, 4, 8, 8, 16, 64]);
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_requests_and_the_next_one_runs() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let batcher: Batcher<u32, u32> = Batcher::new("flaky", 4, move |inputs: Vec<u32>| {
            let call = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if call == 0 {
                    Err(PlatformError::Internal("disk on fire".into()))
                } else {
                    Ok(inputs)
                }
            })
        });
        let err = batcher.submit(1).await.unwrap_err();
        assert_eq!(err.to_string(), "internal error: disk on fire");
        assert_eq!(batcher.submit(2).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_batch_that_loses_answers_fails_loudly() {
        let batcher: Batcher<u32, u32> = Batcher::new("lossy", 4, |_inputs: Vec<u32>| {
            Box::pin(async { Ok(Vec::new()) })
        });
        let err = batcher.submit(1).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "internal error: the lossy batch answered 0 of 1 requests"
        );
    }

    #[tokio::test]
    async fn a_drain_task_that_dies_fails_its_waiters_instead_of_stranding_them() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let batcher: Batcher<u32, u32> = Batcher::new("panicky", 4, move |inputs: Vec<u32>| {
            let call = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                assert!(call > 0, "the first batch dies");
                Ok(inputs)
            })
        });
        let err = batcher.submit(1).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "internal error: the panicky batch this request was in was dropped"
        );
        // A new request starts a new drain task rather than queueing behind
        // the dead one forever.
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), batcher.submit(2))
            .await
            .expect("the batcher is stuck");
        assert_eq!(answer.unwrap(), 2);
    }
}
