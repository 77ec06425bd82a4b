//! category: async
//! focal: process_all
use tokio::sync::mpsc;

/// Sends each job to `workers` worker tasks over a shared queue; returns the doubled jobs sorted.
pub async fn process_all(jobs: Vec<u32>, workers: usize) -> Vec<u32> {
    let (job_tx, job_rx) = mpsc::channel::<u32>(jobs.len().max(1));
    let job_rx = std::sync::Arc::new(tokio::sync::Mutex::new(job_rx));
    let (result_tx, mut result_rx) = mpsc::channel::<u32>(jobs.len().max(1));
    for _ in 0..workers.max(1) {
        let job_rx = job_rx.clone();
        let result_tx = result_tx.clone();
        tokio::spawn(async move {
            loop {
                let job = job_rx.lock().await.recv().await;
                match job {
                    Some(job) => {
                        let _ = result_tx.send(job * 2).await;
                    }
                    None => break,
                }
            }
        });
    }
    drop(result_tx);
    for job in jobs {
        job_tx.send(job).await.expect("workers stopped");
    }
    drop(job_tx);
    let mut results = Vec::new();
    while let Some(result) = result_rx.recv().await {
        results.push(result);
    }
    results.sort_unstable();
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_job_is_processed_once() {
        assert_eq!(process_all(vec![3, 1, 2], 2).await, vec![2, 4, 6]);
    }

    #[tokio::test]
    async fn zero_workers_still_uses_one() {
        assert_eq!(process_all(vec![5], 0).await, vec![10]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_jobs_many_workers() {
        let jobs: Vec<u32> = (0..300).collect();
        let expected: Vec<u32> = jobs.iter().map(|j| j * 2).collect();
        assert_eq!(process_all(jobs, 8).await, expected);
    }

    #[tokio::test]
    async fn no_jobs() {
        assert!(process_all(vec![], 3).await.is_empty());
    }
}
