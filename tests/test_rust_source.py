from textwrap import dedent

import pytest

from rtg_core.rust_source import (
    find_test_module,
    function_at,
    functions,
    insert_tests,
    is_test_module,
    macro_test_functions,
    syntax_errors,
)


def rust(text: str) -> str:
    """A fixture written indented in the test, as it would sit in a file."""
    return dedent(text).lstrip("\n")


def only_function(source: str):
    (function,) = functions(source)
    return function


def function_named(source: str, qualified_name: str):
    return next(f for f in functions(source) if f.qualified_name == qualified_name)


# --- functions: one fixture per feature ---------------------------------------------------------------------

FREE_FN = rust("""
    use std::fmt;

    /// Adds two numbers.
    ///
    /// Wraps on overflow.
    #[inline]
    #[must_use]
    pub fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }
""")


def test_free_fn_name_signature_params_and_return_type():
    add = only_function(FREE_FN)
    assert add.name == "add"
    assert add.qualified_name == "add"
    assert add.signature == "pub fn add(a: i32, b: i32) -> i32"
    assert add.params == ("a: i32", "b: i32")
    assert add.return_type == "i32"
    assert add.is_pub
    assert (add.generics, add.has_generics, add.has_lifetimes) == (None, False, False)
    assert (add.is_async, add.is_unsafe, add.is_const) == (False, False, False)
    assert (add.impl_type, add.trait_name) == (None, None)


def test_doc_comment_markers_stripped_and_attributes_kept_in_order():
    add = only_function(FREE_FN)
    assert add.doc_comment == "Adds two numbers.\n\nWraps on overflow."
    assert add.attributes == ("#[inline]", "#[must_use]")


def test_item_range_covers_doc_and_attributes_and_body_range_covers_braces():
    add = only_function(FREE_FN)
    data = FREE_FN.encode()
    assert data[add.start_byte:add.end_byte].decode().startswith("/// Adds two numbers.")
    assert data[add.start_byte:add.end_byte].decode().endswith("a.wrapping_add(b)\n}")
    assert data[add.body_start_byte:add.body_end_byte] == b"{\n    a.wrapping_add(b)\n}"
    assert (add.start_line, add.end_line) == (3, 10)


def test_block_doc_comment_loses_its_stars():
    source = rust("""
        /**
         * Halves a number.
         * Rounds down.
         */
        fn half(x: u32) -> u32 { x / 2 }
    """)
    assert only_function(source).doc_comment == "Halves a number.\nRounds down."


def test_no_doc_comment_is_none():
    assert only_function("fn f() {}").doc_comment is None


def test_generics_and_lifetimes():
    source = "fn longest<'a, T: AsRef<str>>(a: &'a T, b: &'a T) -> &'a str { a.as_ref() }"
    longest = only_function(source)
    assert longest.generics == "<'a, T: AsRef<str>>"
    assert longest.has_generics
    assert longest.has_lifetimes
    assert longest.return_type == "&'a str"


def test_lifetime_in_params_only_counts_without_generics():
    only_lifetime_in_param = only_function("fn first(s: &'static str) -> char { 'x' }")
    assert only_lifetime_in_param.has_lifetimes
    assert not only_lifetime_in_param.has_generics


def test_lifetime_inside_body_is_not_a_signature_lifetime():
    assert not only_function("fn f() { let s: &'static str = \"\"; }").has_lifetimes


def test_async_const_and_unsafe_fn_modifiers():
    source = rust("""
        pub async fn fetch() -> u8 { 1 }
        const fn square(x: u32) -> u32 { x * x }
        unsafe fn raw(p: *const u8) -> u8 { *p }
    """)
    fetch, square, raw = functions(source)
    assert (fetch.is_async, fetch.is_const, fetch.is_unsafe) == (True, False, False)
    assert (square.is_async, square.is_const, square.is_unsafe) == (False, True, False)
    assert (raw.is_async, raw.is_const, raw.is_unsafe) == (False, False, True)
    assert not square.is_pub


def test_unsafe_block_in_body_makes_fn_unsafe():
    source = "fn read(p: *const u8) -> u8 { unsafe { *p } }"
    assert only_function(source).is_unsafe


def test_impl_method_qualified_by_module_and_type_without_generics():
    source = rust("""
        mod geometry {
            pub struct Point<T> { x: T, y: T }

            impl<T: Into<f64> + Copy> Point<T> {
                pub fn distance(&self, other: &Point<T>) -> f64 { 0.0 }
            }
        }
    """)
    distance = only_function(source)
    assert distance.qualified_name == "geometry::Point::distance"
    assert distance.impl_type == "Point"
    assert distance.trait_name is None
    assert distance.params == ("&self", "other: &Point<T>")


