//! category: generics_lifetimes
//! focal: split_key
/// Splits `line` at the first `sep` into a key and the rest, both borrowed from `line` and trimmed.
pub fn split_key<'a>(line: &'a str, sep: char) -> (&'a str, Option<&'a str>) {
    match line.find(sep) {
        Some(at) => (line[..at].trim(), Some(line[at + sep.len_utf8()..].trim())),
        None => (line.trim(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_separator() {
        assert_eq!(split_key("name: value: more", ':'), ("name", Some("value: more")));
    }

    #[test]
    fn without_separator_everything_is_key() {
        assert_eq!(split_key("  lonely ", '='), ("lonely", None));
    }

    #[test]
    fn multibyte_separator() {
        assert_eq!(split_key("a→b", '→'), ("a", Some("b")));
    }

    #[test]
    fn results_borrow_from_input() {
        let owned = String::from("k=v");
        let (key, value) = split_key(&owned, '=');
        assert!(std::ptr::eq(key.as_ptr(), owned.as_ptr()));
        assert_eq!(value, Some("v"));
    }
}
