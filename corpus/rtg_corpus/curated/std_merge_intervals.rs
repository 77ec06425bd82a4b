//! category: stdlib
//! focal: merge_intervals
/// Merges overlapping or touching closed intervals; the result is sorted.
pub fn merge_intervals(mut intervals: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    intervals.retain(|(start, end)| start <= end);
    intervals.sort_unstable();
    let mut merged: Vec<(i32, i32)> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_overlapping_and_touching() {
        assert_eq!(merge_intervals(vec![(6, 7), (1, 3), (2, 4), (8, 9)]), vec![(1, 4), (6, 9)]);
    }

    #[test]
    fn drops_inverted_intervals() {
        assert_eq!(merge_intervals(vec![(3, 1), (0, 0)]), vec![(0, 0)]);
    }

    #[test]
    fn extremes_do_not_overflow() {
        assert_eq!(merge_intervals(vec![(i32::MAX, i32::MAX), (0, i32::MAX)]), vec![(0, i32::MAX)]);
    }

    #[test]
    fn empty_input() {
        assert!(merge_intervals(vec![]).is_empty());
    }

    proptest! {
        #[test]
        fn output_is_sorted_and_disjoint(v in proptest::collection::vec((-50i32..50, -50i32..50), 0..20)) {
            let merged = merge_intervals(v);
            for w in merged.windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
        }
    }
}
