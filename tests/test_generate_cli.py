"""rtg-generate: tests for a file's public fns, each judged alone; only tests that build and pass are written.

One run uses a real tiny-qwen2 taught here to answer the fixture crate's `double` with good tests and `bump` with
wrong ones; another replays exact replies to pin each reason a test is dropped. The written file is then built and
run as an integration test of a copy of the crate.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from memorise import train_memorising_model
from rtg_core.backends import ReplayRecord, prompt_sha256
from rtg_core.context import function_context
from rtg_core.prompt import answer, chat_prompt
from rtg_eval.generate_cli import main as rtg_generate, targets

FIXTURE = Path(__file__).parent / "fixtures" / "user_crate"
LIB = FIXTURE / "src" / "lib.rs"
GOOD = "#[test]\nfn doubles_two_and_minus_three() {\n    assert_eq!(double(2), 4);\n    assert_eq!(double(-3), -6);\n}"
WRONG = "#[test]\nfn bump_starts_at_two() {\n    let mut c = Counter::new();\n    assert_eq!(c.bump(), 2);\n}"
REPLIES = {
    "double": GOOD + "\n\n#[test]\nfn double_is_off_by_one() {\n    assert_eq!(double(2), 5);\n}\n\n"
              "#[test]\nfn double_of_text() {\n    assert_eq!(double(\"2\"), 4);\n}\n",
    "Counter::new": "```rust\nfn fresh() -> Counter {\n    Counter::new()\n}\n\n#[test]\nfn first_bump_gives_one() {\n"
                    "    assert_eq!(fresh().bump(), 1);\n}\n\n#[test]\nfn starts_at_zero() {\n"
                    "    assert_eq!(Counter::new().count, 0);\n}\n```",
    "Counter::bump": "I cannot write tests for this.",
}


def function_text(name: str) -> str:
    """What the prompt shows for `name`: the fn with what a test needs to call it."""
    source = LIB.read_text()
    return function_context(source, next(f for f in targets(source, None) if f.qualified_name == name))


def run_generate(capsys, *args: str) -> tuple[int, str]:
    code = rtg_generate(list(args))
    return code, capsys.readouterr().err


def cargo_test(tmp_path: Path, generated: Path) -> subprocess.CompletedProcess:
    crate = tmp_path / "user_crate"
    shutil.copytree(FIXTURE, crate)
    (crate / "tests").mkdir()
    shutil.copy(generated, crate / "tests" / "generated_tests.rs")
    return subprocess.run(["cargo", "test", "--offline", "--test", "generated_tests", "-q"], cwd=crate,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")})


def test_each_test_is_judged_alone_and_only_the_passing_ones_are_written(tmp_path, capsys):
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(ReplayRecord(prompt_sha256(chat_prompt(function_text(name))),
                                                      answer(text)).to_json()) + "\n"
                              for name, text in REPLIES.items()))
    output = tmp_path / "tests" / "generated_tests.rs"
    report = tmp_path / "report.json"
    code, err = run_generate(capsys, "--backend", "replay", "--replay", str(replay), "--input", str(LIB), "--output",
                             str(output), "--candidates", "1", "--report", str(report))
    assert code == 0
    written = output.read_text()
    assert "fn doubles_two_and_minus_three" in written and "fn first_bump_gives_one" in written
    assert "fn fresh" in written  # the helper the kept test needs comes along
    for dropped in ("double_is_off_by_one", "double_of_text", "starts_at_zero"):
        assert f"fn {dropped}" not in written
    assert "dropped double_is_off_by_one: fails on the current code" in err
    assert "dropped double_of_text: does not build" in err
    assert "dropped starts_at_zero: does not build" in err and "private" in err  # as an integration test sees it
    assert "Counter::bump: kept 0" in err and "no reply held a test" in err
    assert written.splitlines()[2] == "use user_crate::*;"
    assert [r["function"] for r in json.loads(report.read_text())] == ["double", "Counter::new", "Counter::bump"]
    built = cargo_test(tmp_path, output)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "2 passed" in built.stdout


@pytest.fixture(scope="module")
def memorised(tmp_path_factory) -> Path:
    """A tiny-qwen2 experiment that answers `double` with GOOD and `bump` with WRONG."""
    work = tmp_path_factory.mktemp("memorised")
    rows = [{"id": "double", "input": function_text("double"), "output": GOOD, "metadata": {"test_kinds": ["unit"]}},
            {"id": "bump", "input": function_text("Counter::bump"), "output": WRONG,
             "metadata": {"test_kinds": ["unit"]}}]
    return train_memorising_model(work, rows)


def test_the_real_local_backend_keeps_good_tests_and_drops_wrong_ones(memorised, tmp_path, capsys):
    output = tmp_path / "tests" / "generated_tests.rs"
    for name, kept in (("double", True), ("bump", False)):
        code, err = run_generate(capsys, "--adapter", str(memorised), "--input", str(LIB), "--function", name,
                                 "--output", str(output), "--device", "cpu", "--max-new-tokens", "80",
                                 "--candidates", "1")
        if kept:
            assert code == 0, err
            assert "fn doubles_two_and_minus_three" in output.read_text()
        else:
            assert code == 1 and "dropped bump_starts_at_two: fails on the current code" in err
            assert "was not written" in err


def test_an_unknown_function_is_refused(tmp_path, capsys):
    code, err = run_generate(capsys, "--backend", "replay", "--replay", str(tmp_path / "none.jsonl"), "--input",
                             str(LIB), "--function", "nope", "--output", str(tmp_path / "out.rs"))
    assert code == 2 and "no public fn named 'nope'" in err
