//! category: async
//! focal: request
use tokio::sync::{mpsc, oneshot};

pub struct Request {
    pub key: String,
    pub reply: oneshot::Sender<Option<u32>>,
}

#[derive(Debug, PartialEq)]
pub enum RequestError {
    ServiceGone,
    NoReply,
}

/// Sends `key` to the service behind `tx` and waits for its answer.
pub async fn request(tx: &mpsc::Sender<Request>, key: &str) -> Result<Option<u32>, RequestError> {
    let (reply, answer) = oneshot::channel();
    tx.send(Request { key: key.to_string(), reply }).await.map_err(|_| RequestError::ServiceGone)?;
    answer.await.map_err(|_| RequestError::NoReply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn spawn_service(data: HashMap<String, u32>) -> mpsc::Sender<Request> {
        let (tx, mut rx) = mpsc::channel::<Request>(8);
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                let _ = req.reply.send(data.get(&req.key).copied());
            }
        });
        tx
    }

    #[tokio::test]
    async fn known_and_unknown_keys() {
        let tx = spawn_service(HashMap::from([("a".to_string(), 1)]));
        assert_eq!(request(&tx, "a").await, Ok(Some(1)));
        assert_eq!(request(&tx, "zz").await, Ok(None));
    }

    #[tokio::test]
    async fn service_that_stopped_is_reported() {
        let (tx, rx) = mpsc::channel::<Request>(1);
        drop(rx);
        assert_eq!(request(&tx, "a").await, Err(RequestError::ServiceGone));
    }

    #[tokio::test]
    async fn dropped_reply_is_reported() {
        let (tx, mut rx) = mpsc::channel::<Request>(1);
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                drop(req.reply);
            }
        });
        assert_eq!(request(&tx, "a").await, Err(RequestError::NoReply));
    }
}
