//! category: async
//! focal: first_ok
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Tries the sources in order and returns the first success; with no success, all the errors in order.
pub async fn first_ok<T, E>(sources: Vec<BoxFuture<Result<T, E>>>) -> Result<T, Vec<E>> {
    let mut errors = Vec::new();
    for source in sources {
        match source.await {
            Ok(value) => return Ok(value),
            Err(error) => errors.push(error),
        }
    }
    Err(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: u8) -> BoxFuture<Result<u8, String>> {
        Box::pin(async move { Ok(v) })
    }

    fn err(e: &str) -> BoxFuture<Result<u8, String>> {
        let e = e.to_string();
        Box::pin(async move { Err(e) })
    }

    #[tokio::test]
    async fn returns_first_success() {
        assert_eq!(first_ok(vec![err("a"), ok(2), ok(3)]).await, Ok(2));
    }

    #[tokio::test]
    async fn collects_all_errors_in_order() {
        assert_eq!(first_ok(vec![err("a"), err("b")]).await, Err(vec!["a".to_string(), "b".to_string()]));
    }

    #[tokio::test]
    async fn no_sources_is_an_empty_error_list() {
        assert_eq!(first_ok::<u8, String>(vec![]).await, Err(vec![]));
    }
}
