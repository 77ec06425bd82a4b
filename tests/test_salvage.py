"""Salvage: every complete test item of a cut or partly broken reply is kept (before/after fixtures)."""
from __future__ import annotations

from rtg_core.prompt import parse_answer
from rtg_core.test_items import close_cut_test, salvage, split_items
from rtg_core.test_repairs import read_reply

# The real 0.5B's reply for `double`, cut by the token budget inside an unclosed module.
CUT_IN_A_MODULE = """```rust
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_0() {
        assert_eq!(double(0), 0);
    }

    #[test]
    fn double_1() {
        assert_eq!(double(1), 2);
    }

    #[test]
    fn double_2() {
        assert_eq!(double(2), 4
"""


def test_an_unclosed_test_module_is_opened_and_the_cut_test_dropped():
    items = split_items(parse_answer(CUT_IN_A_MODULE))
    assert [item.names for item in items] == [("double_0",), ("double_1",)]
    assert salvage(parse_answer(CUT_IN_A_MODULE)) == (
        "#[test]\nfn double_0() {\n    assert_eq!(double(0), 0);\n}\n\n"
        "#[test]\nfn double_1() {\n    assert_eq!(double(1), 2);\n}")


def test_items_of_a_module_come_out_at_column_zero_with_string_content_unchanged():
    code = ("mod tests {\n    #[test]\n    fn aligned() {\n        assert!(f());\n    }\n\n"
            "    #[test]\n    fn spans() {\n        let s = \"a\n    b\";\n        assert!(g(s));\n    }\n\n"
            "    #[test]\n    #[should_panic(expected = \"boom\n    here\")]\n    fn also_spans() {\n        h();\n    }\n}\n")
    aligned, spans, also_spans = split_items(code)
    assert aligned.text == "#[test]\nfn aligned() {\n    assert!(f());\n}"
    assert spans.text == "#[test]\nfn spans() {\n    let s = \"a\n    b\";\n    assert!(g(s));\n}"
    assert also_spans.text == "#[test]\n#[should_panic(expected = \"boom\n    here\")]\nfn also_spans() {\n    h();\n}"


def test_a_broken_item_in_the_middle_loses_only_itself():
    code = """#[test]
fn first() {
    assert_eq!(double(1), 2);
}

#[test]
fn broken() {
    let x = ;
}

#[test]
fn last() {
    assert_eq!(double(3), 6);
}
"""
    assert [item.names for item in split_items(code)] == [("first",), ("last",)]


def test_a_closed_module_and_a_proptest_block_survive_whole():
    code = """#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn doubling_is_even(x in -1000i32..1000) {
            prop_assert_eq!(double(x) % 2, 0);
        }
    }
}
"""
    items = split_items(code)
    assert [item.names for item in items] == [(), ("doubling_is_even",)]
    assert items[0].text == "use proptest::prelude::*;"


def test_prose_outside_fences_never_reaches_the_items():
    reply = "Sure! Here are the tests:\n```rust\n#[test]\nfn t() { assert!(true); }\n```\nEach test checks one case."
    assert salvage(parse_answer(reply)) == "#[test]\nfn t() { assert!(true); }"


def test_complete_statements_of_a_cut_test_and_prose_are_not_items():
    reply = ("the function works;\n#[test]\nfn a() {\n    assert_eq!(double(1), 2);\n}\n\n"
             "#[test]\nfn b() {\n    let x = double(2);\n    assert_eq!(x, 4);\n    assert_eq!(double(3), ")
    assert [item.text for item in split_items(reply)] == ["#[test]\nfn a() {\n    assert_eq!(double(1), 2);\n}"]


def test_a_helper_module_stays_and_a_module_of_tests_is_opened():
    code = ("mod helpers {\n    pub fn two() -> i32 { 2 }\n}\n\n"
            "mod my_tests {\n    #[test]\n    fn a() {\n        assert_eq!(double(helpers::two()), 4);\n    }\n}\n")
    items = split_items(code)
    assert [item.names for item in items] == [(), ("a",)]
    assert items[0].text.startswith("mod helpers {")


