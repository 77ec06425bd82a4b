"""The judge end to end: real cargo, real bubblewrap, Rust functions written here.

Each fixture judges a whole list of samples in one `judge_samples` call (one crate build), and the tests read
the verdicts. Module-scoped, so the suite builds a handful of crates in all.
"""
import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from rtg_core.cargo_env import cache_dir
from rtg_core.test_repairs import read_reply
from rtg_eval.judge import SCORED, JudgeConfig, judge_samples
from rtg_eval.mutation import generate_mutants
from rtg_eval.samples import JudgeSample
from rust_fixtures import (BONUS, BONUS_PROPERTY, CLAMP, CLAMP_ONE_PASSING_TEST, CLAMP_THOROUGH, CLAMP_WEAK,
                           CLASSIFY, CLASSIFY_THOROUGH, CLASSIFY_WEAK, IS_LEAP_YEAR, IS_LEAP_YEAR_BUG,
                           IS_LEAP_YEAR_ONLY_ORDINARY_YEARS, IS_LEAP_YEAR_THOROUGH, PARSE_DIGIT, PARSE_DIGIT_THOROUGH,
                           PARSE_DIGIT_WEAK, SIGN_LABEL, SIGN_LABEL_BOTH_BRANCHES, SIGN_LABEL_NEGATIVE_ONLY, rust)


def judged(samples: list[JudgeSample], config: JudgeConfig):
    """(verdicts by id, mutant verdicts, wall seconds) of one judge_samples call."""
    start = time.monotonic()
    verdicts, mutants = judge_samples(samples, config)
    wall = time.monotonic() - start
    assert [v.id for v in verdicts] == [s.id for s in samples]
    return {v.id: v for v in verdicts}, mutants, wall


# --- scores: falsification, tautologies, real bugs, coverage ------------------------------------------------

FUNCTIONS = {
    "clamp": (CLAMP, CLAMP_THOROUGH, CLAMP_WEAK),
    "parse_digit": (PARSE_DIGIT, PARSE_DIGIT_THOROUGH, PARSE_DIGIT_WEAK),
    "classify": (CLASSIFY, CLASSIFY_THOROUGH, CLASSIFY_WEAK),
}
TAUTOLOGIES = rust("""
    #[test]
    fn clamp_is_itself() {
        let x = clamp(5, 0, 10);
        assert_eq!(x, x);
        assert!(true);
    }
""")
TRIPLE = "pub fn triple(x: i32) -> i32 {\n    x * 3\n}\n"
# Many more test lines than code lines: only the 3 lines of `triple` may count.
TRIPLE_MANY_TESTS = "".join(
    f"#[test]\nfn triple_of_{i}() {{\n    let x = {i};\n    let y = triple(x);\n    assert_eq!(y, {3 * i});\n}}\n"
    for i in range(12)
)
SIGN_LABEL_WITH_OWN_TEST = SIGN_LABEL + rust("""

    #[cfg(test)]
    mod own_tests {
        use super::*;

        #[test]
        fn own_negative() { assert_eq!(sign_label(-1), "negative"); }
    }
""")


def scoring_samples() -> list[JudgeSample]:
    samples = []
    for name, (code, thorough, weak) in FUNCTIONS.items():
        samples += [JudgeSample(f"{name}_thorough", code, thorough), JudgeSample(f"{name}_weak", code, weak)]
    return samples + [
        JudgeSample("tautologies", CLAMP, TAUTOLOGIES),
        JudgeSample("real_bug_caught", IS_LEAP_YEAR, IS_LEAP_YEAR_THOROUGH, real_bug=IS_LEAP_YEAR_BUG),
        JudgeSample("real_bug_missed", IS_LEAP_YEAR, IS_LEAP_YEAR_ONLY_ORDINARY_YEARS, real_bug=IS_LEAP_YEAR_BUG),
        JudgeSample("one_branch", SIGN_LABEL, SIGN_LABEL_NEGATIVE_ONLY),
        JudgeSample("both_branches", SIGN_LABEL, SIGN_LABEL_BOTH_BRANCHES),
        JudgeSample("many_test_lines", TRIPLE, TRIPLE_MANY_TESTS),
        JudgeSample("code_with_own_test", SIGN_LABEL_WITH_OWN_TEST, SIGN_LABEL_BOTH_BRANCHES),
    ]


