//! category: async
//! focal: run_limited
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Runs `jobs` tasks with at most `limit` at once; returns the highest concurrency observed.
pub async fn run_limited(jobs: usize, limit: usize) -> usize {
    let semaphore = Arc::new(Semaphore::new(limit));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(jobs);
    for _ in 0..jobs {
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore closed");
        let running = running.clone();
        let peak = peak.clone();
        handles.push(tokio::spawn(async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        }));
    }
    for handle in handles {
        handle.await.expect("job panicked");
    }
    peak.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_exceeds_the_limit() {
        let peak = run_limited(20, 3).await;
        assert!(peak >= 1 && peak <= 3, "peak was {peak}");
    }

    #[tokio::test]
    async fn limit_of_one_serialises() {
        assert_eq!(run_limited(5, 1).await, 1);
    }

    #[tokio::test]
    async fn no_jobs_no_concurrency() {
        assert_eq!(run_limited(0, 4).await, 0);
    }
}