def test_a_reply_with_nothing_complete_salvages_to_nothing():
    assert split_items("#[test]\nfn cut() {\n    assert_eq!(") == []
    assert salvage("") == ""


# --- a cut last test, closed after its last complete statement ---------------------------------------------------

# The real 0.5B's reply for HumanEval's `below_zero`: one long test, cut by the budget mid-assertion.
CUT_IN_ITS_ONLY_TEST = """```rust
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_below_zero() {
        assert_eq!(below_zero(vec![1, -2, 3]), true);
        // all positive
        assert_eq!(below_zero(vec![1, 2, 3]), false);
        assert_eq!(below_zero(vec![1, 2,"""


def test_a_cut_last_test_is_closed_after_its_last_complete_statement():
    reply = read_reply(CUT_IN_ITS_ONLY_TEST, "")
    assert [item.names for item in reply.items] == [("test_below_zero",)]
    assert reply.tests == ("#[test]\nfn test_below_zero() {\n"
                           "    assert_eq!(below_zero(vec![1, -2, 3]), true);\n    // all positive\n"
                           "    assert_eq!(below_zero(vec![1, 2, 3]), false);\n}")


def test_a_cut_test_is_not_closed_without_a_complete_assertion_or_when_the_reply_ended():
    before_any_assertion = "#[test]\nfn t() {\n    let v = vec![1, 2];\n    assert_eq!(below_zero(v"
    assert read_reply(before_any_assertion, "").items == []
    assert close_cut_test("#[test]\nfn t() {\n    assert!(f());\n}\n") is None  # whole: split_items has it
    ended = CUT_IN_ITS_ONLY_TEST + "\n<|im_end|>"  # a broken reply that ended its turn was not cut
    assert read_reply(ended, "").items == []


def test_a_cut_statement_inside_a_loop_drops_the_whole_loop():
    cut = ("#[test]\nfn t() {\n    assert_eq!(f(1), 2);\n    for i in 0..3 {\n        assert_eq!(f(i), 2 * i);\n"
           "        assert_eq!(f(")
    assert close_cut_test(cut).text == "#[test]\nfn t() {\n    assert_eq!(f(1), 2);\n}"


# --- degenerate loops -------------------------------------------------------------------------------------------

def _numbered_tests(count: int) -> str:
    return "\n\n".join(f"#[test]\nfn double_{n}() {{\n    assert_eq!(double({n}), {2 * n});\n}}" for n in range(count))


def test_a_run_of_one_test_shape_with_new_numbers_is_a_loop():
    from rtg_core.generation import is_degenerate

    assert not is_degenerate(_numbered_tests(5))  # 20 lines: not yet
    assert is_degenerate(_numbered_tests(6) + "\n")
    assert not is_degenerate(_numbered_tests(6)[:-1])  # the half-written last line is not compared
    assert is_degenerate(_numbered_tests(7)[:-1])
    table = "#[test]\nfn table() {\n" + "".join(f"    assert_eq!(double({n}), {2 * n});\n" for n in range(40))
    assert not is_degenerate(table)  # one long test of assertions is no loop


def test_different_tests_are_no_loop_however_many():
    from rtg_core.generation import is_degenerate

    shapes = ["assert_eq!(double({n}), {m});", "assert!(double({n}) >= {n});", "assert_ne!(double({n}), {m} + 1);",
              "let v = double({n});\n    assert_eq!(v % 2, 0);"]
    tests = [f"#[test]\nfn case_{n}() {{\n    {shapes[n % 3 if n % 5 else 3].format(n=n, m=2 * n)}\n}}"
             for n in range(20)]
    assert not is_degenerate("\n\n".join(tests))


def test_a_row_stopped_early_loses_the_padding_generate_appended():
    from rtg_core.generation import reply_tokens

    assert reply_tokens([5, 6, 9, 0, 0], end_id=9, pad_id=0) == [5, 6, 9]
    assert reply_tokens([5, 6, 7, 0, 0], end_id=9, pad_id=0) == [5, 6, 7]
    assert reply_tokens([5, 6, 7], end_id=9, pad_id=0) == [5, 6, 7]
