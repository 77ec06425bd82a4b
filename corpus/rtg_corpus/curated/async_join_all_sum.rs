//! category: async
//! focal: sum_concurrently
use tokio::task::JoinHandle;

/// Spawns one task per number that squares it, and sums the results. A task that panics makes the whole
/// call return an error naming how many tasks failed.
pub async fn sum_concurrently(numbers: Vec<i64>) -> Result<i64, String> {
    let handles: Vec<JoinHandle<i64>> = numbers
        .into_iter()
        .map(|n| {
            tokio::spawn(async move {
                if n < 0 {
                    panic!("negative input {n}");
                }
                n * n
            })
        })
        .collect();
    let mut total = 0;
    let mut failed = 0;
    for handle in handles {
        match handle.await {
            Ok(value) => total += value,
            Err(_) => failed += 1,
        }
    }
    if failed > 0 {
        Err(format!("{failed} task(s) failed"))
    } else {
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn empty_input_sums_to_zero() {
        assert_eq!(sum_concurrently(vec![]).await, Ok(0));
    }

    #[tokio::test]
    async fn sums_squares() {
        assert_eq!(sum_concurrently(vec![1, 2, 3]).await, Ok(14));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn works_on_multi_thread_runtime() {
        let numbers: Vec<i64> = (0..100).collect();
        let expected: i64 = numbers.iter().map(|n| n * n).sum();
        assert_eq!(sum_concurrently(numbers).await, Ok(expected));
    }

    #[tokio::test]
    async fn panicking_tasks_are_counted() {
        assert_eq!(sum_concurrently(vec![1, -1, 2, -2]).await, Err("2 task(s) failed".to_string()));
    }
}
