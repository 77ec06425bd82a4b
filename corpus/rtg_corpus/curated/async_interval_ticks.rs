//! category: async
//! focal: collect_ticks
use std::time::{Duration, Instant};

/// Ticks every `period` and returns the elapsed time at each of `n` ticks (the first at once).
pub async fn collect_ticks(period: Duration, n: usize) -> Vec<Duration> {
    let start = Instant::now();
    let mut interval = tokio::time::interval(period);
    let mut ticks = Vec::with_capacity(n);
    for _ in 0..n {
        interval.tick().await;
        ticks.push(start.elapsed());
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gives_n_increasing_ticks() {
        let ticks = collect_ticks(Duration::from_millis(5), 4).await;
        assert_eq!(ticks.len(), 4);
        assert!(ticks.windows(2).all(|w| w[0] <= w[1]));
        assert!(ticks[3] >= Duration::from_millis(15));
    }

    #[tokio::test]
    async fn zero_ticks_is_empty() {
        assert!(collect_ticks(Duration::from_millis(5), 0).await.is_empty());
    }

    #[tokio::test]
    async fn zero_period_panics() {
        let result = tokio::spawn(collect_ticks(Duration::ZERO, 1)).await;
        assert!(result.unwrap_err().is_panic());
    }
}
