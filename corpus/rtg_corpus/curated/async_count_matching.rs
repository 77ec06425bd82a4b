//! category: async
//! focal: count_matching
use tokio::sync::mpsc;

/// Counts the received lines that contain `needle`, stopping after `max` lines (the rest stay queued).
pub async fn count_matching(rx: &mut mpsc::Receiver<String>, needle: &str, max: usize) -> usize {
    let mut seen = 0;
    let mut count = 0;
    while seen < max {
        match rx.recv().await {
            Some(line) => {
                seen += 1;
                if line.contains(needle) {
                    count += 1;
                }
            }
            None => break,
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(items: &[&str]) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel(items.len().max(1));
        for item in items {
            tx.send(item.to_string()).await.unwrap();
        }
        rx
    }

    #[tokio::test]
    async fn counts_matching_lines_until_closed() {
        let mut rx = lines(&["error: a", "ok", "error: b"]).await;
        assert_eq!(count_matching(&mut rx, "error", 10).await, 2);
    }

    #[tokio::test]
    async fn stops_after_max_lines_and_leaves_the_rest() {
        let mut rx = lines(&["x", "x", "x"]).await;
        assert_eq!(count_matching(&mut rx, "x", 2).await, 2);
        assert_eq!(rx.recv().await.as_deref(), Some("x"));
    }

    #[tokio::test]
    async fn zero_max_reads_nothing() {
        let mut rx = lines(&["x"]).await;
        assert_eq!(count_matching(&mut rx, "x", 0).await, 0);
        assert_eq!(rx.recv().await.as_deref(), Some("x"));
    }
}
