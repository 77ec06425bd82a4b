//! category: async
//! focal: completion_order
use std::time::Duration;
use tokio::task::JoinSet;

/// Starts one timer per delay (in milliseconds) and returns the indices in the order the timers fire.
pub async fn completion_order(delays_ms: &[u64]) -> Vec<usize> {
    let mut set = JoinSet::new();
    for (i, &ms) in delays_ms.iter().enumerate() {
        set.spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            i
        });
    }
    let mut order = Vec::with_capacity(delays_ms.len());
    while let Some(done) = set.join_next().await {
        order.push(done.expect("timer task panicked"));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn well_separated_delays_finish_in_delay_order() {
        assert_eq!(completion_order(&[120, 10, 60]).await, vec![1, 2, 0]);
    }

    #[tokio::test]
    async fn every_index_appears_once() {
        let mut order = completion_order(&[5, 5, 5, 5]).await;
        order.sort_unstable();
        assert_eq!(order, vec![0, 1, 2, 3]);
    }

    #[tokio::test]
    async fn empty() {
        assert!(completion_order(&[]).await.is_empty());
    }
}
