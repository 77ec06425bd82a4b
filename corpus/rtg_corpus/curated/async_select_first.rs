//! category: async
//! focal: race
use std::time::Duration;

#[derive(Debug, PartialEq, Eq)]
pub enum Winner {
    Left(u32),
    Right(u32),
}

/// Sleeps `left` and `right` concurrently and reports which finished first (left on a tie).
pub async fn race(left: Duration, right: Duration) -> Winner {
    tokio::select! {
        biased;
        _ = tokio::time::sleep(left) => Winner::Left(left.as_millis() as u32),
        _ = tokio::time::sleep(right) => Winner::Right(right.as_millis() as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shorter_sleep_wins() {
        assert_eq!(race(Duration::from_millis(1), Duration::from_millis(200)).await, Winner::Left(1));
        assert_eq!(race(Duration::from_millis(200), Duration::from_millis(1)).await, Winner::Right(1));
    }

    #[tokio::test]
    async fn tie_goes_left() {
        assert_eq!(race(Duration::ZERO, Duration::ZERO).await, Winner::Left(0));
    }
}
