"""Scratch crates held at the same time never share a build (a regression: one slot got the other's binary)."""
from rtg_core.cargo_env import OfflineCargo
from rtg_eval.crate import ScratchCrate, Unit


def test_two_scratch_crates_in_use_at_once_build_their_own_code():
    cargo = OfflineCargo.prepared()
    good = Unit("s_0000", "pub fn f() -> i32 { 3 }\n", "#[test]\nfn f_is_three() { assert_eq!(f(), 3); }\n").text
    bad = Unit("s_0000", "pub fn f() -> i32 { 1 }\n", "this is not rust {{{\n").text
    with ScratchCrate(cargo, "probe") as first, ScratchCrate(cargo, "probe") as second:
        assert first.dir != second.dir
        second.write({"s_0000": bad})
        first.write({"s_0000": good})
        assert first.build().ok
        broken = second.build()
        assert not broken.ok and broken.test_binary is None


def test_should_panic_tests_are_counted_as_passing_when_they_panic():
    from rtg_eval.judge import JudgeConfig, judge_samples
    from rtg_eval.samples import JudgeSample

    code = "pub fn head(v: &[u8]) -> u8 { v[0] }\n"
    tests = ("#[test]\n#[should_panic]\nfn head_of_nothing_panics() { head(&[]); }\n\n"
             "#[test]\n#[should_panic]\nfn head_of_one_does_not_panic() { head(&[1]); }\n")
    (verdict,), _ = judge_samples([JudgeSample("p", code, tests)], JudgeConfig(mutation=False, coverage=False))
    assert (verdict.tests_total, verdict.tests_passed, verdict.passes) == (2, 1, False)


def test_code_that_uses_the_common_crates_builds_and_passes_in_the_judge():
    """Mined pairs that derive serde traits or log through `log` count as standalone only if the judge has those crates."""
    from rtg_eval.judge import JudgeConfig, judge_samples
    from rtg_eval.samples import JudgeSample

    code = (
        "use serde::{Deserialize, Serialize};\n\n"
        "#[derive(Debug, PartialEq, Serialize, Deserialize)]\npub struct Point { pub x: i32, pub y: i32 }\n\n"
        "pub fn encode(p: &Point) -> String { log::debug!(\"encoding {:?}\", p); serde_json::to_string(p).unwrap() }\n"
    )
    tests = ("#[test]\nfn encode_round_trips() {\n    let p = Point { x: 1, y: -2 };\n"
             "    let back: Point = serde_json::from_str(&encode(&p)).unwrap();\n    assert_eq!(back, p);\n}\n")
    (verdict,), _ = judge_samples([JudgeSample("p", code, tests)], JudgeConfig(mutation=False, coverage=False))
    assert verdict.compiles and verdict.passes, verdict