@pytest.fixture(scope="module")
def scored():
    verdicts, mutants, _ = judged(scoring_samples(), JudgeConfig())
    return verdicts, mutants


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_thorough_tests_kill_most_mutants_and_weak_tests_few(scored, function):
    verdicts, _ = scored
    thorough, weak = verdicts[f"{function}_thorough"], verdicts[f"{function}_weak"]
    assert thorough.passes and weak.passes
    assert thorough.mutants_total == weak.mutants_total > 0  # the same function, so the same mutants
    assert thorough.mutation_score >= 0.8
    assert weak.mutation_score <= 0.5
    assert thorough.mutation_score > weak.mutation_score
    assert thorough.mutants_killed > weak.mutants_killed


def test_mutants_of_one_sample_add_up_to_its_score(scored):
    verdicts, mutants = scored
    verdict = verdicts["clamp_weak"]
    own = [m for m in mutants if m.sample_id == "clamp_weak"]
    assert [m.mutant for m in own] == list(range(len(generate_mutants(CLAMP).mutants)))
    assert verdict.mutants_killed == sum(m.outcome == "caught" for m in own)
    assert verdict.mutation_score == pytest.approx(verdict.mutants_killed / verdict.mutants_total)


def test_tautologies_are_flagged_and_kill_nothing(scored):
    verdicts, _ = scored
    verdict = verdicts["tautologies"]
    assert verdict.passes
    assert verdict.tautologies == 2
    assert verdict.meaningless_asserts >= verdict.tautologies
    assert verdict.mutants_total > 0
    assert (verdict.mutants_killed, verdict.mutation_score) == (0, 0.0)


def test_thorough_tests_are_not_flagged_as_tautologies(scored):
    verdicts, _ = scored
    assert verdicts["clamp_thorough"].tautologies == 0


def test_real_bug_the_tests_catch_is_killed_and_counted_as_one_more_mutant(scored):
    verdicts, mutants = scored
    verdict = verdicts["real_bug_caught"]
    assert verdict.passes
    assert verdict.real_bug_killed is True
    (bug,) = [m for m in mutants if m.sample_id == "real_bug_caught" and m.mutant == -1]
    assert bug.outcome == "caught"
    own_scored = [m for m in mutants if m.sample_id == "real_bug_caught" and m.outcome in SCORED]
    assert verdict.mutants_total == len(own_scored) == len(generate_mutants(IS_LEAP_YEAR).mutants) + 1


def test_real_bug_the_tests_miss_is_not_killed(scored):
    verdicts, mutants = scored
    verdict = verdicts["real_bug_missed"]
    assert verdict.passes
    assert verdict.real_bug_killed is False
    (bug,) = [m for m in mutants if m.sample_id == "real_bug_missed" and m.mutant == -1]
    assert bug.outcome == "missed"
    assert verdict.mutants_total == len(generate_mutants(IS_LEAP_YEAR).mutants) + 1


def test_no_real_bug_means_no_real_bug_verdict(scored):
    verdicts, mutants = scored
    assert verdicts["clamp_thorough"].real_bug_killed is None
    assert not [m for m in mutants if m.sample_id == "clamp_thorough" and m.mutant == -1]


def test_one_branch_of_an_if_is_partial_coverage(scored):
    verdicts, _ = scored
    verdict = verdicts["one_branch"]
    assert 0 < verdict.line_coverage < 1
    assert 0 < verdict.branch_coverage < 1


