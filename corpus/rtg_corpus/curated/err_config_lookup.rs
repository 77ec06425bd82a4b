//! category: error_handling
//! focal: port
use std::collections::HashMap;

#[derive(Debug, PartialEq)]
pub enum ConfigError {
    Missing(&'static str),
    Invalid { key: &'static str, value: String },
}

pub struct Config {
    entries: HashMap<String, String>,
}

impl Config {
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Config { entries: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    /// The `port` entry as a non-zero u16.
    pub fn port(&self) -> Result<u16, ConfigError> {
        let raw = self.entries.get("port").ok_or(ConfigError::Missing("port"))?;
        match raw.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(ConfigError::Invalid { key: "port", value: raw.clone() }),
            Ok(port) => Ok(port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_valid_port() {
        assert_eq!(Config::from_pairs(&[("port", "8080")]).port(), Ok(8080));
        assert_eq!(Config::from_pairs(&[("port", " 1 ")]).port(), Ok(1));
    }

    #[test]
    fn missing_port() {
        assert_eq!(Config::from_pairs(&[("host", "x")]).port(), Err(ConfigError::Missing("port")));
    }

    #[test]
    fn zero_negative_and_too_large_are_invalid() {
        for bad in ["0", "-1", "65536", "http"] {
            assert_eq!(
                Config::from_pairs(&[("port", bad)]).port(),
                Err(ConfigError::Invalid { key: "port", value: bad.to_string() })
            );
        }
    }
}
