"""Best-of-n selection: the set-cover rule on fixed kill matrices, composing the chosen tests, and every test of
several replies judged on its own with real cargo and the judge's mutants."""
from __future__ import annotations

from rtg_core.cargo_env import Diagnostic, Edit, Fix
from rtg_core.test_items import TestItem as Item, split_items
from rtg_eval.judge import JudgeConfig
from rtg_eval.samples import JudgeSample
from rtg_eval.selection import (CandidateTest, Reply, compose, judge_candidates, select_tests, selection_figures,
                                settle_errors, with_rustc_fixes)


def an_item(name: str, body: str = "assert!(true);", lines: int = 1) -> Item:
    filler = "".join(f"\n    let _x{i} = {i};" for i in range(lines - 1))
    return Item(f"#[test]\nfn {name}() {{{filler}\n    {body}\n}}", (name,))


def verdict(name: str, kills=(), candidate=0, position=0, lines=1, passes=True, body=None, shared=()) -> CandidateTest:
    return CandidateTest(candidate, position, an_item(name, body or f"check({name!r});", lines), tuple(shared),
                         builds=True, passes=passes, kills=frozenset(kills))


def names(chosen) -> list[str]:
    return [t.item.names[0] for t in chosen]


def test_greedy_cover_takes_the_biggest_killer_then_what_adds_kills():
    tests = [verdict("a", {1, 2}, position=0), verdict("b", {1, 2, 3}, position=1), verdict("c", {4}, position=2),
             verdict("d", {3, 4}, position=3, lines=9)]
    assert names(select_tests(tests)) == ["b", "c"]


def test_ties_go_to_the_shorter_test_then_the_earlier_reply():
    tests = [verdict("long", {1}, candidate=0, lines=5), verdict("short", {1}, candidate=1, lines=2),
             verdict("also_short", {1}, candidate=2, lines=2)]
    assert names(select_tests(tests)) == ["short"]


def test_failing_or_unbuilt_tests_are_never_chosen_whatever_they_kill():
    tests = [verdict("fails", {1, 2, 3}, passes=False), verdict("kills_one", {1}, position=1)]
    assert names(select_tests(tests)) == ["kills_one"]


def test_without_kills_one_passing_test_per_requested_function_is_kept():
    tests = [verdict("a", body="assert_eq!(double(2), 4);", lines=3),
             verdict("b", body="assert_eq!(double(3), 6);", position=1),
             verdict("c", body="assert_eq!(halve(4), 2);", position=2)]
    assert names(select_tests(tests, functions=("double", "halve"))) == ["b", "c"]
    assert names(select_tests(tests)) == ["b"]  # none asked for: the shortest passing test


def test_a_requested_function_left_uncalled_by_the_cover_gets_its_test():
    tests = [verdict("kills", {1, 2}, body="assert_eq!(double(2), 4);"),
             verdict("calls_new", body="let c = Counter::new();", position=1)]
    assert names(select_tests(tests, functions=("new",))) == ["kills", "calls_new"]


def test_identical_tests_under_other_names_count_once():
    tests = [verdict("first", {1}, body="assert_eq!(double(2), 4);"),
             verdict("second", {1, 2}, candidate=1, body="assert_eq!(double(2), 4);")]
    assert names(select_tests(tests)) == ["first"]


def test_nothing_passes_nothing_is_chosen():
    assert select_tests([verdict("a", {1}, passes=False)]) == []


def test_compose_renames_a_repeated_name_and_keeps_each_shared_item_once():
    helper = Item("fn two() -> i32 {\n    2\n}", ())
    chosen = [verdict("doubles", body="assert_eq!(double(two()), 4);", shared=(helper,)),
              verdict("doubles", candidate=1, body="assert_eq!(double(3), 6);", shared=(helper,))]
    assert compose(chosen) == (
        "fn two() -> i32 {\n    2\n}\n\n"
        "#[test]\nfn doubles() {\n    assert_eq!(double(two()), 4);\n}\n\n"
        "#[test]\nfn doubles_2() {\n    assert_eq!(double(3), 6);\n}")


