"""The mutant catalogue and its schemata, without cargo: code in, mutated code out.

Each operator has before/after fixtures; each refusal (test code, const contexts, a match without `_`) has a
"not applicable" test.
"""
import pytest

from rtg_core.rust_source import syntax_errors
from rtg_eval.mutation import ACTIVE_FN, generate_mutants, render_schema
from rust_fixtures import rust


def mutated(code: str, operator: str) -> list[str]:
    """`code` with each mutant of `operator` applied alone, in source order."""
    return [m.apply(code) for m in generate_mutants(code).mutants if m.operator == operator]


def operators(code: str) -> list[str]:
    return [m.operator for m in generate_mutants(code).mutants]


def body_values(return_type: str) -> list[str]:
    """The values a fn returning `return_type` has its body replaced with."""
    code = f"fn f() -> {return_type} {{ todo!() }}" if return_type else "fn f() { todo!() }"
    replacements = [m.replacement for m in generate_mutants(code).mutants if m.operator.startswith("replace f body")]
    assert all(r.startswith("{ ") and r.endswith(" }") for r in replacements)
    return [r[2:-2] for r in replacements]


# --- binary and unary operators -----------------------------------------------------------------------------


def test_addition_becomes_subtraction_and_multiplication():
    before = "fn f(a: i32, b: i32) -> i32 { a + b }"
    assert mutated(before, "replace + with -") == ["fn f(a: i32, b: i32) -> i32 { (a) - (b) }"]
    assert mutated(before, "replace + with *") == ["fn f(a: i32, b: i32) -> i32 { (a) * (b) }"]


def test_swapped_operator_keeps_its_operands_grouped():
    before = "fn f(a: i32, b: i32, c: i32) -> i32 { a + b - c }"
    assert mutated(before, "replace - with /") == ["fn f(a: i32, b: i32, c: i32) -> i32 { (a + b) / (c) }"]
    assert mutated(before, "replace + with *") == ["fn f(a: i32, b: i32, c: i32) -> i32 { (a) * (b) - c }"]


@pytest.mark.parametrize("before, operator, after", [
    ("fn f(a: i32) -> bool { a == 1 }", "replace == with !=", "fn f(a: i32) -> bool { (a) != (1) }"),
    ("fn f(a: i32) -> bool { a != 1 }", "replace != with ==", "fn f(a: i32) -> bool { (a) == (1) }"),
    ("fn f(a: bool, b: bool) -> bool { a && b }", "replace && with ||", "fn f(a: bool, b: bool) -> bool { (a) || (b) }"),
    ("fn f(a: bool, b: bool) -> bool { a || b }", "replace || with &&", "fn f(a: bool, b: bool) -> bool { (a) && (b) }"),
    ("fn f(a: i32) -> bool { a <= 1 }", "replace <= with >", "fn f(a: i32) -> bool { (a) > (1) }"),
    ("fn f(a: i32) -> bool { a < 1 }", "replace < with ==", "fn f(a: i32) -> bool { (a) == (1) }"),
    ("fn f(a: i32) -> bool { a < 1 }", "replace < with >", "fn f(a: i32) -> bool { (a) > (1) }"),
    ("fn f(a: u8) -> u8 { a << 1 }", "replace << with >>", "fn f(a: u8) -> u8 { (a) >> (1) }"),
])
def test_comparison_logic_and_shift_swaps(before, operator, after):
    assert mutated(before, operator) == [after]


def test_compound_assignment_swaps_without_grouping():
    before = "fn f(mut y: i32) -> i32 { y += 2; y }"
    assert mutated(before, "replace += with -=") == ["fn f(mut y: i32) -> i32 { y -= 2; y }"]
    assert mutated(before, "replace += with *=") == ["fn f(mut y: i32) -> i32 { y *= 2; y }"]


def test_logical_not_is_deleted():
    before = "fn f(a: bool, b: bool) -> bool { !a && b }"
    assert mutated(before, "delete !") == ["fn f(a: bool, b: bool) -> bool { (a) && b }"]


