//! category: async
//! focal: map_ordered
use std::future::Future;
use tokio::task::JoinSet;

/// Applies `f` to every input concurrently and returns the outputs in input order.
pub async fn map_ordered<I, O, F, Fut>(inputs: Vec<I>, f: F) -> Vec<O>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
{
    let mut set = JoinSet::new();
    let n = inputs.len();
    for (i, input) in inputs.into_iter().enumerate() {
        let fut = f(input);
        set.spawn(async move { (i, fut.await) });
    }
    let mut slots: Vec<Option<O>> = (0..n).map(|_| None).collect();
    while let Some(result) = set.join_next().await {
        let (i, output) = result.expect("task panicked");
        slots[i] = Some(output);
    }
    slots.into_iter().map(|o| o.expect("missing output")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn keeps_input_order_despite_finish_order() {
        let out = map_ordered(vec![30u64, 1, 15], |ms| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ms * 2
        })
        .await;
        assert_eq!(out, vec![60, 2, 30]);
    }

    #[tokio::test]
    async fn empty_input() {
        let out: Vec<u8> = map_ordered(Vec::<u8>::new(), |x| async move { x }).await;
        assert!(out.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_items() {
        let out = map_ordered((0..200).collect(), |x: u32| async move { x + 1 }).await;
        assert_eq!(out, (1..=200).collect::<Vec<_>>());
    }
}
