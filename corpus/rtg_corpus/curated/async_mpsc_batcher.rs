//! category: async
//! focal: collect_batches
use tokio::sync::mpsc;

/// Reads the channel until it closes, grouping items into batches of at most `size`; the last batch may be
/// shorter. A `size` of 0 is treated as 1.
pub async fn collect_batches<T>(mut rx: mpsc::Receiver<T>, size: usize) -> Vec<Vec<T>> {
    let size = size.max(1);
    let mut batches = Vec::new();
    let mut current = Vec::with_capacity(size);
    while let Some(item) = rx.recv().await {
        current.push(item);
        if current.len() == size {
            batches.push(std::mem::replace(&mut current, Vec::with_capacity(size)));
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send_all(values: Vec<u32>) -> mpsc::Receiver<u32> {
        let (tx, rx) = mpsc::channel(values.len().max(1));
        for v in values {
            tx.send(v).await.unwrap();
        }
        rx
    }

    #[tokio::test]
    async fn groups_into_full_batches_and_a_remainder() {
        let rx = send_all(vec![1, 2, 3, 4, 5]).await;
        assert_eq!(collect_batches(rx, 2).await, vec![vec![1, 2], vec![3, 4], vec![5]]);
    }

    #[tokio::test]
    async fn closed_empty_channel_gives_no_batches() {
        let rx = send_all(vec![]).await;
        assert!(collect_batches(rx, 3).await.is_empty());
    }

    #[tokio::test]
    async fn zero_size_means_one() {
        let rx = send_all(vec![7, 8]).await;
        assert_eq!(collect_batches(rx, 0).await, vec![vec![7], vec![8]]);
    }

    #[tokio::test]
    async fn producer_task_sending_concurrently() {
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            for i in 0..6u32 {
                tx.send(i).await.unwrap();
            }
        });
        assert_eq!(collect_batches(rx, 3).await, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    }
}
