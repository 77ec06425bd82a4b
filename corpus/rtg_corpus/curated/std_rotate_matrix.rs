//! category: stdlib
//! focal: rotate_clockwise
/// Rotates a rectangular matrix a quarter turn clockwise.
pub fn rotate_clockwise(matrix: &[Vec<i32>]) -> Vec<Vec<i32>> {
    let rows = matrix.len();
    let cols = matrix.first().map_or(0, Vec::len);
    assert!(matrix.iter().all(|row| row.len() == cols), "ragged matrix");
    (0..cols).map(|c| (0..rows).rev().map(|r| matrix[r][c]).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_rectangle() {
        let m = vec![vec![1, 2, 3], vec![4, 5, 6]];
        assert_eq!(rotate_clockwise(&m), vec![vec![4, 1], vec![5, 2], vec![6, 3]]);
    }

    #[test]
    fn four_turns_is_identity() {
        let m = vec![vec![1, 2], vec![3, 4]];
        let mut r = m.clone();
        for _ in 0..4 {
            r = rotate_clockwise(&r);
        }
        assert_eq!(r, m);
    }

    #[test]
    fn empty_matrix() {
        assert!(rotate_clockwise(&[]).is_empty());
    }

    #[test]
    fn ragged_panics() {
        assert!(std::panic::catch_unwind(|| rotate_clockwise(&[vec![1, 2], vec![3]])).is_err());
    }
}
