//! category: async
//! focal: apply
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::RwLock;

/// A key-value store shared between tasks.
#[derive(Clone, Default)]
pub struct Store {
    inner: Arc<RwLock<BTreeMap<String, i64>>>,
}

#[derive(Debug, PartialEq)]
pub enum Op {
    Set(String, i64),
    Add(String, i64),
    Remove(String),
}

impl Store {
    /// Applies `op`; `Add` on a missing key is an error and changes nothing. Returns the key's new value.
    pub async fn apply(&self, op: Op) -> Result<Option<i64>, String> {
        let mut map = self.inner.write().await;
        match op {
            Op::Set(key, value) => {
                map.insert(key, value);
                Ok(Some(value))
            }
            Op::Add(key, delta) => {
                let slot = map.get_mut(&key).ok_or_else(|| format!("no key {key}"))?;
                *slot = slot.checked_add(delta).ok_or("overflow")?;
                Ok(Some(*slot))
            }
            Op::Remove(key) => {
                map.remove(&key);
                Ok(None)
            }
        }
    }

    pub async fn snapshot(&self) -> BTreeMap<String, i64> {
        self.inner.read().await.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_add_remove() {
        let store = Store::default();
        assert_eq!(store.apply(Op::Set("a".into(), 1)).await, Ok(Some(1)));
        assert_eq!(store.apply(Op::Add("a".into(), 4)).await, Ok(Some(5)));
        assert_eq!(store.apply(Op::Remove("a".into())).await, Ok(None));
        assert!(store.snapshot().await.is_empty());
    }

    #[tokio::test]
    async fn add_errors_leave_the_store_unchanged() {
        let store = Store::default();
        assert_eq!(store.apply(Op::Add("x".into(), 1)).await, Err("no key x".to_string()));
        store.apply(Op::Set("m".into(), i64::MAX)).await.unwrap();
        assert_eq!(store.apply(Op::Add("m".into(), 1)).await, Err("overflow".to_string()));
        assert_eq!(store.snapshot().await.get("m"), Some(&i64::MAX));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_adds_all_land() {
        let store = Store::default();
        store.apply(Op::Set("n".into(), 0)).await.unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.apply(Op::Add("n".into(), 2)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(store.snapshot().await["n"], 100);
    }
}
