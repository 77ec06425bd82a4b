//! category: async
//! focal: fan_out
use tokio::sync::broadcast;

/// Sends every message to `subscribers` receivers and returns what each received, in order.
pub async fn fan_out(messages: Vec<String>, subscribers: usize) -> Vec<Vec<String>> {
    let (tx, _) = broadcast::channel(messages.len().max(1));
    let mut receivers: Vec<_> = (0..subscribers).map(|_| tx.subscribe()).collect();
    for message in messages {
        if tx.send(message).is_err() {
            break; // no subscriber
        }
    }
    drop(tx);
    let mut received = Vec::with_capacity(subscribers);
    for rx in receivers.iter_mut() {
        let mut got = Vec::new();
        while let Ok(message) = rx.recv().await {
            got.push(message);
        }
        received.push(got);
    }
    received
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_gets_every_message() {
        let out = fan_out(vec!["a".into(), "b".into()], 3).await;
        assert_eq!(out, vec![vec!["a".to_string(), "b".to_string()]; 3]);
    }

    #[tokio::test]
    async fn no_subscribers_no_output() {
        assert!(fan_out(vec!["a".into()], 0).await.is_empty());
    }

    #[tokio::test]
    async fn no_messages_gives_empty_lists() {
        assert_eq!(fan_out(vec![], 2).await, vec![Vec::<String>::new(), Vec::new()]);
    }
}
