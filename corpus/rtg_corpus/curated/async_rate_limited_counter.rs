//! category: async
//! focal: increment
use std::sync::Arc;
use tokio::sync::Mutex;

/// A counter shared between tasks, with an upper bound.
#[derive(Clone, Default)]
pub struct SharedCounter {
    value: Arc<Mutex<u64>>,
    limit: u64,
}

impl SharedCounter {
    pub fn with_limit(limit: u64) -> Self {
        SharedCounter { value: Arc::new(Mutex::new(0)), limit }
    }

    /// Adds one unless the limit is reached; returns the new value, or `None` at the limit.
    pub async fn increment(&self) -> Option<u64> {
        let mut value = self.value.lock().await;
        if *value >= self.limit {
            return None;
        }
        *value += 1;
        Some(*value)
    }

    pub async fn get(&self) -> u64 {
        *self.value.lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn increments_up_to_the_limit() {
        let counter = SharedCounter::with_limit(2);
        assert_eq!(counter.increment().await, Some(1));
        assert_eq!(counter.increment().await, Some(2));
        assert_eq!(counter.increment().await, None);
        assert_eq!(counter.get().await, 2);
    }

    #[tokio::test]
    async fn default_counter_has_zero_limit() {
        let counter = SharedCounter::default();
        assert_eq!(counter.increment().await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_increments_never_pass_the_limit() {
        let counter = SharedCounter::with_limit(50);
        let mut handles = Vec::new();
        for _ in 0..100 {
            let c = counter.clone();
            handles.push(tokio::spawn(async move { c.increment().await }));
        }
        let mut successes = 0;
        for h in handles {
            if h.await.unwrap().is_some() {
                successes += 1;
            }
        }
        assert_eq!(successes, 50);
        assert_eq!(counter.get().await, 50);
    }
}
