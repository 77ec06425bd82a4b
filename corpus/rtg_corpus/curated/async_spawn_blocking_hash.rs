//! category: async
//! focal: checksum_all
/// Computes a simple checksum of each buffer on the blocking pool, keeping the input order.
pub async fn checksum_all(buffers: Vec<Vec<u8>>) -> Vec<u32> {
    let mut handles = Vec::new();
    for buffer in buffers {
        handles.push(tokio::task::spawn_blocking(move || checksum(&buffer)));
    }
    let mut sums = Vec::with_capacity(handles.len());
    for handle in handles {
        sums.push(handle.await.expect("checksum task panicked"));
    }
    sums
}

/// Adler-32 of `data`.
pub fn checksum(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + byte as u32) % MOD;
        b = (b + a) % MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_order_and_matches_known_values() {
        let sums = checksum_all(vec![b"Wikipedia".to_vec(), vec![], b"a".to_vec()]).await;
        assert_eq!(sums, vec![0x11E6_0398, 1, 0x0062_0062]);
    }

    #[tokio::test]
    async fn no_buffers_no_sums() {
        assert!(checksum_all(vec![]).await.is_empty());
    }

    proptest! {
        #[test]
        fn async_and_direct_agree(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let sums = runtime.block_on(checksum_all(vec![data.clone()]));
            prop_assert_eq!(sums, vec![checksum(&data)]);
        }
    }
}
