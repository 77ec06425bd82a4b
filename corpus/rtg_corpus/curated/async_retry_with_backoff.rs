//! category: async
//! focal: retry
use std::future::Future;
use std::time::Duration;

/// Runs `op` until it succeeds or `attempts` tries have failed, sleeping `delay` (doubled each time) between
/// tries. Returns the last error when every try fails.
pub async fn retry<T, E, F, Fut>(attempts: u32, delay: Duration, mut op: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    assert!(attempts > 0, "attempts must be at least 1");
    let mut wait = delay;
    let mut tries = 0;
    loop {
        tries += 1;
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) if tries >= attempts => return Err(error),
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn succeeds_on_first_try_without_sleeping() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, &str> = retry(3, Duration::from_millis(1), || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(7) }
        })
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let result = retry(5, Duration::from_millis(1), || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move { if n < 3 { Err("not yet") } else { Ok(n) } }
        })
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn returns_last_error_after_all_attempts() {
        let calls = AtomicU32::new(0);
        let result: Result<(), u32> = retry(4, Duration::from_millis(1), || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { Err(n) }
        })
        .await;
        assert_eq!(result, Err(3));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn zero_attempts_panics() {
        let task = tokio::spawn(retry(0, Duration::from_millis(1), || async { Ok::<(), ()>(()) }));
        assert!(task.await.unwrap_err().is_panic());
    }
}