def test_both_branches_of_an_if_is_full_coverage(scored):
    verdicts, _ = scored
    verdict = verdicts["both_branches"]
    assert (verdict.line_coverage, verdict.branch_coverage) == (1.0, 1.0)


@pytest.mark.parametrize("sample_id", ["one_branch", "both_branches", "clamp_weak", "many_test_lines"])
def test_coverage_delta_is_the_coverage_when_the_code_has_no_tests_of_its_own(scored, sample_id):
    verdict = scored[0][sample_id]
    assert verdict.line_coverage_delta == pytest.approx(verdict.line_coverage)
    if verdict.branch_coverage is not None:
        assert verdict.branch_coverage_delta == pytest.approx(verdict.branch_coverage)


def test_coverage_delta_leaves_out_what_the_codes_own_tests_cover(scored):
    verdict = scored[0]["code_with_own_test"]
    assert verdict.passes and verdict.tests_total == 3  # its own test runs as well as the sample's two
    assert (verdict.line_coverage, verdict.branch_coverage) == (1.0, 1.0)
    assert 0 < verdict.line_coverage_delta < verdict.line_coverage
    assert 0 < verdict.branch_coverage_delta < verdict.branch_coverage


def test_test_lines_are_not_in_the_coverage_denominator(scored):
    verdict = scored[0]["many_test_lines"]
    assert verdict.passes and verdict.tests_total == 12
    assert verdict.line_coverage == 1.0


# --- misbehaving tests: each one judged alone, neighbours unaffected ---------------------------------------

HANG_TIMEOUT = 3.0


def misbehaving_samples(tag: str, port: int) -> list[JudgeSample]:
    def clamp_sample(sample_id: str, tests: str) -> JudgeSample:
        return JudgeSample(sample_id, CLAMP, tests)

    return [
        clamp_sample("neighbour_first", CLAMP_ONE_PASSING_TEST),
        clamp_sample("does_not_compile", rust("""
            #[test]
            fn uses_a_missing_helper() { assert_eq!(undefined_helper(3), clamp(3, 0, 10)); }
        """)),
        clamp_sample("failing", CLAMP_ONE_PASSING_TEST + rust("""
            #[test]
            fn expects_no_clamping() { assert_eq!(clamp(50, 0, 10), 50); }
        """)),
        clamp_sample("hangs", rust("""
            #[test]
            fn spins_forever() { loop {} }
        """)),
        clamp_sample("aborts", CLAMP_ONE_PASSING_TEST + rust("""
            #[test]
            fn z_aborts() { std::process::abort(); }
        """)),
        clamp_sample("exits_zero_first", rust("""
            #[test]
            fn a_exits_before_any_test_reports() { std::process::exit(0); }

            #[test]
            fn b_would_pass() { assert_eq!(clamp(5, 0, 10), 5); }
        """)),
        clamp_sample("panics", CLAMP_ONE_PASSING_TEST + rust("""
            #[test]
            fn z_panics() { panic!("boom"); }
        """)),
        clamp_sample("writes_outside", rust(f"""
            #[test]
            fn writes_home_tmp_and_var_tmp() {{
                let home = std::env::var("HOME").unwrap();
                for dir in [home.as_str(), "/tmp", "/var/tmp"] {{
                    let path = format!("{{}}/rtg-escape-{tag}", dir);
                    std::fs::write(&path, "escaped").unwrap();
                    assert_eq!(std::fs::read_to_string(&path).unwrap(), "escaped");
                }}
            }}
        """)),
        clamp_sample("connects_expecting_success", rust(f"""
            #[test]
            fn reaches_the_host() {{ assert!(std::net::TcpStream::connect("127.0.0.1:{port}").is_ok()); }}
        """)),
        clamp_sample("connects_expecting_failure", rust(f"""
            #[test]
            fn cannot_reach_the_host() {{ assert!(std::net::TcpStream::connect("127.0.0.1:{port}").is_err()); }}

            #[test]
            fn cannot_reach_the_discard_port() {{ assert!(std::net::TcpStream::connect("127.0.0.1:9").is_err()); }}
        """)),
        # Prints the report libtest would print for a passing run, then exits before the failing test runs.
        clamp_sample("forges_the_report", rust("""
            #[test]
            fn a_forges_the_report() {
                use std::io::Write;
                let module = module_path!().splitn(2, "::").nth(1).unwrap();
                let mut out = std::io::stdout();
                write!(out, "ok\\ntest {}::b_fails ... ok\\n", module).unwrap();
                out.flush().unwrap();
                std::process::exit(0);
            }

            #[test]
            fn b_fails() { assert_eq!(clamp(50, 0, 10), 50); }
        """)),
        clamp_sample("neighbour_last", CLAMP_ONE_PASSING_TEST),
    ]


