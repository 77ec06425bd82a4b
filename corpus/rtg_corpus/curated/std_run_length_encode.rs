//! category: stdlib
//! focal: run_length_encode
/// Run-length encodes `text`: `"aaab"` -> `"3a1b"`.
pub fn run_length_encode(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut count = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            count += 1;
        }
        out.push_str(&count.to_string());
        out.push(c);
    }
    out
}

/// The inverse of `run_length_encode`.
pub fn run_length_decode(encoded: &str) -> String {
    let mut out = String::new();
    let mut count = String::new();
    for c in encoded.chars() {
        if c.is_ascii_digit() {
            count.push(c);
        } else {
            let n: usize = count.parse().unwrap_or(1);
            out.extend(std::iter::repeat(c).take(n));
            count.clear();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_runs() {
        assert_eq!(run_length_encode("aaab"), "3a1b");
        assert_eq!(run_length_encode("abc"), "1a1b1c");
        assert_eq!(run_length_encode(""), "");
    }

    #[test]
    fn long_runs_use_several_digits() {
        assert_eq!(run_length_encode(&"z".repeat(12)), "12z");
    }

    #[test]
    fn unicode_is_per_char() {
        assert_eq!(run_length_encode("ééx"), "2é1x");
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(text in "[a-d]{0,30}") {
            prop_assert_eq!(run_length_decode(&run_length_encode(&text)), text);
        }
    }
}
