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
