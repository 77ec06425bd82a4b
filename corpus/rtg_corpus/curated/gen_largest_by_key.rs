//! category: generics_lifetimes
//! focal: largest_by
/// The item with the largest key; the first one on ties; `None` for an empty slice.
pub fn largest_by<'a, T, K: PartialOrd>(items: &'a [T], key: impl Fn(&T) -> K) -> Option<&'a T> {
    let mut best: Option<(&'a T, K)> = None;
    for item in items {
        let k = key(item);
        match &best {
            Some((_, best_key)) if !(k > *best_key) => {}
            _ => best = Some((item, k)),
        }
    }
    best.map(|(item, _)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_largest_by_key() {
        let words = ["aa", "b", "cccc", "dd"];
        assert_eq!(largest_by(&words, |w| w.len()), Some(&"cccc"));
    }

    #[test]
    fn first_wins_ties() {
        let pairs = [(1, 'a'), (3, 'b'), (3, 'c')];
        assert_eq!(largest_by(&pairs, |p| p.0), Some(&(3, 'b')));
    }

    #[test]
    fn empty_is_none() {
        let empty: [u8; 0] = [];
        assert_eq!(largest_by(&empty, |x| *x), None);
    }

    #[test]
    fn nan_keys_never_win() {
        let xs = [1.0f64, f64::NAN, 2.0];
        assert_eq!(largest_by(&xs, |x| *x), Some(&2.0));
    }

    proptest! {
        #[test]
        fn agrees_with_max(xs in proptest::collection::vec(any::<i32>(), 1..30)) {
            prop_assert_eq!(largest_by(&xs, |x| *x), xs.iter().max());
        }
    }
}