def test_trait_default_method_and_trait_impl_method():
    source = rust("""
        trait Shape {
            fn area(&self) -> f64;
            fn describe(&self) -> String { format!("{}", self.area()) }
        }

        impl Shape for Square {
            fn area(&self) -> f64 { self.0 * self.0 }
        }
    """)
    describe, area = functions(source)
    assert (describe.qualified_name, describe.impl_type, describe.trait_name) == ("Shape::describe", None, "Shape")
    assert (area.qualified_name, area.impl_type, area.trait_name) == ("Square::area", "Square", "Shape")


def test_fns_in_nested_modules_in_source_order():
    source = rust("""
        fn top() {}
        mod outer {
            fn a() {}
            mod inner {
                fn b() {}
            }
        }
    """)
    assert [f.qualified_name for f in functions(source)] == ["top", "outer::a", "outer::inner::b"]


def test_fn_in_cfg_test_module_is_test_code_and_only_attributed_fn_is_a_test():
    source = rust("""
        fn add(a: i32, b: i32) -> i32 { a + b }

        #[cfg(test)]
        mod tests {
            use super::*;

            fn helper() -> i32 { 1 }

            #[test]
            fn adds() { assert_eq!(add(helper(), 1), 2); }

            #[tokio::test(flavor = "multi_thread")]
            async fn adds_async() {}
        }
    """)
    add, helper, adds, adds_async = functions(source)
    assert (add.in_test_code, add.is_test) == (False, False)
    assert (helper.in_test_code, helper.is_test) == (True, False)
    assert (adds.in_test_code, adds.is_test) == (True, True)
    assert (adds_async.in_test_code, adds_async.is_test) == (True, True)
    assert adds.qualified_name == "tests::adds"


def test_test_attribute_outside_test_module_marks_test():
    source = "#[quickcheck]\nfn reverses_twice(xs: Vec<u8>) -> bool { true }\n#[cfg(not(test))]\nmod m { fn f() {} }"
    reverses, f = functions(source)
    assert (reverses.is_test, reverses.in_test_code) == (True, True)
    assert (f.is_test, f.in_test_code) == (False, False)


def test_plain_comment_between_attribute_and_fn_keeps_the_attribute():
    source = "// about the test\n#[test]\n// why\nfn checks() {}\n"
    checks = only_function(source)
    assert checks.is_test
    assert checks.start_line == 2


def test_macros_in_body_sorted_unique_including_nested_ones():
    source = rust("""
        fn f(v: Vec<u8>) {
            println!("{:?}", v);
            assert_eq!(v, vec![1, 2]);
            std::println!("again");
        }
    """)
    f = only_function(source)
    assert f.has_macros
    assert f.macro_names == ("assert_eq", "println", "vec")


def test_fn_without_macros():
    f = only_function("fn f() -> u8 { 1 }")
    assert (f.has_macros, f.macro_names) == (False, ())


COMPLEX_FN = rust("""
    fn classify(xs: &[i32], flag: bool) -> Result<i32, String> {
        let mut total = 0;
        for x in xs {                      // +1 for
            if *x > 0 && flag {            // +1 if, +1 &&
                total += x;
            } else if *x < 0 || !flag {    // +1 else-if, +1 ||
                total -= x;
            }
        }
        while total > 100 {                // +1 while
            total /= 2;
        }
        loop { break; }                    // +1 loop
        let parsed: i32 = "4".parse().map_err(|_| String::new())?;  // +1 ?
        match total {                      // +2: three arms, two beyond the first
            0 => Ok(parsed),
            1 | 2 => Ok(1),
            _ => Ok(total),
        }
    }
""")


def test_complexity_counted_by_hand():
    # 1 + for + if + && + else-if + || + while + loop + ? + 2 match arms = 11
    assert only_function(COMPLEX_FN).complexity == 11


def test_straight_line_fn_has_complexity_one_and_nested_fn_branches_are_its_own():
    source = "fn outer() { fn inner(x: bool) { if x {} } inner(true); }"
    outer, inner = functions(source)
    assert outer.complexity == 1
    assert inner.complexity == 2


def test_signature_stops_at_body_and_includes_where_clause():
    source = "fn show<T>(t: T) -> String\nwhere\n    T: Display,\n{\n    t.to_string()\n}"
    assert only_function(source).signature == "fn show<T>(t: T) -> String\nwhere\n    T: Display,"


