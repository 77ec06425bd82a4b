//! category: async
//! focal: upload
use tokio::sync::mpsc;

#[derive(Debug, PartialEq)]
pub enum UploadError {
    EmptyPayload,
    ReceiverGone { sent: usize },
}

/// Sends `payload` in chunks of at most `chunk` bytes; returns the number of chunks sent.
pub async fn upload(payload: &[u8], chunk: usize, tx: &mpsc::Sender<Vec<u8>>) -> Result<usize, UploadError> {
    if payload.is_empty() {
        return Err(UploadError::EmptyPayload);
    }
    let mut sent = 0;
    for piece in payload.chunks(chunk.max(1)) {
        tx.send(piece.to_vec()).await.map_err(|_| UploadError::ReceiverGone { sent })?;
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_into_chunks_in_order() {
        let (tx, mut rx) = mpsc::channel(8);
        assert_eq!(upload(b"abcdefg", 3, &tx).await, Ok(3));
        drop(tx);
        let mut got = Vec::new();
        while let Some(piece) = rx.recv().await {
            got.push(piece);
        }
        assert_eq!(got, vec![b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()]);
    }

    #[tokio::test]
    async fn empty_payload_is_an_error() {
        let (tx, _rx) = mpsc::channel(1);
        assert_eq!(upload(b"", 3, &tx).await, Err(UploadError::EmptyPayload));
    }

    #[tokio::test]
    async fn closed_receiver_reports_progress() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        assert_eq!(upload(b"abc", 1, &tx).await, Err(UploadError::ReceiverGone { sent: 0 }));
    }

    #[tokio::test]
    async fn zero_chunk_size_means_one_byte() {
        let (tx, _rx) = mpsc::channel(8);
        assert_eq!(upload(b"xy", 0, &tx).await, Ok(2));
    }
}
