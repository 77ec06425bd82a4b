//! category: async
//! focal: latest_after_quiet
use std::time::Duration;
use tokio::sync::mpsc;

/// Returns the last value received once no new value arrives for `quiet`; `None` if the channel closes
/// before any value.
pub async fn latest_after_quiet<T>(rx: &mut mpsc::Receiver<T>, quiet: Duration) -> Option<T> {
    let mut latest = rx.recv().await?;
    loop {
        match tokio::time::timeout(quiet, rx.recv()).await {
            Ok(Some(value)) => latest = value,
            Ok(None) | Err(_) => return Some(latest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn burst_yields_its_last_value() {
        let (tx, mut rx) = mpsc::channel(8);
        for v in 1..=5 {
            tx.send(v).await.unwrap();
        }
        assert_eq!(latest_after_quiet(&mut rx, Duration::from_millis(20)).await, Some(5));
    }

    #[tokio::test]
    async fn closed_empty_channel_is_none() {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        drop(tx);
        assert_eq!(latest_after_quiet(&mut rx, Duration::from_millis(5)).await, None);
    }

    #[tokio::test]
    async fn values_after_the_quiet_period_are_left_for_later() {
        let (tx, mut rx) = mpsc::channel(8);
        tx.send(1).await.unwrap();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(80)).await;
            tx.send(2).await.unwrap();
        });
        assert_eq!(latest_after_quiet(&mut rx, Duration::from_millis(20)).await, Some(1));
        sender.await.unwrap();
        assert_eq!(rx.recv().await, Some(2));
    }
}
