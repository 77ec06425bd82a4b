//! category: stdlib
//! focal: group_by_initial
use std::collections::BTreeMap;

/// Groups words by their first char (uppercased), keeping each group's words in input order.
pub fn group_by_initial(words: &[&str]) -> BTreeMap<char, Vec<String>> {
    let mut groups: BTreeMap<char, Vec<String>> = BTreeMap::new();
    for word in words {
        if let Some(first) = word.chars().next() {
            let key = first.to_uppercase().next().unwrap_or(first);
            groups.entry(key).or_default().push(word.to_string());
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_case_insensitively_in_order() {
        let groups = group_by_initial(&["apple", "Avocado", "banana", "apricot"]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[&'A'], vec!["apple", "Avocado", "apricot"]);
        assert_eq!(groups[&'B'], vec!["banana"]);
    }

    #[test]
    fn empty_words_are_skipped() {
        assert!(group_by_initial(&["", ""]).is_empty());
    }

    #[test]
    fn keys_are_sorted() {
        let keys: Vec<char> = group_by_initial(&["z", "m", "a"]).into_keys().collect();
        assert_eq!(keys, vec!['A', 'M', 'Z']);
    }
}
