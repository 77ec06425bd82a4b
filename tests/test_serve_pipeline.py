"""The resolve pipeline on a real crate with real cargo, driven by recorded model replies.

The model's replies are replayed so that each case is exact; the real model runs in tests/test_serve_lsp.py.
"""
import shutil
import threading
import time
from pathlib import Path

import pytest

from rtg_core.rust_source import functions
from rtg_serve.pipeline import PipelineSettings, generate_validated_tests
from rtg_serve.validation import Cancelled

FIXTURE = Path(__file__).parent / "fixtures" / "user_crate"


class Replay:
    """Replays recorded rounds of replies in order and records the prompts' code it was asked for."""

    def __init__(self, *rounds: list[str]):
        self.rounds = list(rounds)
        self.asked: list[tuple[str, int, int]] = []

    def __call__(self, code, n, seed, cancel, progress):
        self.asked.append((code, n, seed))
        progress(32)
        return self.rounds.pop(0)


@pytest.fixture
def crate(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "user_crate")
    return tmp_path / "user_crate"


def run(crate, generator, validation="run", retries=1, cancel=None, stages=None, name="double", mutants=40):
    lib = crate / "src" / "lib.rs"
    source = lib.read_text()
    target = next(f for f in functions(source) if f.name == name)
    return source, generate_validated_tests(
        lib, source, target, generator, PipelineSettings(retries=retries, validation=validation, mutants=mutants),
        (stages if stages is not None else []).append, cancel or threading.Event())


def test_tests_that_build_and_pass_are_inserted_into_the_existing_test_module(crate):
    stages = []
    source, outcome = run(crate, Replay(["```rust\n#[test]\nfn doubles_two() {\n    assert_eq!(double(2), 4);\n}\n```"]),
                          stages=stages)
    assert outcome.kept == ("doubles_two",)
    assert outcome.new_source.count("mod tests") == 1
    assert "    #[test]\n    fn doubles_two() {\n        assert_eq!(double(2), 4);\n    }\n}\n" in outcome.new_source
    assert stages == ["generating", "generating (32 tokens, 4 replies)", "checking", "final check"]
    assert (crate / "src" / "lib.rs").read_text() == source  # the user's file is never written
    assert "kill" in outcome.message and "mutants of `double`" in outcome.message


def test_selection_keeps_the_test_that_kills_mutants_and_drops_the_redundant_one(crate):
    weak = "#[test]\nfn zero() {\n    assert_eq!(double(0), 0);\n}"  # x * 2 -> x / 2 or x * 0 still gives 0
    strong = "#[test]\nfn three() {\n    assert_eq!(double(3), 6);\n}"
    _, outcome = run(crate, Replay([weak, strong, weak + "\n\n" + strong]))
    assert outcome.kept == ("three",)
    assert "fn zero" not in outcome.new_source


def test_one_broken_test_does_not_take_its_neighbours_down(crate):
    replay = Replay(["#[test]\nfn t() { assert_eq!(tripple(2), 6); }\n\n#[test]\nfn doubles_three() { assert_eq!(double(3), 6); }"])
    _, outcome = run(crate, replay)
    assert outcome.kept == ("doubles_three",)
    assert outcome.dropped[0][0] == "t" and "does not build" in outcome.dropped[0][1] and "tripple" in outcome.dropped[0][1]


def test_a_test_that_builds_with_rustcs_sure_fix_is_inserted_fixed(crate):
    _, outcome = run(crate, Replay(["#[test]\nfn doubles_each() {\n    let doubled = Vec::new();\n"
                                    "    doubled.push(double(2));\n    assert_eq!(doubled, vec![4]);\n}"]))
    assert outcome.kept == ("doubles_each",)
    assert "        let mut doubled = Vec::new();\n" in outcome.new_source
    assert "1 of them with rustc's suggested fixes" in outcome.message


def test_failing_tests_are_dropped_and_passing_ones_kept(crate):
    _, outcome = run(crate, Replay(["#[test]\nfn right() { assert_eq!(double(1), 2); }\n\n"
                                    "#[test]\nfn wrong() { assert_eq!(double(1), 3); }"]))
    assert outcome.kept == ("right",)
    assert outcome.dropped == (("wrong", "fails on the current code"),)
    assert "fn wrong" not in outcome.new_source


