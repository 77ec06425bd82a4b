//! category: async
//! focal: missed_heartbeats
use std::time::Duration;
use tokio::sync::mpsc;

/// Counts how many `period`s pass without a heartbeat, until the sender closes the channel.
pub async fn missed_heartbeats(mut beats: mpsc::Receiver<()>, period: Duration) -> u32 {
    let mut missed = 0;
    loop {
        match tokio::time::timeout(period, beats.recv()).await {
            Ok(Some(())) => {}
            Ok(None) => return missed,
            Err(_) => missed += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn steady_heartbeats_miss_nothing() {
        let (tx, rx) = mpsc::channel(8);
        let monitor = tokio::spawn(missed_heartbeats(rx, Duration::from_millis(200)));
        for _ in 0..3 {
            tx.send(()).await.unwrap();
        }
        drop(tx);
        assert_eq!(monitor.await.unwrap(), 0);
    }

    #[tokio::test]
    async fn silence_is_counted() {
        let (tx, rx) = mpsc::channel(1);
        let monitor = tokio::spawn(missed_heartbeats(rx, Duration::from_millis(10)));
        tokio::time::sleep(Duration::from_millis(45)).await;
        drop(tx);
        let missed = monitor.await.unwrap();
        assert!((2..=5).contains(&missed), "missed {missed}");
    }

    #[tokio::test]
    async fn closed_at_once_misses_nothing() {
        let (tx, rx) = mpsc::channel::<()>(1);
        drop(tx);
        assert_eq!(missed_heartbeats(rx, Duration::from_millis(10)).await, 0);
    }
}
