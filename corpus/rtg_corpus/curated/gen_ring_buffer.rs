//! category: generics_lifetimes
//! focal: push
/// A fixed-capacity ring buffer that overwrites its oldest item when full.
pub struct Ring<T> {
    items: Vec<Option<T>>,
    head: usize,
    len: usize,
}

impl<T> Ring<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        assert!(capacity > 0, "capacity must be positive");
        Ring { items: (0..capacity).map(|_| None).collect(), head: 0, len: 0 }
    }

    /// Adds `item`; returns the item it overwrote when the ring was full.
    pub fn push(&mut self, item: T) -> Option<T> {
        let capacity = self.items.len();
        let slot = (self.head + self.len) % capacity;
        if self.len == capacity {
            let old = self.items[self.head].replace(item);
            self.head = (self.head + 1) % capacity;
            old
        } else {
            self.items[slot] = Some(item);
            self.len += 1;
            None
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.len).filter_map(move |i| self.items[(self.head + i) % self.items.len()].as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_then_overwrites_oldest() {
        let mut ring = Ring::with_capacity(2);
        assert_eq!(ring.push(1), None);
        assert_eq!(ring.push(2), None);
        assert_eq!(ring.push(3), Some(1));
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn works_with_non_copy_items() {
        let mut ring = Ring::with_capacity(1);
        ring.push(String::from("a"));
        assert_eq!(ring.push(String::from("b")), Some(String::from("a")));
    }

    #[test]
    fn zero_capacity_panics() {
        assert!(std::panic::catch_unwind(|| Ring::<u8>::with_capacity(0)).is_err());
    }

    proptest! {
        #[test]
        fn keeps_the_last_capacity_items(xs in proptest::collection::vec(any::<u16>(), 0..40), cap in 1usize..8) {
            let mut ring = Ring::with_capacity(cap);
            for x in &xs {
                ring.push(*x);
            }
            let expected: Vec<u16> = xs.iter().rev().take(cap).rev().copied().collect();
            prop_assert_eq!(ring.iter().copied().collect::<Vec<_>>(), expected);
        }
    }
}