def test_a_second_round_with_a_new_seed_when_the_first_gives_nothing(crate):
    replay = Replay(["#[test]\nfn wrong() { assert_eq!(double(1), 3); }"], ["#[test]\nfn right() { assert_eq!(double(2), 4); }"])
    _, outcome = run(crate, replay, retries=1)
    assert outcome.kept == ("right",)
    assert [seed for _, _, seed in replay.asked] == [42, 43]


def test_no_edit_after_the_retries_are_spent_and_each_replys_reason_is_named(crate):
    _, outcome = run(crate, Replay(["not rust at all", "#[test]\nfn y() { nope(); }", "#[test]\nfn z() { assert_eq!(double(1), 3); }"]),
                     retries=0)
    assert outcome.new_source is None
    assert "reply 1: no test in the reply" in outcome.message
    assert "reply 2: does not build" in outcome.message and "nope" in outcome.message
    assert "reply 3: fails on the current code" in outcome.message


def test_a_method_is_asked_for_with_its_type_and_impl(crate):
    replay = Replay(["#[test]\nfn bumps_once() {\n    let mut c = Counter::new();\n    assert_eq!(c.bump(), 1);\n}"])
    _, outcome = run(crate, replay, name="bump")
    code, _, _ = replay.asked[0]
    assert "pub struct Counter {" in code and "impl Counter {" in code and "pub fn new() -> Self" in code
    assert code.index("pub fn new()") < code.index("pub fn bump(")
    assert outcome.kept == ("bumps_once",)


def test_a_hanging_test_is_killed_and_dropped(crate):
    lib = crate / "src" / "lib.rs"
    source = lib.read_text()
    double = next(f for f in functions(source) if f.name == "double")
    start = time.monotonic()
    outcome = generate_validated_tests(
        lib, source, double, Replay(["#[test]\nfn hangs() { loop {} }\n\n#[test]\nfn ok() { assert_eq!(double(0), 0); }"]),
        PipelineSettings(run_seconds=3), lambda stage: None, threading.Event())
    assert outcome.kept == ("ok",) and time.monotonic() - start < 60


def test_cancel_stops_cargo_and_raises(crate):
    cancel = threading.Event()

    def slow_then_cancelled(code, n, seed, event, progress):
        threading.Timer(0.3, cancel.set).start()
        return ["#[test]\nfn t() { std::thread::sleep(std::time::Duration::from_secs(30)); }"]

    start = time.monotonic()
    with pytest.raises(Cancelled):
        run(crate, slow_then_cancelled, cancel=cancel)
    assert time.monotonic() - start < 20


def test_files_outside_a_crate_get_a_clear_message(tmp_path):
    lone = tmp_path / "lone.rs"
    lone.write_text("fn one() -> u8 { 1 }\n")
    outcome = generate_validated_tests(lone, lone.read_text(), functions(lone.read_text())[0], Replay(["x"]),
                                       PipelineSettings(), lambda s: None, threading.Event())
    assert outcome.new_source is None and "no Cargo.toml" in outcome.message


def test_a_broken_user_crate_is_named_as_the_reason(crate):
    lib = crate / "src" / "lib.rs"
    lib.write_text(lib.read_text() + "\nfn broken() -> u8 { \"not a u8\" }\n")
    _, outcome = run(crate, Replay(["#[test]\nfn t() { assert_eq!(double(1), 2); }"]))
    assert outcome.new_source is None and "your crate does not build" in outcome.message


def test_check_validation_builds_but_does_not_run(crate):
    _, outcome = run(crate, Replay(["#[test]\nfn wrong_but_builds() { assert_eq!(double(1), 3); }\n\n"
                                    "#[test]\nfn broken() { assert_eq!(tripple(1), 3); }"]), validation="check")
    assert outcome.kept == ("wrong_but_builds",) and "build (not run)" in outcome.message


def test_a_reply_with_properties_gets_proptests_prelude_once():
    from rtg_core.test_items import split_items
    from rtg_serve.pipeline import PROPTEST_PRELUDE, _with_proptest_prelude

    properties = split_items("proptest! {\n    #[test]\n    fn even(x in 0..10i32) { prop_assert_eq!(double(x) % 2, 0); }\n}")
    assert _with_proptest_prelude(properties) == [PROPTEST_PRELUDE] + properties
    assert _with_proptest_prelude([PROPTEST_PRELUDE] + properties) == [PROPTEST_PRELUDE] + properties
    plain = split_items("#[test]\nfn t() { assert_eq!(double(1), 2); }")
    assert _with_proptest_prelude(plain) == plain
