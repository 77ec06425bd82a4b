//! category: stdlib
//! focal: top_words
use std::collections::HashMap;

/// The `n` most frequent lowercase words (letters only), most frequent first, ties alphabetical.
pub fn top_words(text: &str, n: usize) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()) {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(n);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_count_then_alphabet() {
        let top = top_words("b a B c a b", 2);
        assert_eq!(top, vec![("b".to_string(), 3), ("a".to_string(), 2)]);
    }

    #[test]
    fn punctuation_and_digits_split_words() {
        assert_eq!(top_words("x,y;x1x", 5), vec![("x".to_string(), 3), ("y".to_string(), 1)]);
    }

    #[test]
    fn empty_text_or_zero_n() {
        assert!(top_words("", 3).is_empty());
        assert!(top_words("a a", 0).is_empty());
    }

    proptest! {
        #[test]
        fn never_more_than_n(text in "[a-c ]{0,40}", n in 0usize..5) {
            prop_assert!(top_words(&text, n).len() <= n);
        }
    }
}
