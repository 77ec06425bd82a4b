from textwrap import dedent

import pytest

from rtg_eval.static_checks import lint_tests


def rust(text: str) -> str:
    return dedent(text).lstrip("\n")


def lint_one(test_code: str):
    (test,) = lint_tests(test_code).tests
    return test


def unit_test(body: str, name: str = "adds_two_numbers") -> str:
    return f"#[test]\nfn {name}() {{\n    {body}\n}}\n"


# --- tautologies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("assertion", [
    "assert!(true);",
    "assert!(!false);",
    "assert_eq!(x, x);",
    "assert_eq!(f(1), f( 1 ));",
    'assert_eq!(total, total, "totals differ: {}", total);',
    "assert_eq!(1, 1);",
    "assert!(x == x);",
    "assert!(a.len() >= a.len());",
    'assert!(a <= a, "message {}", b);',
    "debug_assert_eq!(v, v);",
    "prop_assert_eq!(a, a);",
    "prop_assert!(true);",
])
def test_tautology_is_flagged(assertion):
    test = lint_one(unit_test(assertion))
    assert test.tautologies == (assertion.rstrip(";"),)
    assert test.assertions == 1


@pytest.mark.parametrize("assertion", [
    "assert_eq!(add(1, 2), 3);",
    "assert!(x == y);",
    "assert!(a || b == a || b);",  # parses as a || (b == a) || b
    "assert_ne!(x, x);",  # always fails: wrong, but not a tautology
    'assert!(ok(), "{} == {}", x, x);',
    "assert!(false);",
    "assert_eq!(x, y, \"x\", \"x\");",
])
def test_real_assertion_is_not_a_tautology(assertion):
    assert lint_one(unit_test(assertion)).tautologies == ()


def test_tautologies_inside_proptest_block():
    code = rust("""
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(10))]
            #[test]
            fn roundtrip_keeps_value(a in 0..10i32) {
                prop_assume!(a > 1);
                prop_assert_eq!(a, a);
                prop_assert!(decode(encode(a)) == a);
            }
        }
    """)
    test = lint_one(code)
    assert (test.name, test.kind) == ("roundtrip_keeps_value", "proptest")
    assert test.assertions == 2
    assert test.tautologies == ("prop_assert_eq!(a, a)",)


def test_report_totals_tautologies_and_meaningless_asserts():
    code = rust("""
        #[test]
        fn adds_small_numbers() {
            assert!(true);
            assert_eq!(add(1, 2), add(1, 2));
            assert_eq!(add(2, 2), 4);
        }

        #[test]
        fn runs_without_checking() {
            let _ = add(1, 2);
        }
    """)
    report = lint_tests(code)
    assert report.tautologies == 2
    assert report.meaningless_asserts == 3  # two tautologies + one test asserting nothing


# --- assertion counts ---------------------------------------------------------------------------------------


def test_good_test_counts_assertions_and_has_no_findings():
    code = rust("""
        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn parse_rejects_empty_input() {
                assert!(parse("").is_err());
                assert_eq!(parse("7"), Ok(7));
                assert_ne!(parse("8"), Ok(7));
                debug_assert!(true || check());
            }
        }
    """)
    report = lint_tests(code)
    (test,) = report.tests
    assert (test.name, test.kind, test.assertions, test.tautologies) == (
        "parse_rejects_empty_input", "unit", 4, ())
    assert report.meaningless_asserts == 0


def test_unwrap_and_expect_alone_are_not_assertions():
    test = lint_one(unit_test('parse("1").unwrap(); parse("2").expect("parses");'))
    assert test.assertions == 0
    assert lint_tests(unit_test("parse(\"1\").unwrap();")).meaningless_asserts == 1


def test_should_panic_counts_as_an_assertion():
    code = '#[test]\n#[should_panic(expected = "divide by zero")]\nfn divide_by_zero_panics() { divide(1, 0); }\n'
    assert lint_one(code).assertions == 1


def test_assertions_in_nested_macros_and_closures_count():
    test = lint_one(unit_test("(0..3).for_each(|i| assert!(i < 3)); check(|| { assert_eq!(f(), 1); });"))
    assert test.assertions == 2


def test_quickcheck_property_returning_bool_checks_through_its_result():
    code = rust("""
        quickcheck! {
            fn reverse_twice_is_identity(xs: Vec<u32>) -> bool {
                rev(&rev(&xs)) == xs
            }
            fn runs(xs: Vec<u32>) { rev(&xs); }
        }
    """)
    returns_bool, returns_nothing = lint_tests(code).tests
    assert (returns_bool.kind, returns_bool.assertions) == ("quickcheck", 1)
    assert returns_nothing.assertions == 0


def test_test_kinds_from_attributes():
    code = rust("""
        #[tokio::test(flavor = "multi_thread")]
        async fn fetches_page() { assert!(fetch().await.is_ok()); }

        #[quickcheck]
        fn sorts_stably(xs: Vec<u8>) -> bool { sort(&xs).len() == xs.len() }

        fn helper() {}
    """)
    fetches, sorts = lint_tests(code).tests
    assert (fetches.name, fetches.kind) == ("fetches_page", "unit")
    assert (sorts.name, sorts.kind, sorts.assertions) == ("sorts_stably", "quickcheck", 1)


