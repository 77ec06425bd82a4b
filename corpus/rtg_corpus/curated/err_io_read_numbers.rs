//! category: error_handling
//! focal: read_numbers
use std::io::{self, BufRead};

#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    Parse { line: usize, text: String },
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// One u64 per non-blank line; `#` starts a comment line. Line numbers in errors are 1-based.
pub fn read_numbers<R: BufRead>(reader: R) -> Result<Vec<u64>, ReadError> {
    let mut numbers = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let n = trimmed.parse().map_err(|_| ReadError::Parse { line: i + 1, text: trimmed.to_string() })?;
        numbers.push(n);
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_numbers_skipping_blanks_and_comments() {
        let input = Cursor::new("1\n\n# two\n 3 \n");
        assert_eq!(read_numbers(input).unwrap(), vec![1, 3]);
    }

    #[test]
    fn parse_error_names_the_line() {
        match read_numbers(Cursor::new("1\nx2\n")) {
            Err(ReadError::Parse { line, text }) => {
                assert_eq!(line, 2);
                assert_eq!(text, "x2");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn invalid_utf8_is_an_io_error() {
        let input = Cursor::new(vec![b'1', b'\n', 0xff, b'\n']);
        assert!(matches!(read_numbers(input), Err(ReadError::Io(_))));
    }

    #[test]
    fn negative_numbers_are_rejected() {
        assert!(matches!(read_numbers(Cursor::new("-1")), Err(ReadError::Parse { line: 1, .. })));
    }
}
