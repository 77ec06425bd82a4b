//! category: async
//! focal: get
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::OnceCell;

/// A value computed by an async initialiser the first time it is needed, and only once.
pub struct Lazy {
    cell: OnceCell<String>,
    inits: AtomicUsize,
}

impl Lazy {
    pub fn new() -> Self {
        Lazy { cell: OnceCell::new(), inits: AtomicUsize::new(0) }
    }

    /// The value, initialising it on first use.
    pub async fn get(&self) -> &str {
        self.cell
            .get_or_init(|| async {
                self.inits.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                "ready".to_string()
            })
            .await
    }

    pub fn inits(&self) -> usize {
        self.inits.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn initialises_on_first_use_only() {
        let lazy = Lazy::new();
        assert_eq!(lazy.inits(), 0);
        assert_eq!(lazy.get().await, "ready");
        assert_eq!(lazy.get().await, "ready");
        assert_eq!(lazy.inits(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_first_uses_initialise_once() {
        let lazy = Arc::new(Lazy::new());
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let lazy = lazy.clone();
                tokio::spawn(async move { lazy.get().await.to_string() })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), "ready");
        }
        assert_eq!(lazy.inits(), 1);
    }
}
