//! category: async
//! focal: get_or_load
use std::collections::HashMap;
use std::future::Future;
use tokio::sync::RwLock;

/// An async memo: values are loaded once per key.
#[derive(Default)]
pub struct AsyncCache {
    values: RwLock<HashMap<String, String>>,
}

impl AsyncCache {
    /// The cached value for `key`, or the one `load` produces (then cached). Errors are not cached.
    pub async fn get_or_load<F, Fut, E>(&self, key: &str, load: F) -> Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        if let Some(value) = self.values.read().await.get(key) {
            return Ok(value.clone());
        }
        let value = load().await?;
        self.values.write().await.entry(key.to_string()).or_insert(value.clone());
        Ok(value)
    }

    pub async fn len(&self) -> usize {
        self.values.read().await.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loads_once_then_serves_from_cache() {
        let cache = AsyncCache::default();
        let first: Result<String, ()> = cache.get_or_load("k", || async { Ok("v1".to_string()) }).await;
        let second: Result<String, ()> = cache.get_or_load("k", || async { Ok("v2".to_string()) }).await;
        assert_eq!(first.unwrap(), "v1");
        assert_eq!(second.unwrap(), "v1");
        assert_eq!(cache.len().await, 1);
    }

    #[tokio::test]
    async fn errors_are_returned_and_not_cached() {
        let cache = AsyncCache::default();
        let failed = cache.get_or_load("k", || async { Err::<String, _>("boom") }).await;
        assert_eq!(failed, Err("boom"));
        assert_eq!(cache.len().await, 0);
        let loaded: Result<String, &str> = cache.get_or_load("k", || async { Ok("v".to_string()) }).await;
        assert_eq!(loaded, Ok("v".to_string()));
    }
}
