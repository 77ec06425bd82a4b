//! category: error_handling
//! focal: decode_hex
#[derive(Debug, PartialEq, Eq)]
pub enum HexError {
    OddLength,
    InvalidChar { index: usize, found: char },
}

/// Decodes a hex string (either case) into bytes.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, HexError> {
    if text.len() % 2 != 0 {
        return Err(HexError::OddLength);
    }
    let digit = |index: usize, c: char| c.to_digit(16).map(|d| d as u8).ok_or(HexError::InvalidChar { index, found: c });
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| Ok(digit(2 * i, pair[0])? << 4 | digit(2 * i + 1, pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_cases() {
        assert_eq!(decode_hex("00ff7F"), Ok(vec![0x00, 0xff, 0x7f]));
        assert_eq!(decode_hex(""), Ok(vec![]));
    }

    #[test]
    fn odd_length_is_rejected() {
        assert_eq!(decode_hex("abc"), Err(HexError::OddLength));
    }

    #[test]
    fn invalid_char_reports_position() {
        assert_eq!(decode_hex("0g"), Err(HexError::InvalidChar { index: 1, found: 'g' }));
        assert_eq!(decode_hex("00 1"), Err(HexError::InvalidChar { index: 2, found: ' ' }));
    }

    proptest! {
        #[test]
        fn roundtrips_encoded_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(decode_hex(&hex), Ok(bytes));
        }
    }
}