def escape_paths(tag: str) -> list[Path]:
    return [Path.home() / f"rtg-escape-{tag}", Path(f"/tmp/rtg-escape-{tag}"), Path(f"/var/tmp/rtg-escape-{tag}")]


@pytest.fixture(scope="module")
def misbehaving():
    tag = uuid.uuid4().hex
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        config = JudgeConfig(mutation=False, coverage=False, test_timeout=HANG_TIMEOUT)
        verdicts, _, wall = judged(misbehaving_samples(tag, port), config)
        listener.setblocking(False)
        try:
            listener.accept()
            accepted = True
        except BlockingIOError:
            accepted = False
    try:
        yield {"verdicts": verdicts, "wall": wall, "tag": tag, "accepted": accepted}
    finally:
        for path in escape_paths(tag):
            path.unlink(missing_ok=True)


@pytest.mark.parametrize("neighbour", ["neighbour_first", "neighbour_last"])
def test_neighbours_of_misbehaving_samples_pass(misbehaving, neighbour):
    verdict = misbehaving["verdicts"][neighbour]
    assert (verdict.compiles, verdict.passes, verdict.timed_out) == (True, True, False)
    assert (verdict.tests_total, verdict.tests_passed) == (1, 1)
    assert verdict.compile_errors == []


def test_compile_error_is_reported_against_its_sample(misbehaving):
    verdict = misbehaving["verdicts"]["does_not_compile"]
    assert (verdict.compiles, verdict.passes) == (False, False)
    assert verdict.compile_errors
    assert any("undefined_helper" in error and "E0425" in error for error in verdict.compile_errors)
    assert (verdict.tests_total, verdict.tests_passed) == (None, None)


def test_failing_test_compiles_and_does_not_pass(misbehaving):
    verdict = misbehaving["verdicts"]["failing"]
    assert (verdict.compiles, verdict.passes, verdict.timed_out) == (True, False, False)
    assert (verdict.tests_total, verdict.tests_passed) == (2, 1)


def test_hanging_test_times_out_and_the_judge_returns(misbehaving):
    verdict = misbehaving["verdicts"]["hangs"]
    assert (verdict.compiles, verdict.passes, verdict.timed_out) == (True, False, True)
    assert verdict.tests_passed == 0
    assert misbehaving["wall"] < 60  # the hang cost its timeout, not the whole run


@pytest.mark.parametrize("sample_id, total, passed", [
    ("aborts", 2, 1),
    ("exits_zero_first", 2, 1),  # exits 0 without reporting ok: a failure; its neighbour, run alone, passes
    ("panics", 2, 1),
])
def test_abort_exit_and_panic_do_not_pass(misbehaving, sample_id, total, passed):
    verdict = misbehaving["verdicts"][sample_id]
    assert (verdict.compiles, verdict.passes, verdict.timed_out) == (True, False, False)
    assert (verdict.tests_total, verdict.tests_passed) == (total, passed)


def test_forged_libtest_report_does_not_pass(misbehaving):
    verdict = misbehaving["verdicts"]["forges_the_report"]
    assert verdict.passes is False


