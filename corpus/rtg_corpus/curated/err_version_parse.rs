//! category: error_handling
//! focal: parse_version
use std::num::ParseIntError;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

#[derive(Debug, PartialEq)]
pub enum VersionError {
    WrongPartCount(usize),
    Number(ParseIntError),
}

/// Parses `MAJOR.MINOR.PATCH`; a leading `v` is allowed.
pub fn parse_version(text: &str) -> Result<Version, VersionError> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 3 {
        return Err(VersionError::WrongPartCount(parts.len()));
    }
    let number = |s: &str| s.parse::<u32>().map_err(VersionError::Number);
    Ok(Version { major: number(parts[0])?, minor: number(parts[1])?, patch: number(parts[2])? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_v() {
        let expected = Version { major: 1, minor: 20, patch: 3 };
        assert_eq!(parse_version("1.20.3"), Ok(expected));
        assert_eq!(parse_version("v1.20.3"), Ok(expected));
    }

    #[test]
    fn wrong_number_of_parts() {
        assert_eq!(parse_version("1.2"), Err(VersionError::WrongPartCount(2)));
        assert_eq!(parse_version("1.2.3.4"), Err(VersionError::WrongPartCount(4)));
        assert_eq!(parse_version(""), Err(VersionError::WrongPartCount(1)));
    }

    #[test]
    fn bad_numbers() {
        assert!(matches!(parse_version("1.x.3"), Err(VersionError::Number(_))));
        assert!(matches!(parse_version("1.-2.3"), Err(VersionError::Number(_))));
    }

    #[test]
    fn versions_order_numerically() {
        assert!(parse_version("1.10.0").unwrap() > parse_version("1.9.9").unwrap());
    }

    proptest! {
        #[test]
        fn roundtrip(major in 0u32..1000, minor in 0u32..1000, patch in 0u32..1000) {
            let v = parse_version(&format!("{major}.{minor}.{patch}")).unwrap();
            prop_assert_eq!(v, Version { major, minor, patch });
        }
    }
}