# --- edge cases ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, kind", [
    ("assert_eq!(abs(0), 0);", "zero"),
    ("assert_eq!(scale(0.0_f64), 0.0);", "zero"),
    ("assert_eq!(abs(-5), 5);", "negative"),
    ("let v: Vec<u8> = vec![]; assert!(sum(&v) == 0);", "empty_collection"),
    ("assert_eq!(sum(&[]), 0);", "empty_collection"),
    ("assert_eq!(len(&Vec::<u8>::new()), 0);", "empty_collection"),
    ("assert_eq!(count(HashMap::new()), 0);", "empty_collection"),
    ('assert_eq!(trim(""), "");', "empty_string"),
    ("assert_eq!(trim(&String::new()), \"\");", "empty_string"),
    ("assert_eq!(clamp(i32::MAX), 10);", "min_max"),
    ("assert!(sqrt(f64::NAN).is_nan());", "min_max"),
    ("assert_eq!(find(&xs, 9), None);", "none"),
    ('assert_eq!(parse("x"), Err(ParseError));', "err"),
    ('assert!(parse("x").is_err());', "err"),
    ("assert_eq!(step(1), 2);", "boundary_one"),
    ("assert_eq!(step(-1), 0);", "boundary_one"),
])
def test_edge_case_detected(body, kind):
    assert kind in lint_tests(unit_test(body)).edge_cases


def test_should_panic_is_an_err_edge_case():
    code = "#[test]\n#[should_panic]\nfn divide_by_zero_panics() { divide(8, 4); }\n"
    assert lint_tests(code).edge_cases == ("err",)


def test_plain_values_are_no_edge_cases():
    body = 'let x = 7 - 1; assert_eq!(add(x, 2), 8); assert_eq!(name("bob"), "Bob"); let v = vec![3, 4];'
    assert lint_tests(unit_test(body)).edge_cases == ()


def test_edge_cases_found_in_proptest_parameters_and_sorted():
    code = rust("""
        proptest! {
            #[test]
            fn stays_in_range(a in -10..10i32) { prop_assert!(clamp(a) <= i32::MAX); }
        }
    """)
    assert lint_tests(code).edge_cases == ("min_max", "negative")


# --- names and comments -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, body, descriptive", [
    ("test1", "assert_eq!(add(1, 2), 3);", False),
    ("t", "assert_eq!(add(1, 2), 3);", False),
    ("test", "assert_eq!(add(1, 2), 3);", False),
    ("it_works", "assert_eq!(add(1, 2), 3);", False),
    ("foo", "assert_eq!(add(1, 2), 3);", False),
    ("test_thing", "assert_eq!(add(1, 2), 3);", False),
    ("adds_two_numbers", "assert_eq!(add(1, 2), 3);", True),
    ("test_add", "assert_eq!(add(1, 2), 3);", True),  # names the function it calls
    ("test_parse_config", "assert!(parse_config(\"\").is_err());", True),
])
def test_descriptive_names(name, body, descriptive):
    assert lint_one(unit_test(body, name=name)).descriptive_name is descriptive


def test_descriptive_name_rate():
    code = unit_test("assert!(ok());", name="test1") + unit_test("assert!(ok());", name="accepts_valid_input")
    assert lint_tests(code).descriptive_name_rate == 0.5
    assert lint_tests("fn not_a_test() {}").descriptive_name_rate is None


@pytest.mark.parametrize("code, has_comment", [
    ("// zero is its own absolute value\n#[test]\nfn abs_of_zero() { assert_eq!(abs(0), 0); }\n", True),
    ("#[test]\nfn abs_of_zero() {\n    // zero is its own absolute value\n    assert_eq!(abs(0), 0);\n}\n", True),
    ("/// Zero is its own absolute value.\n#[test]\nfn abs_of_zero() { assert_eq!(abs(0), 0); }\n", True),
    ("// about something else\n\n#[test]\nfn abs_of_zero() { assert_eq!(abs(0), 0); }\n", False),
    ("#[test]\nfn abs_of_zero() { assert_eq!(abs(0), 0); }\n// after the test\n", False),
])
def test_comment_inside_or_directly_above(code, has_comment):
    report = lint_tests(code)
    assert report.tests[0].has_comment is has_comment
    assert report.has_comments is has_comment


def test_comment_in_proptest_block_belongs_to_its_fn():
    code = rust("""
        proptest! {
            // any small number round-trips
            #[test]
            fn roundtrip_keeps_value(a in 0..10i32) { prop_assert_eq!(decode(encode(a)), a); }

            #[test]
            fn encode_never_panics(a: i32) { encode(a); }
        }
    """)
    commented, bare = lint_tests(code).tests
    assert (commented.has_comment, bare.has_comment) == (True, False)


def test_no_tests_found_in_code_without_tests():
    report = lint_tests("fn helper() -> u8 { 1 }\n")
    assert report.tests == ()
    assert (report.tautologies, report.meaningless_asserts, report.has_comments) == (0, 0, False)
