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
    """Replays recorded replies in order and records what the pipeline fed back."""

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.problems: list[str | None] = []

    def __call__(self, code, previous, problems, cancel):
        self.problems.append(problems)
        return self.replies.pop(0)


@pytest.fixture
def crate(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "user_crate")
    return tmp_path / "user_crate"


def run(crate, generator, validation="run", retries=2, cancel=None, stages=None):
    lib = crate / "src" / "lib.rs"
    source = lib.read_text()
    double = next(f for f in functions(source) if f.name == "double")
    return source, generate_validated_tests(
        lib, source, double, generator, PipelineSettings(retries=retries, validation=validation),
        (stages if stages is not None else []).append, cancel or threading.Event())


def test_tests_that_build_and_pass_are_inserted_into_the_existing_test_module(crate):
    stages = []
    source, outcome = run(crate, Replay("```rust\n#[test]\nfn doubles_two() {\n    assert_eq!(double(2), 4);\n}\n```"),
                          stages=stages)
    assert outcome.kept == ("doubles_two",)
    assert outcome.new_source.count("mod tests") == 1
    assert "    #[test]\n    fn doubles_two() {\n        assert_eq!(double(2), 4);\n    }\n}\n" in outcome.new_source
    assert stages == ["generating", "checking", "running"]
    assert (crate / "src" / "lib.rs").read_text() == source  # the user's file is never written


def test_compile_errors_are_fed_back_and_the_repair_is_used(crate):
    replay = Replay("#[test]\nfn t() { assert_eq!(tripple(2), 6); }",
                    "#[test]\nfn doubles_three() { assert_eq!(double(3), 6); }")
    _, outcome = run(crate, replay)
    assert outcome.kept == ("doubles_three",)
    assert replay.problems[0] is None and "tripple" in replay.problems[1]


def test_failing_tests_are_dropped_and_passing_ones_kept(crate):
    _, outcome = run(crate, Replay("#[test]\nfn right() { assert_eq!(double(1), 2); }\n\n"
                                   "#[test]\nfn wrong() { assert_eq!(double(1), 3); }"))
    assert outcome.kept == ("right",)
    assert outcome.dropped == (("wrong", "failed on the current code"),)
    assert "fn wrong" not in outcome.new_source


def test_no_edit_when_no_test_survives(crate):
    _, outcome = run(crate, Replay("#[test]\nfn wrong() { assert_eq!(double(1), 3); }"))
    assert outcome.new_source is None and "none of the 1 generated tests passed" in outcome.message


def test_no_edit_after_the_retries_are_spent(crate):
    _, outcome = run(crate, Replay("not rust at all", "#[test] fn x( {", "#[test]\nfn y() { nope(); }"), retries=2)
    assert outcome.new_source is None
    assert "no valid tests after 3 attempts" in outcome.message and "nope" in outcome.message


def test_a_hanging_test_is_killed_and_dropped(crate):
    lib = crate / "src" / "lib.rs"
    source = lib.read_text()
    double = next(f for f in functions(source) if f.name == "double")
    start = time.monotonic()
    outcome = generate_validated_tests(
        lib, source, double, Replay("#[test]\nfn hangs() { loop {} }\n\n#[test]\nfn ok() { assert_eq!(double(0), 0); }"),
        PipelineSettings(run_seconds=3), lambda stage: None, threading.Event())
    assert outcome.kept == ("ok",) and time.monotonic() - start < 60


def test_cancel_stops_cargo_and_raises(crate):
    cancel = threading.Event()

    def slow_then_cancelled(code, previous, problems, event):
        threading.Timer(0.3, cancel.set).start()
        return "#[test]\nfn t() { std::thread::sleep(std::time::Duration::from_secs(30)); }"

    start = time.monotonic()
    with pytest.raises(Cancelled):
        run(crate, slow_then_cancelled, cancel=cancel)
    assert time.monotonic() - start < 20


def test_files_outside_a_crate_get_a_clear_message(tmp_path):
    lone = tmp_path / "lone.rs"
    lone.write_text("fn one() -> u8 { 1 }\n")
    outcome = generate_validated_tests(lone, lone.read_text(), functions(lone.read_text())[0], Replay("x"),
                                       PipelineSettings(), lambda s: None, threading.Event())
    assert outcome.new_source is None and "no Cargo.toml" in outcome.message


def test_a_broken_user_crate_is_named_as_the_reason(crate):
    lib = crate / "src" / "lib.rs"
    lib.write_text(lib.read_text() + "\nfn broken() -> u8 { \"not a u8\" }\n")
    _, outcome = run(crate, Replay("#[test]\nfn t() { assert_eq!(double(1), 2); }"))
    assert outcome.new_source is None and "your crate does not build" in outcome.message
