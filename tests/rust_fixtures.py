"""Small Rust functions and tests for them, shared by the judge and CLI tests.

Each function comes with tests that pin it down (`*_THOROUGH`) and tests that barely constrain it (`*_WEAK`).
"""
from textwrap import dedent


def rust(text: str) -> str:
    """A fixture written indented in the test, as it would sit in a file."""
    return dedent(text).lstrip("\n")


CLAMP = rust("""
    pub fn clamp(x: i32, lo: i32, hi: i32) -> i32 {
        if x < lo {
            lo
        } else if x > hi {
            hi
        } else {
            x
        }
    }
""")
CLAMP_THOROUGH = rust("""
    #[test]
    fn below_the_range_gives_lo() { assert_eq!(clamp(-5, 0, 10), 0); }

    #[test]
    fn above_the_range_gives_hi() { assert_eq!(clamp(15, 0, 10), 10); }

    #[test]
    fn inside_the_range_gives_x() { assert_eq!(clamp(5, 0, 10), 5); }

    #[test]
    fn bounds_and_their_neighbours() {
        assert_eq!(clamp(0, 0, 10), 0);
        assert_eq!(clamp(1, 0, 10), 1);
        assert_eq!(clamp(9, 0, 10), 9);
        assert_eq!(clamp(10, 0, 10), 10);
    }
""")
CLAMP_WEAK = rust("""
    #[test]
    fn clamp_runs() { assert!(clamp(2, 0, 10) >= 0); }
""")
CLAMP_ONE_PASSING_TEST = rust("""
    #[test]
    fn inside_the_range_gives_x() { assert_eq!(clamp(5, 0, 10), 5); }
""")

PARSE_DIGIT = rust("""
    pub fn parse_digit(c: char) -> Option<u8> {
        match c {
            '0'..='9' => Some(c as u8 - b'0'),
            _ => None,
        }
    }
""")
PARSE_DIGIT_THOROUGH = rust("""
    #[test]
    fn digits_parse_to_their_value() {
        assert_eq!(parse_digit('0'), Some(0));
        assert_eq!(parse_digit('7'), Some(7));
        assert_eq!(parse_digit('9'), Some(9));
    }

    #[test]
    fn non_digits_are_none() {
        assert_eq!(parse_digit('x'), None);
        assert_eq!(parse_digit('/'), None);
        assert_eq!(parse_digit(':'), None);
    }
""")
PARSE_DIGIT_WEAK = rust("""
    #[test]
    fn five_is_a_digit() { assert!(parse_digit('5').is_some()); }
""")

CLASSIFY = rust("""
    pub fn classify(n: i32) -> &'static str {
        match n {
            0 => "zero",
            x if x < 0 => "negative",
            _ => "positive",
        }
    }
""")
CLASSIFY_THOROUGH = rust("""
    #[test]
    fn each_label() {
        assert_eq!(classify(0), "zero");
        assert_eq!(classify(-2), "negative");
        assert_eq!(classify(-1), "negative");
        assert_eq!(classify(1), "positive");
        assert_eq!(classify(5), "positive");
    }
""")
CLASSIFY_WEAK = rust("""
    #[test]
    fn has_a_label() { assert!(!classify(1).is_empty()); }
""")

IS_LEAP_YEAR = rust("""
    pub fn is_leap_year(year: u32) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }
""")
# HumanEvalPack-style people-written bug: forgets the 400-year rule.
IS_LEAP_YEAR_BUG = rust("""
    pub fn is_leap_year(year: u32) -> bool {
        year % 4 == 0 && year % 100 != 0
    }
""")
IS_LEAP_YEAR_THOROUGH = rust("""
    #[test]
    fn the_three_rules() {
        assert!(is_leap_year(2024));
        assert!(is_leap_year(2000));
        assert!(!is_leap_year(1900));
        assert!(!is_leap_year(2023));
    }
""")
IS_LEAP_YEAR_ONLY_ORDINARY_YEARS = rust("""
    #[test]
    fn ordinary_years() {
        assert!(is_leap_year(2024));
        assert!(!is_leap_year(2023));
    }
""")
# Each arm but `_` is hit by 1 input in 40: with a few dozen random cases, whether a property catches the
# deletion of an arm depends on the inputs drawn, so only a fixed seed gives the same verdict twice.
BONUS = rust("""
    pub fn bonus(day: u32) -> u8 {
        match day % 40 {
            1 => 10,
            2 => 20,
            3 => 30,
            _ => 0,
        }
    }
""")
BONUS_PROPERTY = rust("""
    proptest! {
        #[test]
        fn agrees_with_the_table(day in 0u32..100_000) {
            let r = day % 40;
            let expected = if (1..=3).contains(&r) { r as u8 * 10 } else { 0 };
            prop_assert_eq!(bonus(day), expected);
        }
    }
""")

SIGN_LABEL = rust("""
    pub fn sign_label(x: i32) -> &'static str {
        if x < 0 {
            "negative"
        } else {
            "non-negative"
        }
    }
""")
SIGN_LABEL_NEGATIVE_ONLY = rust("""
    #[test]
    fn negative() { assert_eq!(sign_label(-3), "negative"); }
""")
SIGN_LABEL_BOTH_BRANCHES = SIGN_LABEL_NEGATIVE_ONLY + rust("""
    #[test]
    fn positive() { assert_eq!(sign_label(4), "non-negative"); }
""")
