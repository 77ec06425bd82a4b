//! category: stdlib
//! focal: unique_in_order
use std::collections::HashSet;
use std::hash::Hash;

/// The items of `items` without repeats, first occurrences kept, in their order.
pub fn unique_in_order<T: Eq + Hash + Clone>(items: &[T]) -> Vec<T> {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().filter(|item| seen.insert((*item).clone())).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_occurrences_in_order() {
        assert_eq!(unique_in_order(&[3, 1, 3, 2, 1]), vec![3, 1, 2]);
        assert_eq!(unique_in_order(&["b", "a", "b"]), vec!["b", "a"]);
    }

    #[test]
    fn empty_input() {
        assert_eq!(unique_in_order::<u8>(&[]), Vec::<u8>::new());
    }

    quickcheck::quickcheck! {
        fn result_has_no_duplicates(items: Vec<u8>) -> bool {
            let unique = unique_in_order(&items);
            let set: HashSet<_> = unique.iter().collect();
            set.len() == unique.len() && items.iter().all(|i| unique.contains(i))
        }
    }
}
