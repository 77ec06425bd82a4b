"""`rtg-eval --tests-from` end to end, as a command: real JSONL in, samples.jsonl and metrics.json out."""
import json
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest

from rust_fixtures import CLAMP, CLAMP_THOROUGH, CLAMP_WEAK, PARSE_DIGIT, PARSE_DIGIT_THOROUGH

HUMANEVALPACK = Path(__file__).resolve().parents[2] / "shared/benchmarks/humanevalpack-rust/humanevalpack-rust.jsonl"
SAMPLE_KEYS = ["id", "compiles", "compile_errors", "tests_total", "tests_passed", "passes", "timed_out",
               "mutants_total", "mutants_killed", "mutation_score", "line_coverage", "branch_coverage",
               "line_coverage_delta", "branch_coverage_delta", "tautologies", "meaningless_asserts", "edge_cases",
               "real_bug_killed"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def rtg_eval(*args) -> tuple[int, str]:
    """Run the real command line; (exit code, stderr)."""
    result = subprocess.run([sys.executable, "-m", "rtg_eval.cli", *map(str, args)], capture_output=True,
                            text=True, timeout=300)
    return result.returncode, result.stderr


@pytest.fixture(scope="module")
def mixed_input_run(tmp_path_factory):
    """Two good lines (one with a reference), one line of broken JSON and one without `output`."""
    tmp = tmp_path_factory.mktemp("cli")
    lines = [
        json.dumps({"id": "clamp", "input": CLAMP, "output": CLAMP_THOROUGH, "reference": CLAMP_WEAK,
                    "metadata": {"source": "test"}}),
        "{\"id\": \"broken\", \"input\": ",
        json.dumps({"id": "no_output", "input": CLAMP}),
        json.dumps({"id": "digit", "input": PARSE_DIGIT, "output": PARSE_DIGIT_THOROUGH}),
    ]
    source = tmp / "tests.jsonl"
    source.write_text("\n".join(lines) + "\n")
    code, stderr = rtg_eval("--tests-from", source, "--output", tmp / "out")
    return {"code": code, "stderr": stderr, "out": tmp / "out"}


def test_bad_lines_are_reported_and_skipped(mixed_input_run):
    assert mixed_input_run["code"] == 0
    stderr = mixed_input_run["stderr"]
    assert "tests.jsonl:line 2: not valid JSON" in stderr
    assert "tests.jsonl:line 3: missing required field `output`" in stderr
    assert "line 1:" not in stderr and "line 4:" not in stderr


def test_samples_jsonl_has_the_good_lines_with_the_keys_in_order(mixed_input_run):
    rows = read_jsonl(mixed_input_run["out"] / "samples.jsonl")
    assert [row["id"] for row in rows] == ["clamp", "digit"]
    for row in rows:
        assert list(row) == SAMPLE_KEYS
        assert (row["compiles"], row["passes"]) == (True, True)
        assert row["mutation_score"] >= 0.8


def test_metrics_json_has_rates_scores_and_similarity(mixed_input_run):
    metrics = json.loads((mixed_input_run["out"] / "metrics.json").read_text())
    assert (metrics["compile_rate"], metrics["pass_rate"]) == (1.0, 1.0)
    assert 0.8 <= metrics["mutation_score"] <= 1.0
    assert 0 < metrics["bleu4"] < 1  # one pair: the thorough tests against the weak reference
    assert 0 < metrics["codebleu"]["score"] < 1
    assert metrics["similarity_pairs"] == 1
    assert len(metrics["input_errors"]) == 2


def test_mutants_jsonl_belongs_to_the_good_lines(mixed_input_run):
    rows = read_jsonl(mixed_input_run["out"] / "mutants.jsonl")
    assert rows
    assert {row["sample_id"] for row in rows} == {"clamp", "digit"}


def test_missing_input_file_is_exit_code_2_with_a_clear_message(tmp_path):
    missing = tmp_path / "nowhere.jsonl"
    code, stderr = rtg_eval("--tests-from", missing, "--output", tmp_path / "out")
    assert code == 2
    assert f"{missing}: no such file" in stderr
    assert not (tmp_path / "out").exists()


def test_humanevalpack_lines_pass_and_their_real_bugs_are_killed(tmp_path):
    if not HUMANEVALPACK.is_file():
        pytest.skip(f"HumanEvalPack-Rust is not at {HUMANEVALPACK}")
    with open(HUMANEVALPACK) as handle:
        first_three = list(islice(handle, 3))
    source = tmp_path / "humanevalpack-3.jsonl"
    source.write_text("".join(first_three))
    code, _ = rtg_eval("--tests-from", source, "--output", tmp_path / "out", "--no-coverage")
    assert code == 0
    rows = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert [row["id"] for row in rows] == [json.loads(line)["task_id"] for line in first_three]
    for row in rows:
        assert (row["compiles"], row["passes"], row["real_bug_killed"]) == (True, True, True), row
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["real_bugs"] == {"total": 3, "killed": 3}
