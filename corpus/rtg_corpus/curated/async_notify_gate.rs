//! category: async
//! focal: wait_open
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// A gate that tasks wait on until it is opened; once open it stays open.
#[derive(Default)]
pub struct Gate {
    open: AtomicBool,
    notify: Notify,
}

impl Gate {
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Returns once the gate is open (at once if it already is).
    pub async fn wait_open(&self) {
        loop {
            let notified = self.notify.notified();
            if self.open.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn open_gate_does_not_block() {
        let gate = Gate::default();
        gate.open();
        tokio::time::timeout(Duration::from_secs(1), gate.wait_open()).await.expect("blocked on an open gate");
    }

    #[tokio::test]
    async fn closed_gate_blocks() {
        let gate = Gate::default();
        assert!(tokio::time::timeout(Duration::from_millis(20), gate.wait_open()).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiters_are_released_when_opened() {
        let gate = Arc::new(Gate::default());
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let g = gate.clone();
                tokio::spawn(async move { g.wait_open().await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        gate.open();
        for w in waiters {
            tokio::time::timeout(Duration::from_secs(1), w).await.expect("waiter stuck").unwrap();
        }
    }
}
