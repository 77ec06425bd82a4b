//! category: error_handling
//! focal: parse_flag
/// Reads a boolean setting: `1/true/yes/on` and `0/false/no/off` (any case); `None` for anything else,
/// including an empty value.
pub fn parse_flag(value: Option<&str>) -> Option<bool> {
    let value = value?.trim().to_ascii_lowercase();
    match value.as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthy_and_falsy_words() {
        for yes in ["1", "true", "YES", " On "] {
            assert_eq!(parse_flag(Some(yes)), Some(true), "{yes}");
        }
        for no in ["0", "False", "no", "OFF"] {
            assert_eq!(parse_flag(Some(no)), Some(false), "{no}");
        }
    }

    #[test]
    fn missing_empty_and_unknown_are_none() {
        assert_eq!(parse_flag(None), None);
        assert_eq!(parse_flag(Some("")), None);
        assert_eq!(parse_flag(Some("2")), None);
        assert_eq!(parse_flag(Some("yess")), None);
    }
}