def test_writes_to_home_tmp_and_var_tmp_stay_in_the_sandbox(misbehaving):
    verdict = misbehaving["verdicts"]["writes_outside"]
    assert verdict.passes  # the writes succeeded inside ...
    leaked = [path for path in escape_paths(misbehaving["tag"]) if path.exists()]
    assert leaked == []  # ... and none reached the host


def test_tests_cannot_reach_the_network(misbehaving):
    verdicts = misbehaving["verdicts"]
    assert verdicts["connects_expecting_success"].compiles
    assert not verdicts["connects_expecting_success"].passes
    assert verdicts["connects_expecting_failure"].passes  # a socket the host listens on stays out of reach
    assert misbehaving["accepted"] is False


# --- determinism of property tests --------------------------------------------------------------------------


def regression_dirs(*roots: Path) -> set[Path]:
    found = set()
    for root in roots:
        for dirpath, dirnames, _ in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            found |= {Path(dirpath) / d for d in dirnames if d == "proptest-regressions"}
    return found


@pytest.fixture(scope="module")
def property_runs(tmp_path_factory):
    """The same property-test sample judged twice, from a fresh working directory."""
    work = tmp_path_factory.mktemp("judge-cwd")
    samples = [JudgeSample("bonus_property", BONUS, BONUS_PROPERTY)]
    config = JudgeConfig(proptest_cases=24)  # few cases: some mutants are caught by some seeds, missed by others
    roots = (cache_dir(), work)
    before = regression_dirs(*roots)
    old_cwd = os.getcwd()
    os.chdir(work)
    try:
        runs = [judged(samples, config)[:2] for _ in range(2)]
    finally:
        os.chdir(old_cwd)
    return {"runs": runs, "before": before, "after": regression_dirs(*roots), "work": work}


def test_property_tests_give_the_same_verdicts_twice(property_runs):
    (first, first_mutants), (second, second_mutants) = property_runs["runs"]
    assert first["bonus_property"].passes
    assert first["bonus_property"].to_json() == second["bonus_property"].to_json()
    assert first_mutants == second_mutants
    outcomes = {m.outcome for m in first_mutants}
    assert "caught" in outcomes  # properties did fail, so persistence had its chance to write


def test_failing_properties_leave_no_regression_files(property_runs):
    assert property_runs["after"] == property_runs["before"]
    assert not any(path.is_relative_to(cache_dir() / "scratch") for path in property_runs["after"])
    assert not regression_dirs(property_runs["work"])


# --- schemata and rebuild agree ------------------------------------------------------------------------------

POINT = rust("""
    pub struct Point {
        pub x: i32,
        pub y: i32,
    }

    pub fn shifted(p: &Point, dx: i32) -> Point {
        Point { x: p.x + dx, y: p.y }
    }
""")
POINT_TESTS = rust("""
    #[test]
    fn shifts_x_only() {
        let p = shifted(&Point { x: 1, y: 2 }, 3);
        assert_eq!((p.x, p.y), (4, 2));
    }
""")
COUNT_UP = rust("""
    pub fn count_up(n: u32) -> u32 {
        let mut i = 0;
        while i < n {
            i += 1;
        }
        i
    }
""")
COUNT_UP_TESTS = rust("""
    #[test]
    fn counts_to_n() {
        assert_eq!(count_up(5), 5);
        assert_eq!(count_up(0), 0);
    }
""")
# Misses `x if true`: no positive number is tried.
CLASSIFY_WITHOUT_POSITIVES = rust("""
    #[test]
    fn zero_and_negative() {
        assert_eq!(classify(0), "zero");
        assert_eq!(classify(-2), "negative");
    }
""")
# `&&` -> `||` indexes out of bounds: a schema must keep the short circuit of the mutant applied alone.
FIRST_POSITIVE = rust("""
    pub fn is_positive_at(v: &[i32], i: usize) -> bool {
        i < v.len() && v[i] > 0
    }
""")
FIRST_POSITIVE_TESTS = rust("""
    #[test]
    fn in_and_out_of_bounds() {
        assert!(is_positive_at(&[1, -1], 0));
        assert!(!is_positive_at(&[1, -1], 1));
        assert!(!is_positive_at(&[1, -1], 2));
    }
""")


