//! category: error_handling
//! focal: first_long_word
/// The first word of at least `min_len` chars (words split on whitespace), if any.
pub fn first_long_word(text: &str, min_len: usize) -> Option<&str> {
    text.split_whitespace().find(|word| word.chars().count() >= min_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_match() {
        assert_eq!(first_long_word("a bb ccc dddd", 3), Some("ccc"));
    }

    #[test]
    fn counts_chars_not_bytes() {
        assert_eq!(first_long_word("éé x", 2), Some("éé"));
        assert_eq!(first_long_word("é", 2), None);
    }

    #[test]
    fn none_when_nothing_matches_or_empty() {
        assert_eq!(first_long_word("a b", 5), None);
        assert_eq!(first_long_word("", 0), None);
        assert_eq!(first_long_word("   ", 1), None);
    }

    #[test]
    fn zero_length_matches_first_word() {
        assert_eq!(first_long_word("  hi there", 0), Some("hi"));
    }
}