def test_negation_is_deleted():
    assert mutated("fn f(x: i32) -> i32 { -x }", "delete -") == ["fn f(x: i32) -> i32 { (x) }"]


# --- match arms and guards ----------------------------------------------------------------------------------

MATCH_WITH_WILDCARD = "fn f(x: i32) -> u8 { match x { 0 => 1, n if n > 5 => 2, _ => 3 } }"


def test_each_arm_but_the_wildcard_is_deleted():
    assert mutated(MATCH_WITH_WILDCARD, "delete match arm") == [
        "fn f(x: i32) -> u8 { match x {  n if n > 5 => 2, _ => 3 } }",
        "fn f(x: i32) -> u8 { match x { 0 => 1,  _ => 3 } }",
    ]


def test_guard_becomes_true_and_false():
    assert mutated(MATCH_WITH_WILDCARD, "replace match guard with true") == [
        "fn f(x: i32) -> u8 { match x { 0 => 1, n if true => 2, _ => 3 } }"]
    assert mutated(MATCH_WITH_WILDCARD, "replace match guard with false") == [
        "fn f(x: i32) -> u8 { match x { 0 => 1, n if false => 2, _ => 3 } }"]


def test_guarded_wildcard_arm_is_not_the_catch_all_and_may_be_deleted():
    before = "fn f(x: i32) -> u8 { match x { _ if x > 5 => 2, _ => 3 } }"
    assert mutated(before, "delete match arm") == ["fn f(x: i32) -> u8 { match x {  _ => 3 } }"]


@pytest.mark.parametrize("before", [
    "fn f(x: i32) -> u8 { match x { 0 => 1, n => 2 } }",  # a binding catches all, but no `_` arm
    "fn f(x: Option<u8>) -> u8 { match x { Some(_) => 1, None => 2 } }",  # `_` only nested in a pattern
])
def test_arm_deletion_not_applicable_without_wildcard_arm(before):
    assert "delete match arm" not in operators(before)


def test_guard_replacement_applies_without_wildcard_arm():
    before = "fn f(x: i32) -> u8 { match x { n if n > 5 => 2, n => 3 } }"
    assert "delete match arm" not in operators(before)
    assert operators(before).count("replace match guard with true") == 1


# --- body replacement by return type ------------------------------------------------------------------------


@pytest.mark.parametrize("return_type, values", [
    ("", ["()"]),
    ("()", ["()"]),
    ("bool", ["true", "false"]),
    ("i32", ["0", "1", "-1"]),
    ("i64", ["0", "1", "-1"]),
    ("u8", ["0", "1"]),
    ("usize", ["0", "1"]),
    ("f64", ["0.0", "1.0", "-1.0"]),
    ("String", ["String::new()", '"xyzzy".into()']),
    ("&str", ['""', '"xyzzy"']),
    ("&'static str", ['""', '"xyzzy"']),
    ("Option<i32>", ["None", "Some(0)", "Some(1)", "Some(-1)"]),
    ("Option<u8>", ["None", "Some(0)", "Some(1)"]),
    ("Result<u8, String>", ["Ok(0)", "Ok(1)"]),
    ("Result<bool, String>", ["Ok(true)", "Ok(false)"]),
    ("Vec<bool>", ["vec![]", "vec![true]", "vec![false]"]),
    ("Vec<u8>", ["vec![]", "vec![0]", "vec![1]"]),
    ("Point", ["Default::default()"]),
])
def test_body_replacement_values_by_return_type(return_type, values):
    assert body_values(return_type) == values


def test_body_replacement_replaces_the_whole_block():
    assert mutated("fn f(a: u8) -> u8 { a + 1 }", "replace f body with 1") == ["fn f(a: u8) -> u8 { 1 }"]


# --- what is never mutated ----------------------------------------------------------------------------------


def test_cfg_test_module_is_not_mutated():
    code = rust("""
        pub fn real(a: i32) -> i32 { a - 1 }

        #[cfg(test)]
        mod tests {
            use super::*;
            fn helper(a: i32) -> bool { a + 1 > 0 && !false }
            #[test]
            fn t() { assert!(helper(real(1))); }
        }
    """)
    assert {m.function for m in generate_mutants(code).mutants} == {"real"}