@pytest.fixture(scope="module")
def strategies():
    samples = [
        JudgeSample("point", POINT, POINT_TESTS),
        JudgeSample("count_up", COUNT_UP, COUNT_UP_TESTS),
        JudgeSample("classify", CLASSIFY, CLASSIFY_WITHOUT_POSITIVES),
        JudgeSample("is_positive_at", FIRST_POSITIVE, FIRST_POSITIVE_TESTS),
    ]
    return {strategy: judged(samples, JudgeConfig(mutation_strategy=strategy, coverage=False))[:2]
            for strategy in ("schemata", "rebuild")}


def outcome_set(mutants) -> set[tuple[str, int, str]]:
    return {(m.sample_id, m.mutant, m.outcome) for m in mutants}


def test_schemata_and_rebuild_give_the_same_mutant_outcomes(strategies):
    schemata, rebuild = outcome_set(strategies["schemata"][1]), outcome_set(strategies["rebuild"][1])
    assert schemata == rebuild
    assert {outcome for _, _, outcome in schemata} == {"caught", "missed", "unviable", "timeout"}


def test_schemata_and_rebuild_give_the_same_scores(strategies):
    schemata, rebuild = strategies["schemata"][0], strategies["rebuild"][0]
    assert {k: v.to_json() for k, v in schemata.items()} == {k: v.to_json() for k, v in rebuild.items()}


def test_default_replacement_of_a_struct_without_default_is_unviable(strategies):
    for _, mutants in strategies.values():
        (body,) = [m for m in mutants if m.sample_id == "point" and m.replacement == "{ Default::default() }"]
        assert body.outcome == "unviable"


def test_mutant_that_never_ends_times_out(strategies):
    for _, mutants in strategies.values():
        (endless,) = [m for m in mutants if m.sample_id == "count_up" and m.operator == "replace += with *="]
        assert endless.outcome == "timeout"


def test_short_circuit_survives_in_the_schema(strategies):
    for _, mutants in strategies.values():
        (either,) = [m for m in mutants if m.sample_id == "is_positive_at" and m.operator == "replace && with ||"]
        assert either.outcome == "caught"


# --- a certain repair, proved by the compiler --------------------------------------------------------------

SLOW_DOUBLE = rust("""
    use std::time::Duration;

    pub async fn slow_double(x: u32) -> u32 {
        tokio::time::sleep(Duration::from_millis(1)).await;
        x * 2
    }
""")
# What the real 0.5B writes for an async fn: a plain #[test] and a property that compare the future with a number.
SLOW_DOUBLE_REPLY = ("#[test]\nfn doubles() {\n    assert_eq!(slow_double(21), 42);\n}\n\nproptest! {\n    #[test]\n"
                     "    fn is_even(x in 0u32..1000) {\n        prop_assert_eq!(slow_double(x) % 2, 0);\n    }\n}\n"
                     "<|im_end|>")


def test_unawaited_async_calls_fail_to_compile_and_their_repairs_pass():
    repaired = read_reply(SLOW_DOUBLE_REPLY, SLOW_DOUBLE)
    unrepaired = read_reply(SLOW_DOUBLE_REPLY, SLOW_DOUBLE, repairs=False)
    assert [r.rule for r in repaired.repairs] == ["await_async_calls", "await_async_calls"]
    verdicts, _, _ = judged([JudgeSample("as_written", SLOW_DOUBLE, unrepaired.tests),
                             JudgeSample("repaired", SLOW_DOUBLE, repaired.tests)],
                            JudgeConfig(mutation=False, coverage=False))
    assert not verdicts["as_written"].compiles
    assert verdicts["repaired"].passes and verdicts["repaired"].tests_total == 2
