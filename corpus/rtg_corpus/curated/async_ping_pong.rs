//! category: async
//! focal: ping_pong
use tokio::sync::mpsc;

/// Bounces a counter between two tasks `rounds` times (each hop adds one) and returns the final count.
pub async fn ping_pong(rounds: u32) -> u32 {
    let (to_pong, mut pong_rx) = mpsc::channel::<u32>(1);
    let (to_ping, mut ping_rx) = mpsc::channel::<u32>(1);
    let pong = tokio::spawn(async move {
        while let Some(n) = pong_rx.recv().await {
            if to_ping.send(n + 1).await.is_err() {
                break;
            }
        }
    });
    let mut count = 0;
    for _ in 0..rounds {
        to_pong.send(count).await.expect("pong task ended");
        count = ping_rx.recv().await.expect("pong task ended") + 1;
    }
    drop(to_pong);
    pong.await.expect("pong task panicked");
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_round_adds_two() {
        assert_eq!(ping_pong(0).await, 0);
        assert_eq!(ping_pong(1).await, 2);
        assert_eq!(ping_pong(10).await, 20);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_rounds_on_multi_thread() {
        assert_eq!(ping_pong(500).await, 1000);
    }
}
