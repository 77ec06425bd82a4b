//! category: async
//! focal: with_timeout
use std::future::Future;
use std::time::Duration;

#[derive(Debug, PartialEq, Eq)]
pub enum Timed<T> {
    Done(T),
    TimedOut,
}

/// Awaits `fut` for at most `limit`.
pub async fn with_timeout<F: Future>(limit: Duration, fut: F) -> Timed<F::Output> {
    match tokio::time::timeout(limit, fut).await {
        Ok(value) => Timed::Done(value),
        Err(_) => Timed::TimedOut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fast_future_completes() {
        assert_eq!(with_timeout(Duration::from_secs(5), async { 42 }).await, Timed::Done(42));
    }

    #[tokio::test]
    async fn slow_future_times_out() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            1
        };
        assert_eq!(with_timeout(Duration::from_millis(10), slow).await, Timed::TimedOut);
    }

    #[tokio::test]
    async fn pending_forever_times_out() {
        let never = std::future::pending::<()>();
        assert_eq!(with_timeout(Duration::from_millis(5), never).await, Timed::TimedOut);
    }
}
