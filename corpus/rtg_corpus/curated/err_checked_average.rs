//! category: error_handling
//! focal: average
/// The mean of `values`, or `None` for an empty slice or when the sum overflows.
pub fn average(values: &[i32]) -> Option<i32> {
    if values.is_empty() {
        return None;
    }
    let mut sum: i32 = 0;
    for &v in values {
        sum = sum.checked_add(v)?;
    }
    let len = i32::try_from(values.len()).ok()?;
    Some(sum / len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_has_no_average() {
        assert_eq!(average(&[]), None);
    }

    #[test]
    fn integer_mean_truncates_toward_zero() {
        assert_eq!(average(&[1, 2]), Some(1));
        assert_eq!(average(&[-1, -2]), Some(-1));
        assert_eq!(average(&[5]), Some(5));
    }

    #[test]
    fn overflow_is_none() {
        assert_eq!(average(&[i32::MAX, 1]), None);
        assert_eq!(average(&[i32::MIN, -1]), None);
    }

    proptest! {
        #[test]
        fn average_lies_between_min_and_max(values in proptest::collection::vec(-1000i32..1000, 1..50)) {
            let avg = average(&values).unwrap();
            prop_assert!(*values.iter().min().unwrap() <= avg);
            prop_assert!(avg <= *values.iter().max().unwrap());
        }
    }
}
