//! category: error_handling
//! focal: parse_pair
use std::fmt;

#[derive(Debug, PartialEq, Eq)]
pub enum PairError {
    MissingSeparator,
    EmptyKey,
    BadValue(String),
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairError::MissingSeparator => write!(f, "expected `key=value`"),
            PairError::EmptyKey => write!(f, "empty key"),
            PairError::BadValue(v) => write!(f, "not a number: {v}"),
        }
    }
}

impl std::error::Error for PairError {}

/// Parses `key=value` where value is an `i64`; surrounding whitespace is ignored.
pub fn parse_pair(text: &str) -> Result<(String, i64), PairError> {
    let (key, value) = text.split_once('=').ok_or(PairError::MissingSeparator)?;
    let key = key.trim();
    if key.is_empty() {
        return Err(PairError::EmptyKey);
    }
    let value = value.trim();
    let number = value.parse::<i64>().map_err(|_| PairError::BadValue(value.to_string()))?;
    Ok((key.to_string(), number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_simple_pair() {
        assert_eq!(parse_pair("a=1"), Ok(("a".to_string(), 1)));
        assert_eq!(parse_pair("  width = -20 "), Ok(("width".to_string(), -20)));
    }

    #[test]
    fn only_first_equals_splits() {
        assert_eq!(parse_pair("a==1"), Err(PairError::BadValue("=1".to_string())));
    }

    #[test]
    fn reports_each_error() {
        assert_eq!(parse_pair("abc"), Err(PairError::MissingSeparator));
        assert_eq!(parse_pair(" =3"), Err(PairError::EmptyKey));
        assert_eq!(parse_pair("a=x"), Err(PairError::BadValue("x".to_string())));
        assert_eq!(parse_pair("a=99999999999999999999"), Err(PairError::BadValue("99999999999999999999".into())));
    }

    #[test]
    fn errors_display_helpfully() {
        assert_eq!(PairError::MissingSeparator.to_string(), "expected `key=value`");
        let boxed: Box<dyn std::error::Error> = Box::new(PairError::BadValue("q".into()));
        assert_eq!(boxed.to_string(), "not a number: q");
    }

    proptest! {
        #[test]
        fn roundtrips_formatted_pairs(key in "[a-z]{1,8}", value in any::<i64>()) {
            let text = format!("{key}={value}");
            prop_assert_eq!(parse_pair(&text), Ok((key, value)));
        }
    }
}
