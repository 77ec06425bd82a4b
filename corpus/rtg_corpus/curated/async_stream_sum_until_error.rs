//! category: async
//! focal: sum_until_error
use tokio::sync::mpsc;

/// Sums the numbers received until the channel closes; the first `Err` stops the sum and is returned.
pub async fn sum_until_error(mut rx: mpsc::Receiver<Result<i64, String>>) -> Result<i64, String> {
    let mut sum = 0i64;
    while let Some(item) = rx.recv().await {
        sum = sum.checked_add(item?).ok_or_else(|| "overflow".to_string())?;
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn channel_of(items: Vec<Result<i64, String>>) -> mpsc::Receiver<Result<i64, String>> {
        let (tx, rx) = mpsc::channel(items.len().max(1));
        for item in items {
            tx.send(item).await.unwrap();
        }
        rx
    }

    #[tokio::test]
    async fn sums_until_closed() {
        assert_eq!(sum_until_error(channel_of(vec![Ok(1), Ok(2), Ok(-4)]).await).await, Ok(-1));
    }

    #[tokio::test]
    async fn first_error_wins() {
        let rx = channel_of(vec![Ok(1), Err("bad".into()), Err("worse".into())]).await;
        assert_eq!(sum_until_error(rx).await, Err("bad".to_string()));
    }

    #[tokio::test]
    async fn overflow_is_an_error() {
        let rx = channel_of(vec![Ok(i64::MAX), Ok(1)]).await;
        assert_eq!(sum_until_error(rx).await, Err("overflow".to_string()));
    }

    #[tokio::test]
    async fn empty_channel_sums_to_zero() {
        assert_eq!(sum_until_error(channel_of(vec![]).await).await, Ok(0));
    }
}
