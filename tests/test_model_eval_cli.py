"""`rtg-eval` with a model, end to end: a real tiny-qwen2 adapter trained here, the real judge, the checklist report.

The checklist must falsify for real: tiny-qwen2 (random weights, a few LoRA steps) gets an honest F with its
falsified hypotheses named and the gates' exit status, and the verdict written beside its weights makes
`rtg-train publish` refuse it; the corpus's own reference tests, passed through the same report, do well on the
c/x/v items; tautological tests planted in their place flip x4.
"""
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rtg_core.backends import ReplayRecord, prompt_sha256
from rtg_core.prompt import answer, chat_prompt
from rtg_core.verdict import read_verdict
from rtg_eval.cli import main as rtg_eval
from rtg_core.files import file_sha256
from rtg_eval.samples import read_samples

CORPUS = Path(__file__).parent / "fixtures" / "tiny_corpus"
HUMANEVAL = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "humanevalpack-rust" / \
    "humanevalpack-rust.jsonl"
RTG_TRAIN = Path(sys.executable).with_name("rtg-train")
TAUTOLOGY = "#[test]\nfn the_function_behaves() {\n    assert!(true);\n}\n"


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("experiment") / "tiny-run"
    done = subprocess.run([str(RTG_TRAIN), "--model", "tiny-qwen2", "--dataset", str(CORPUS), "--output", str(run),
                           "--max-steps", "4", "--batch-size", "2", "--seed", "42", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return run


def evaluate(capsys, *args: str) -> tuple[int, str, str]:
    code = rtg_eval([*args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def item(report_dir: Path, item_id: str) -> dict:
    checklist = json.loads((report_dir / "checklist.json").read_text())
    return next(i for i in checklist["items"] if i["id"] == item_id)


@pytest.fixture(scope="module")
def tiny_report(experiment, tmp_path_factory):
    """tiny-qwen2 on the validation split, with the reproducibility runs: (exit status, report dir)."""
    out = tmp_path_factory.mktemp("tiny-eval")
    code = rtg_eval(["--adapter", str(experiment), "--test-set", str(CORPUS / "validation.jsonl"), "--output",
                     str(out), "--max-new-tokens", "48", "--device", "cpu", "--repro-steps", "2",
                     "--max-mutants", "20"])
    return code, out


def test_tiny_qwen2_gets_an_honest_f_and_the_gates_refuse_it(tiny_report):
    code, out = tiny_report
    assert code == 4
    checklist = json.loads((out / "checklist.json").read_text())
    assert checklist["grade"] == "F (Failing)" and checklist["score"] < 70
    falsified = {entry.split(":")[0] for entry in checklist["falsified"]}
    assert {"c2", "c4", "x1", "x2"} <= falsified
    gates = {g["id"]: g["passed"] for g in checklist["gates"]}
    # score, compile rate and mutation score fail; the CPU run's peak RSS is well inside 8 GB
    assert gates == {"P-GATE-001": False, "P-GATE-002": False, "P-GATE-003": False, "P-GATE-004": True}


def test_the_verdict_beside_the_adapter_makes_publish_refuse_it(tiny_report, experiment):
    _, out = tiny_report
    gates = read_verdict(experiment / "checkpoints" / "best")
    checklist = json.loads((out / "checklist.json").read_text())
    assert gates.state == "rejected" and gates.verdict.score == checklist["score"]
    assert gates.verdict.report == str(out / "checklist.json")
    done = subprocess.run([str(RTG_TRAIN), "publish", str(experiment), "--repo-id", "someone/tiny",
                           "--prepare-only"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 4
    assert "failed P-GATE-001" in done.stderr and f"Popperian score {checklist['score']}/100" in done.stderr
    assert not (experiment / "publish").exists()


def test_reproducibility_is_measured_by_two_same_seed_runs_and_the_lockfile(tiny_report):
    _, out = tiny_report
    for item_id in ("r1", "r2", "r3", "r4"):
        assert item(out, item_id)["status"] == "pass", item(out, item_id)
    e1 = item(out, "e1")  # no GPU: the CPU-only training run's peak RSS, against the same 8 GB, and labelled so
    assert e1["status"] == "pass" and "peak RSS of the CPU-only training process, not VRAM" in e1["evidence"]
    assert item(out, "e2")["status"] == "pass"
    assert item(out, "e3")["status"] in ("pass", "fail")  # measured on this CPU, whatever it shows


def test_the_reports_are_written_and_link_tests_to_their_functions(tiny_report, experiment):
    _, out = tiny_report
    for name in ("compile_results.json", "test_results.json", "metrics.json", "mutation_report.html",
                 "metrics.jsonld", "samples.jsonl", "mutants.jsonl", "generations.jsonl", "replay.jsonl"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    result = metrics["evaluation_result"]
    assert result["grade"] == "F (Failing)" and result["compile_rate"] == 0.0
    assert metrics["resources"]["peak_memory"]["kind"] == "RSS"
    assert "not VRAM" in metrics["resources"]["peak_memory"]["label"]
    assert set(metrics["strata"]) == {"category", "feature", "complexity", "test_kind"}
    assert metrics["generation"]["measured"] and metrics["generation"]["new_tokens"] > 0
    ld = json.loads((out / "metrics.jsonld").read_text())
    adapter = experiment / "checkpoints" / "best" / "adapter_model.safetensors"
    assert ld["rtg:adapter"]["rtg:sha256"] == file_sha256(adapter)
    assert ld["rtg:dataset"]["rtg:sha256"] == file_sha256(CORPUS / "validation.jsonl")
    assert len(ld["rtg:baseModel"]["rtg:sha256"]) == 64
    ids = [s.id for s in read_samples(CORPUS / "validation.jsonl")[0]]
    assert [t["rtg:testsFunction"]["identifier"] for t in ld["hasPart"]] == ids
    HTMLParser().feed((out / "mutation_report.html").read_text())


def test_a_replayed_run_repeats_the_generated_tests_without_the_model(tiny_report, tmp_path, capsys):
    _, out = tiny_report
    code, stdout, _ = evaluate(capsys, "--backend", "replay", "--replay", str(out / "replay.jsonl"), "--test-set",
                               str(CORPUS / "validation.jsonl"), "--output", str(tmp_path), "--no-gates",
                               "--max-mutants", "20")
    assert code == 0  # --no-gates reports the failed gates without failing
    assert "P-GATE-001 FAIL" in stdout
    tests = lambda d: [r["tests"] for r in json.loads((d / "test_results.json").read_text())["results"]]
    assert tests(tmp_path) == tests(out)
    assert item(tmp_path, "e3")["status"] == "not measured"


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    code = rtg_eval(["--backend", "reference", "--test-set", str(CORPUS / "train.jsonl"), "--output", str(out)])
    return code, out


def test_the_corpus_reference_tests_score_well_on_the_c_x_v_items(reference_report):
    code, out = reference_report
    for item_id in ("c1", "c2", "c3", "c4", "x1", "x2", "x3", "x4", "v1", "v2", "v3"):
        assert item(out, item_id)["status"] == "pass", item(out, item_id)
    gates = {g["id"]: g["passed"] for g in json.loads((out / "checklist.json").read_text())["gates"]}
    assert gates["P-GATE-002"] and gates["P-GATE-003"]
    assert not gates["P-GATE-001"]  # nothing was trained: r1-r4 and e1-e2 are not measured and earn nothing
    assert not gates["P-GATE-004"]  # no training run, no CUDA: memory cannot be shown, so the gate refuses
    assert code == 4


def test_planted_tautologies_flip_x4(reference_report, tmp_path, capsys):
    _, reference = reference_report
    samples, _ = read_samples(CORPUS / "train.jsonl")
    replay = tmp_path / "tautologies.jsonl"
    replay.write_text("".join(json.dumps(ReplayRecord(prompt_sha256(chat_prompt(s.code)), answer(TAUTOLOGY)).to_json())
                              + "\n" for s in samples))
    code, stdout, stderr = evaluate(capsys, "--backend", "replay", "--replay", str(replay), "--test-set",
                                    str(CORPUS / "train.jsonl"), "--output", str(tmp_path / "out"))
    assert item(reference, "x4")["status"] == "pass"
    assert item(tmp_path / "out", "x4")["status"] == "fail"
    assert item(tmp_path / "out", "x1")["status"] == "pass"  # they pass: only the checklist tells them apart
    assert code == 4 and "P-GATE-003 failed (MutationScore" in stderr and '"Semantic Utility"' in stderr
    assert "falsified x4" in stdout


def test_bad_arguments_exit_2(capsys, tmp_path):
    assert evaluate(capsys, "--test-set", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path))[0] == 2
    code, _, err = evaluate(capsys, "--backend", "reference", "--adapter", str(tmp_path), "--test-set",
                            str(CORPUS / "train.jsonl"), "--output", str(tmp_path))
    assert code == 2 and "adapter" in err


@pytest.mark.skipif(not HUMANEVAL.is_file(), reason="../shared/benchmarks/humanevalpack-rust is not here")
def test_humaneval_generation_and_judging_run_end_to_end(experiment, tmp_path, capsys):
    code, stdout, _ = evaluate(capsys, "--adapter", str(experiment), "--test-set", str(HUMANEVAL), "--limit", "2",
                               "--output", str(tmp_path / "tiny"), "--max-new-tokens", "32", "--device", "cpu",
                               "--max-mutants", "10")
    assert code == 4
    metrics = json.loads((tmp_path / "tiny" / "metrics.json").read_text())
    assert metrics["evaluation_result"]["samples"] == 2
    assert metrics["evaluation_result"]["real_bugs_in_test_set"] == 2
    assert "real bugs caught" in stdout
    # the people-written tests through the same report catch the people-written bugs
    evaluate(capsys, "--backend", "reference", "--test-set", str(HUMANEVAL), "--limit", "2", "--output",
             str(tmp_path / "reference"), "--max-mutants", "10")
    reference = json.loads((tmp_path / "reference" / "metrics.json").read_text())["evaluation_result"]
    assert reference["pass_rate"] == 1.0
    assert reference["real_bugs"] == {"total": 2, "killed": 2}


CLAMP = ("pub fn clamp_add(a: i32, b: i32, limit: i32) -> i32 {\n    let sum = a + b;\n"
         "    if sum > limit { limit } else { sum }\n}\n")
GREEDY_REPLY = ("```rust\n#[test]\nfn adds() {\n    assert_eq!(clamp_add(1, 2, 10), 3);\n}\n\n"
                "#[test]\nfn wrong() {\n    assert_eq!(clamp_add(1, 2, 10), 4);\n}\n```")  # one right, one wrong
SAMPLED_REPLY = ("#[test]\nfn clamps() {\n    assert_eq!(clamp_add(4, 4, 5), 5);\n    assert_eq!(clamp_add(2, 2, 4), 4);\n"
                 "    assert_eq!(clamp_add(2, 3, 4), 4);\n}\n\n#[test]\nfn adds() {\n"
                 "    assert_eq!(clamp_add(1, 2, 10), 3);\n}")


def test_best_of_n_judges_each_test_alone_and_reports_n1_beside_n(tmp_path, capsys):
    test_set = tmp_path / "clamp.jsonl"
    test_set.write_text(json.dumps({"id": "clamp", "input": CLAMP, "output": "", "metadata": {"function": "clamp_add"}})
                        + "\n")
    sha = prompt_sha256(chat_prompt(CLAMP))
    replay = tmp_path / "replay.jsonl"
    replay.write_text(json.dumps(ReplayRecord(sha, answer(GREEDY_REPLY)).to_json()) + "\n"
                      + json.dumps(ReplayRecord(sha, answer(SAMPLED_REPLY), candidate=0, seed=42).to_json()) + "\n")
    code, stdout, _ = evaluate(capsys, "--backend", "replay", "--replay", str(replay), "--test-set", str(test_set),
                               "--output", str(tmp_path / "out"), "--candidates", "2", "--no-clippy", "--no-gates")
    assert code == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    one, two = metrics["per_test"]["n=1"], metrics["per_test"]["n=2"]
    assert (one["tests_generated"], one["tests_passing"], two["tests_generated"], two["tests_passing"]) == (2, 1, 4, 3)
    assert one["functions_with_a_validated_test"] == two["functions_with_a_validated_test"] == 1
    assert two["mutants_killed_by_selection"] > one["mutants_killed_by_selection"]
    # the final tests are the selection from both replies: the wrong test is gone, so the whole passes
    (final,) = json.loads((tmp_path / "out" / "test_results.json").read_text())["results"]
    assert final["passes"] and "fn clamps()" in final["tests"] and "fn wrong()" not in final["tests"]
    assert metrics["evaluation_result"]["pass_rate"] == 1.0
    assert "each test judged alone" in stdout
    replayed = [json.loads(line) for line in (tmp_path / "out" / "replay.jsonl").read_text().splitlines()]
    assert sorted((r["candidate"], r["seed"] or 0) for r in replayed) == [(0, 0), (0, 42)]