def test_test_fns_are_not_mutated():
    code = rust("""
        #[test]
        fn top_level_test() { assert!(1 + 1 == 2); }

        #[test]
        #[should_panic]
        fn attributes_after_test() { assert!(1 - 1 == 2); }

        pub fn real(a: i32) -> i32 { a - 1 }
    """)
    assert {m.function for m in generate_mutants(code).mutants} == {"real"}


@pytest.mark.parametrize("code", [
    "const fn f(a: i32) -> i32 { a + 1 }",
    "pub const fn f(a: i32) -> bool { a > 1 && !(a == 3) }",
    "const LIMIT: i32 = 1 + 2;",
    "static SCALE: i32 = 3 * 4;",
])
def test_const_fns_and_items_are_not_mutated(code):
    assert generate_mutants(code).mutants == ()


@pytest.mark.parametrize("code", [
    "fn g(a: [u8; 2 + 1]) -> u8 { a[0] }",
    "fn g() -> u8 { const { 2 + 1 } }",
])
def test_const_contexts_inside_a_fn_are_not_mutated(code):
    assert operators(code) == ["replace g body with 0", "replace g body with 1"]


def test_const_item_inside_a_fn_is_not_mutated_but_the_fn_is():
    code = "fn f(a: i32) -> i32 { const K: i32 = 2 * 3; a + K }"
    assert [m.replacement for m in generate_mutants(code).mutants if m.operator.startswith("replace ")
            and "body" not in m.operator] == ["(a) - (K)", "(a) * (K)"]


# --- schemata -----------------------------------------------------------------------------------------------

NESTED = rust("""
    pub fn score(v: &[i32], k: i32) -> i32 {
        let mut total = 0;
        for (i, x) in v.iter().enumerate() {
            total += match *x {
                0 => 1,
                n if n > k && !(n % 2 == 0) => n * (k + 1) - i as i32,
                _ => -x,
            };
        }
        total
    }
""")


def test_schema_with_no_mutants_chosen_is_the_code_unchanged():
    mutants = generate_mutants(NESTED)
    assert mutants.mutants
    schema = render_schema(mutants, set(), {})
    assert schema.code == NESTED
    assert schema.mutant_ranges == {}


def test_each_mutant_owns_ranges_that_hold_its_switch():
    mutants = generate_mutants(NESTED)
    chosen = set(range(len(mutants.mutants)))
    ids = {index: 100 + index for index in chosen}
    schema = render_schema(mutants, chosen, ids)
    data = schema.code.encode()
    assert set(schema.mutant_ranges) == chosen
    for index, ranges in schema.mutant_ranges.items():
        assert ranges
        for start, end in ranges:
            assert f"{ACTIVE_FN}({ids[index]})" in data[start:end].decode(), mutants.mutants[index].describe()


def test_ranges_account_for_the_base_offset_and_a_subset_of_mutants():
    mutants = generate_mutants(NESTED)
    chosen = set(range(0, len(mutants.mutants), 3))
    ids = {index: 7 + 2 * index for index in chosen}
    prefix = "// the file's earlier items\n"
    schema = render_schema(mutants, chosen, ids, base_offset=len(prefix.encode()))
    data = (prefix + schema.code).encode()
    assert set(schema.mutant_ranges) == chosen
    for index, ranges in schema.mutant_ranges.items():
        for start, end in ranges:
            assert f"{ACTIVE_FN}({ids[index]})" in data[start:end].decode()
    unchosen = set(range(len(mutants.mutants))) - chosen
    assert not any(f"{ACTIVE_FN}({7 + 2 * index})" in schema.code for index in unchosen)


def test_schema_and_each_applied_mutant_parse():
    mutants = generate_mutants(NESTED)
    chosen = set(range(len(mutants.mutants)))
    assert syntax_errors(render_schema(mutants, chosen, {i: i + 1 for i in chosen}).code) == []
    for mutant in mutants.mutants:
        assert syntax_errors(mutant.apply(NESTED)) == [], mutant.describe()