CLAMP = """pub fn clamp_add(a: i32, b: i32, limit: i32) -> i32 {
    let sum = a + b;
    if sum > limit { limit } else { sum }
}
"""


def test_each_test_of_each_reply_is_judged_on_its_own_and_selection_kills_the_most(tmp_path):
    reply_0 = split_items(
        "#[test]\nfn adds() {\n    assert_eq!(clamp_add(1, 2, 10), 3);\n}\n\n"
        "#[test]\nfn wrong_type() {\n    let s: String = clamp_add(1, 2, 3);\n}\n\n"  # does not build
        "#[test]\nfn wrong_value() {\n    assert_eq!(clamp_add(1, 2, 10), 4);\n}")  # fails
    reply_1 = split_items(
        "fn limit() -> i32 {\n    5\n}\n\n"
        "#[test]\nfn clamps() {\n    assert_eq!(clamp_add(4, 4, limit()), 5);\n    assert_eq!(clamp_add(2, 2, 4), 4);\n"
        "    assert_eq!(clamp_add(2, 3, 4), 4);\n}")
    reply_2 = split_items("// prose the model wrote instead of tests")
    sample = JudgeSample("clamp", CLAMP, "")
    (judgement,) = judge_candidates([(sample, [reply_0, reply_1, reply_2])], JudgeConfig(coverage=False, jobs=1))

    by_name = {t.item.names[0]: t for t in judgement.tests}
    assert set(by_name) == {"adds", "wrong_type", "wrong_value", "clamps"}
    assert by_name["adds"].validated and by_name["clamps"].validated
    assert not by_name["wrong_type"].builds and "does not build" in by_name["wrong_type"].why
    assert by_name["wrong_value"].builds and not by_name["wrong_value"].passes
    assert by_name["wrong_value"].why == "fails on the current code"
    assert by_name["clamps"].kills - by_name["adds"].kills  # the boundary test kills what the plain one misses
    assert judgement.problems == {2: "no test in the reply"}
    assert judgement.mutants_scored[0] == judgement.mutants_scored[1] > 0 and 2 not in judgement.mutants_scored

    chosen = select_tests(judgement.tests, functions=("clamp_add",))
    killed = set().union(*(t.kills for t in chosen))
    assert killed == set().union(*(t.kills for t in judgement.tests if t.validated))
    assert "clamps" in names(chosen)
    figures = selection_figures(judgement, chosen)
    assert figures["tests_generated"] == 4 and figures["tests_building"] == 3 and figures["tests_passing"] == 2
    assert figures["mutants_killed_by_selection"] == len(killed)
    assert "fn limit()" in compose(chosen)  # the helper its test needs comes along


def test_an_error_inside_assert_eq_is_traced_to_its_test_not_to_the_macro():
    # rustc's primary span for `==` on a type without PartialEq lies in core's macros/mod.rs under the sysroot
    reply = split_items("struct Opaque;\n\n"
                        "#[test]\nfn compares_the_incomparable() {\n    assert_eq!(Opaque, Opaque);\n}\n\n"
                        "#[test]\nfn adds() {\n    assert_eq!(clamp_add(1, 2, 10), 3);\n}")
    (judgement,) = judge_candidates([(JudgeSample("clamp", CLAMP, ""), [reply])], JudgeConfig(coverage=False, jobs=1))
    by_name = {t.item.names[0]: t for t in judgement.tests}
    assert by_name["adds"].validated
    assert not by_name["compares_the_incomparable"].builds
    assert "cannot be applied to type `Opaque`" in by_name["compares_the_incomparable"].why


TOTAL = """pub fn total(values: &[i32]) -> i32 {
    values.iter().sum()
}
"""