def test_fn_without_body_is_not_listed():
    assert functions("trait T { fn f(&self); }\nextern \"C\" { fn g(); }") == []


def test_byte_offsets_are_utf8():
    source = "// héllo wörld\nfn f() {}\n"
    f = only_function(source)
    assert source.encode()[f.start_byte:f.end_byte] == b"fn f() {}"


# --- function_at --------------------------------------------------------------------------------------------

NESTED_FNS = rust("""
    /// ünïcode doc
    #[inline]
    fn outer() -> u8 {
        fn inner() -> u8 { 1 }
        inner()
    }

    fn other() {}
""")


def offset_of(source: str, marker: str) -> int:
    return source.encode().index(marker.encode())


def test_function_at_picks_innermost_fn():
    assert function_at(NESTED_FNS, offset_of(NESTED_FNS, "{ 1 }")).name == "inner"
    assert function_at(NESTED_FNS, offset_of(NESTED_FNS, "inner()\n")).name == "outer"


def test_function_at_covers_attributes_and_doc_comment():
    assert function_at(NESTED_FNS, offset_of(NESTED_FNS, "#[inline]")).name == "outer"
    assert function_at(NESTED_FNS, offset_of(NESTED_FNS, "code doc")).name == "outer"


def test_function_at_outside_any_fn_is_none():
    assert function_at(NESTED_FNS, offset_of(NESTED_FNS, "\n\nfn other")) is None
    assert function_at(NESTED_FNS, len(NESTED_FNS.encode()) + 10) is None


# --- test modules -------------------------------------------------------------------------------------------

NEW_TEST = rust("""
    #[test]
    fn adds_negatives() {
        assert_eq!(add(-1, -2), -3);
    }
""")


def test_find_test_module_ranges_and_indent():
    source = "fn f() {}\n\n#[cfg(test)]\nmod checks {\n  use super::*;\n}\n"
    module = find_test_module(source)
    data = source.encode()
    assert module.name == "checks"
    assert data[module.start_byte:module.end_byte] == b"#[cfg(test)]\nmod checks {\n  use super::*;\n}"
    assert data[module.body_start_byte:module.body_end_byte] == b"\n  use super::*;\n"
    assert module.indent == "  "


@pytest.mark.parametrize("source", [
    "fn f() {}\n",
    "#[cfg(test)]\nmod tests;\n",
    "mod tests {\n    #[test]\n    fn t() {}\n}\n",
    "mod inner {\n    #[cfg(test)]\n    mod tests {}\n}\n",
], ids=["no-module", "out-of-line-module", "module-without-cfg-test", "not-top-level"])
def test_find_test_module_not_applicable(source):
    assert find_test_module(source) is None


def test_insert_into_existing_module_with_four_space_indent():
    before = rust("""
        fn add(a: i32, b: i32) -> i32 {
            a + b
        }

        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn adds() {
                assert_eq!(add(1, 2), 3);
            }
        }
    """)
    after = rust("""
        fn add(a: i32, b: i32) -> i32 {
            a + b
        }

        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn adds() {
                assert_eq!(add(1, 2), 3);
            }

            #[test]
            fn adds_negatives() {
                assert_eq!(add(-1, -2), -3);
            }
        }
    """)
    assert insert_tests(before, NEW_TEST) == after


def test_insert_into_existing_module_with_two_space_indent_keeps_relative_indent():
    before = "fn add(a: i32, b: i32) -> i32 { a + b }\n\n#[cfg(test)]\nmod tests {\n  use super::*;\n}\n"
    after = (
        "fn add(a: i32, b: i32) -> i32 { a + b }\n\n#[cfg(test)]\nmod tests {\n  use super::*;\n\n"
        "  #[test]\n  fn adds_negatives() {\n      assert_eq!(add(-1, -2), -3);\n  }\n}\n"
    )
    assert insert_tests(before, NEW_TEST) == after


def test_insert_after_nested_module_at_outer_item_indent():
    before = rust("""
        #[cfg(test)]
        mod tests {
            mod helpers {
                pub fn one() -> i32 { 1 }
            }
        }

        fn after() {}
    """)
    after = rust("""
        #[cfg(test)]
        mod tests {
            mod helpers {
                pub fn one() -> i32 { 1 }
            }

            #[test]
            fn adds_negatives() {
                assert_eq!(add(-1, -2), -3);
            }
        }

        fn after() {}
    """)
    assert insert_tests(before, NEW_TEST) == after


def test_insert_into_empty_module_adds_no_blank_line_after_brace():
    assert insert_tests("#[cfg(test)]\nmod tests {}\n", "#[test]\nfn t() {}") == (
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n"
    )


