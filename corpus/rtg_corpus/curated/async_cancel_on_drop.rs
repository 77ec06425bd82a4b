//! category: async
//! focal: spawn_guarded
use tokio::task::JoinHandle;

/// Aborts its task when dropped, so a task never outlives the value that owns it.
pub struct TaskGuard<T> {
    handle: Option<JoinHandle<T>>,
}

/// Spawns `fut` and returns a guard that aborts it on drop.
pub fn spawn_guarded<F>(fut: F) -> TaskGuard<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    TaskGuard { handle: Some(tokio::spawn(fut)) }
}

impl<T> TaskGuard<T> {
    /// Waits for the task's output; `None` if it panicked or was cancelled.
    pub async fn join(mut self) -> Option<T> {
        self.handle.take()?.await.ok()
    }
}

impl<T> Drop for TaskGuard<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn join_returns_the_output() {
        assert_eq!(spawn_guarded(async { 5 }).join().await, Some(5));
    }

    #[tokio::test]
    async fn panicking_task_joins_as_none() {
        let guard = spawn_guarded(async { panic!("boom") });
        assert_eq!(guard.join().await, None::<()>);
    }

    #[tokio::test]
    async fn dropping_the_guard_cancels_the_task() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let guard = spawn_guarded(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
        });
        drop(guard);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!finished.load(Ordering::SeqCst));
    }
}
