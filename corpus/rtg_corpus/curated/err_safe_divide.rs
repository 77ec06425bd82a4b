//! category: error_handling
//! focal: divide
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathError {
    DivisionByZero,
    Overflow,
}

/// `a / b`, rounding toward negative infinity; errors instead of panicking.
pub fn divide(a: i32, b: i32) -> Result<i32, MathError> {
    if b == 0 {
        return Err(MathError::DivisionByZero);
    }
    let q = a.checked_div(b).ok_or(MathError::Overflow)?;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        Ok(q - 1)
    } else {
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_positive_division() {
        assert_eq!(divide(6, 3), Ok(2));
        assert_eq!(divide(7, 2), Ok(3));
    }

    #[test]
    fn rounds_toward_negative_infinity() {
        assert_eq!(divide(-7, 2), Ok(-4));
        assert_eq!(divide(7, -2), Ok(-4));
        assert_eq!(divide(-7, -2), Ok(3));
    }

    #[test]
    fn errors() {
        assert_eq!(divide(1, 0), Err(MathError::DivisionByZero));
        assert_eq!(divide(i32::MIN, -1), Err(MathError::Overflow));
    }

    proptest! {
        #[test]
        fn matches_div_euclid_for_positive_divisors(a in -10_000i32..10_000, b in 1i32..100) {
            prop_assert_eq!(divide(a, b), Ok(a.div_euclid(b)));
        }
    }
}