def test_insert_creates_module_when_none_exists():
    before = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
    after = before + "\n" + rust("""
        #[cfg(test)]
        mod tests {
            use super::*;

            #[test]
            fn adds_negatives() {
                assert_eq!(add(-1, -2), -3);
            }
        }
    """)
    assert insert_tests(before, NEW_TEST) == after


def test_insert_creates_module_in_file_without_trailing_newline():
    before = "pub fn one() -> i32 { 1 }"
    after = before + "\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn t() {}\n}\n"
    assert insert_tests(before, "#[test]\nfn t() {}") == after


def test_insert_dedents_items_given_indented():
    before = "#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"
    items = "        #[test]\n        fn t() {\n            assert!(ok());\n        }\n"
    assert insert_tests(before, items) == (
        "#[cfg(test)]\nmod tests {\n    use super::*;\n\n"
        "    #[test]\n    fn t() {\n        assert!(ok());\n    }\n}\n"
    )


def test_insert_leaves_multiline_string_content_alone():
    items = '#[test]\nfn t() {\n    let s = "first\n  second\nthird";\n\n    assert!(s.len() > 0);\n}\n'
    after = insert_tests("fn f() {}\n", items)
    assert '    let s = "first\n  second\nthird";\n\n        assert!(s.len() > 0);\n' in after


def test_insert_after_non_ascii_text_uses_byte_offsets():
    before = "// ünïcödé\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"
    assert insert_tests(before, "fn t() {}") == (
        "// ünïcödé\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    fn t() {}\n}\n"
    )


@pytest.mark.parametrize("code, expected", [
    ("#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n", True),
    ("  // leading comment\n#[cfg(test)]\n#[allow(unused)]\nmod tests {}\n", True),
    ("#[test]\nfn t() {}\n", False),
    ("mod tests {}\n", False),
    ("#[cfg(test)]\nmod tests {}\nfn more() {}\n", False),
    ("#[cfg(test)]\nmod tests;\n", False),
    ("#[cfg(test)]\nmod tests {\n    fn broken( {}\n}\n", False),
])
def test_is_test_module(code, expected):
    assert is_test_module(code) is expected


# --- syntax errors ------------------------------------------------------------------------------------------


def test_syntax_errors_empty_for_clean_code():
    assert syntax_errors(FREE_FN) == []
    assert syntax_errors(COMPLEX_FN) == []


def test_syntax_errors_report_line_and_column():
    source = "fn ok() {}\nfn broken() {\n    let x = ;\n}\n"
    assert syntax_errors(source) == [(3, 11)]  # tree-sitter's ERROR node starts at the `=`


def test_syntax_errors_report_missing_token():
    errors = syntax_errors("fn f() {\n    let x = 1\n}\n")
    assert errors and all(line == 2 for line, _ in errors)


# --- tests inside macros ------------------------------------------------------------------------------------

PROPTEST_BLOCK = rust("""
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn parses_any_number(a in 0..10i32, s in "[a-z]*") {
            prop_assert!(a >= 0);
        }

        #[test]
        fn never_panics(x: u8) { let _ = x; }
    }

    quickcheck! {
        fn reverse_twice(xs: Vec<u32>) -> bool { xs == xs }
    }
""")


def test_macro_test_functions_finds_each_fn_and_skips_config():
    parses, never, reverse = macro_test_functions(PROPTEST_BLOCK)
    assert (parses.name, parses.macro_name) == ("parses_any_number", "proptest")
    assert parses.params == 'a in 0..10i32, s in "[a-z]*"'
    assert parses.body.strip() == "prop_assert!(a >= 0);"
    assert parses.return_type is None
    assert (never.name, never.params, never.body) == ("never_panics", "x: u8", " let _ = x; ")
    assert (reverse.name, reverse.macro_name, reverse.return_type) == ("reverse_twice", "quickcheck", "bool")


def test_macro_test_byte_ranges_cover_attributes_and_body():
    parses = macro_test_functions(PROPTEST_BLOCK)[0]
    data = PROPTEST_BLOCK.encode()
    item = data[parses.start_byte:parses.end_byte].decode()
    assert item.startswith("#[test]\n    fn parses_any_number(")
    assert item.endswith("prop_assert!(a >= 0);\n    }")
    assert data[parses.body_start_byte:parses.body_end_byte].decode() == "{" + parses.body + "}"


def test_macro_test_functions_ignores_other_macros():
    assert macro_test_functions("macro_rules! m { () => { fn x() {} } }\nfn f() { vec![1]; }") == []
