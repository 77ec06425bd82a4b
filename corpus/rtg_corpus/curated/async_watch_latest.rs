//! category: async
//! focal: wait_for
use tokio::sync::watch;

/// Waits until the watched value satisfies `ready` and returns it; `None` if the sender is dropped first.
pub async fn wait_for<T: Clone>(mut rx: watch::Receiver<T>, ready: impl Fn(&T) -> bool) -> Option<T> {
    loop {
        {
            let current = rx.borrow();
            if ready(&current) {
                return Some(current.clone());
            }
        }
        if rx.changed().await.is_err() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn already_ready_returns_immediately() {
        let (_tx, rx) = watch::channel(5);
        assert_eq!(wait_for(rx, |v| *v >= 5).await, Some(5));
    }

    #[tokio::test]
    async fn waits_for_a_later_value() {
        let (tx, rx) = watch::channel(0);
        let waiter = tokio::spawn(wait_for(rx, |v: &i32| *v > 2));
        for v in 1..=3 {
            tx.send(v).unwrap();
            tokio::task::yield_now().await;
        }
        assert_eq!(waiter.await.unwrap(), Some(3));
    }

    #[tokio::test]
    async fn dropped_sender_gives_none() {
        let (tx, rx) = watch::channel(0);
        drop(tx);
        assert_eq!(wait_for(rx, |v| *v > 0).await, None);
    }
}
