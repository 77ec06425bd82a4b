//! category: async
//! focal: run_phases
use std::sync::Arc;
use tokio::sync::{Barrier, Mutex};

/// Runs `tasks` tasks through two phases with a barrier between them; returns the log of phase marks.
/// Every phase-1 mark comes before any phase-2 mark.
pub async fn run_phases(tasks: usize) -> Vec<(u8, usize)> {
    let barrier = Arc::new(Barrier::new(tasks));
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for id in 0..tasks {
        let barrier = barrier.clone();
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            log.lock().await.push((1, id));
            barrier.wait().await;
            log.lock().await.push((2, id));
        }));
    }
    for handle in handles {
        handle.await.expect("task panicked");
    }
    let log = log.lock().await;
    log.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn phase_one_completes_before_phase_two() {
        let log = run_phases(5).await;
        assert_eq!(log.len(), 10);
        let first_two = log.iter().position(|(phase, _)| *phase == 2).unwrap();
        assert_eq!(first_two, 5);
        assert!(log[..5].iter().all(|(phase, _)| *phase == 1));
    }

    #[tokio::test]
    async fn single_task() {
        assert_eq!(run_phases(1).await, vec![(1, 0), (2, 0)]);
    }

    #[tokio::test]
    async fn no_tasks() {
        assert!(run_phases(0).await.is_empty());
    }
}
