//! category: async
//! focal: collect_until
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Collects values until the channel closes or `budget` has passed, whichever comes first.
pub async fn collect_until<T>(rx: &mut mpsc::Receiver<T>, budget: Duration) -> Vec<T> {
    let deadline = Instant::now() + budget;
    let mut values = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(value)) => values.push(value),
            Ok(None) | Err(_) => return values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gathers_everything_sent_before_close() {
        let (tx, mut rx) = mpsc::channel(4);
        for v in [1, 2, 3] {
            tx.send(v).await.unwrap();
        }
        drop(tx);
        assert_eq!(collect_until(&mut rx, Duration::from_secs(5)).await, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn stops_at_the_deadline_with_an_open_channel() {
        let (tx, mut rx) = mpsc::channel(4);
        tx.send("early").await.unwrap();
        let start = Instant::now();
        let got = collect_until(&mut rx, Duration::from_millis(30)).await;
        assert_eq!(got, vec!["early"]);
        assert!(start.elapsed() >= Duration::from_millis(30));
        drop(tx);
    }

    #[tokio::test]
    async fn zero_budget_returns_at_once() {
        let (_tx, mut rx) = mpsc::channel::<u8>(1);
        assert!(collect_until(&mut rx, Duration::ZERO).await.is_empty());
    }
}