def test_tests_rustc_knows_how_to_fix_are_fixed_and_the_rest_dropped():
    reply = split_items(
        "#[test]\nfn sums_a_vec() {\n    let values = vec![1, 2, 3];\n    assert_eq!(total(values), 6);\n}\n\n"
        "#[test]\nfn sums_what_was_pushed() {\n    let values = Vec::new();\n    values.push(4);\n"
        "    assert_eq!(total(&values), 4);\n}\n\n"
        # the borrow rustc could fix, but not the misspelt name: the test goes
        "#[test]\nfn half_fixable() {\n    let values = vec![1];\n    assert_eq!(total(values), totl(&[1]));\n}")
    (judgement,) = judge_candidates([(JudgeSample("total", TOTAL, ""), [reply])],
                                    JudgeConfig(coverage=False, mutation=False, jobs=1))

    by_name = {t.item.names[0]: t for t in judgement.tests}
    assert by_name["sums_a_vec"].validated and by_name["sums_a_vec"].rustc_fixes == ("consider borrowing here",)
    assert by_name["sums_a_vec"].item.text == (
        "#[test]\nfn sums_a_vec() {\n    let values = vec![1, 2, 3];\n    assert_eq!(total(&values), 6);\n}")
    assert by_name["sums_what_was_pushed"].validated
    assert "    let mut values = Vec::new();\n" in by_name["sums_what_was_pushed"].item.text
    assert not by_name["half_fixable"].builds and by_name["half_fixable"].rustc_fixes == ()
    assert "does not build" in by_name["half_fixable"].why and "total(values)" in by_name["half_fixable"].item.text
    assert selection_figures(judgement, select_tests(judgement.tests))["tests_fixed_by_rustc"] == 2

    (unfixed,) = judge_candidates([(JudgeSample("total", TOTAL, ""), [reply])],
                                  JudgeConfig(coverage=False, mutation=False, jobs=1, rustc_fixes=False))
    assert not any(t.builds for t in unfixed.tests if t.item.names[0] != "half_fixable")

    whole = with_rustc_fixes(reply, judgement)  # the reply at n = 1, judged as a whole
    assert "assert_eq!(total(&values), 6);" in whole and "let mut values = Vec::new();" in whole
    assert "assert_eq!(total(values), totl(&[1]));" in whole  # what rustc could not fix stays as written


def settled(test_text: str, *errors) -> CandidateTest:
    """settle_errors on a one-test reply laid out at byte 100 of file m.rs (its `values` at byte 131)."""
    item = Item(test_text, ("t",))
    reply = Reply("m", JudgeSample("s", "", ""), 0, [CandidateTest(0, 0, item, ())], [])
    settle_errors(reply, list(errors), [(100, 100 + len(test_text.encode()), item)])
    return reply.tests[0]


def error_with(*fixes: Fix, at: int = 131) -> Diagnostic:
    return Diagnostic("error", "mismatched types", "error[E0308]: mismatched types", "m.rs", 3, at, at + 6, fixes)


def test_one_suggestion_shared_by_two_errors_is_taken_once():
    borrow = Fix("consider borrowing here", (Edit("m.rs", 131, 131, "&"),))
    test = settled("#[test]\nfn t() {\n    let v = f(values);\n}", error_with(borrow), error_with(borrow))
    assert test.item.text == "#[test]\nfn t() {\n    let v = f(&values);\n}" and not test.why


def test_a_suggestion_reaching_outside_the_test_is_not_taken_and_the_test_goes():
    # a multipart suggestion: one part in the test, one in the code under test (bytes < 100)
    wrap = Fix("try wrapping", (Edit("m.rs", 131, 131, "Some("), Edit("m.rs", 40, 40, ")")))
    test = settled("#[test]\nfn t() {\n    let v = f(values);\n}", error_with(wrap))
    assert "does not build" in test.why and test.rustc_fixes == ()


def test_two_different_suggestions_for_one_place_are_not_taken():
    test = settled("#[test]\nfn t() {\n    let v = f(values);\n}",
                   error_with(Fix("consider borrowing here", (Edit("m.rs", 131, 131, "&"),))),
                   error_with(Fix("consider borrowing mutably", (Edit("m.rs", 131, 131, "&mut "),))))
    assert "does not build" in test.why
