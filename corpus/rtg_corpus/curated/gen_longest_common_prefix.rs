//! category: generics_lifetimes
//! focal: common_prefix
/// The longest prefix (on char boundaries) shared by all strings; borrowed from the first.
pub fn common_prefix<'a, S: AsRef<str>>(first: &'a str, others: &[S]) -> &'a str {
    let mut end = first.len();
    for other in others {
        let other = other.as_ref();
        end = first
            .char_indices()
            .zip(other.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_prefix() {
        assert_eq!(common_prefix("interstellar", &["internet", "interval"]), "inter");
    }

    #[test]
    fn no_others_is_whole_string() {
        assert_eq!(common_prefix::<&str>("abc", &[]), "abc");
    }

    #[test]
    fn nothing_shared() {
        assert_eq!(common_prefix("abc", &[String::from("xyz")]), "");
    }

    #[test]
    fn respects_char_boundaries() {
        assert_eq!(common_prefix("héllo", &["hé", "héllo"]), "hé");
    }
}
