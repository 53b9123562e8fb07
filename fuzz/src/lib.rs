//! What every Bonsai fuzz target checks besides "no panic": a diagnostic's
//! span lies inside the file the diagnostic names, on character boundaries,
//! or the code frame that prints it would slice out of bounds.


pub use bonsai_corpus::assert_spans_fit;


/// Stack of the thread [`on_big_stack`] runs a job on.
const STACK_SIZE: usize = 256 * 1024 * 1024;

/// Runs `job` on a thread with a 256 MiB stack. glass-easel's parser recurses
/// once per nested tag or bracket, and sanitizer builds have large frames:
/// on libFuzzer's 8 MiB main thread a few hundred nested tags overflow it
/// (the release CLI takes about a thousand), which would stop every run at
/// this one known limit.
pub fn on_big_stack<T: Send>(job: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, job)
            .expect("spawning the fuzz thread");
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
