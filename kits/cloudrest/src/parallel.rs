//! Running tasks on a bounded number of threads.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Runs `work` on every task, on at most `max_threads` threads at once
/// (at least one), and returns when all are done.
pub fn run_bounded<T: Send>(tasks: Vec<T>, max_threads: usize, work: impl Fn(T) + Sync) {
    let threads = max_threads.max(1).min(tasks.len());
    let queue = Mutex::new(VecDeque::from(tasks));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                match next {
                    Some(task) => work(task),
                    None => break,
                }
            });
        }
    });
}

/// `max_concurrency` from upstream's `threads` (which wins when given); says
/// once that upstream's `processes` has no effect here.
pub fn upstream_threads(
    max_concurrency: usize,
    threads: Option<usize>,
    processes: Option<usize>,
) -> usize {
    if processes.is_some() {
        log::info!(
            "The processes param has no effect in cloudmarker: one process reads with up to max_concurrency requests in flight."
        );
    }
    threads.filter(|t| *t > 0).unwrap_or(max_concurrency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn never_more_than_the_bound_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        run_bounded((0..20).collect(), 3, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
            done.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 20);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
