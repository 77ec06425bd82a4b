"""rtg-train publish: the folder and model card are prepared offline; the upload fails clearly without the hub; an
adapter that failed P-GATE-001 (or was never evaluated) is refused.

The first tests train a real tiny-qwen2 experiment; the gate tests build a finished experiment's files by hand (the
weights are opaque bytes to publish) and score real checklist reports into its gates.json.
"""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from rtg_core.files import file_sha256
from rtg_core.verdict import write_verdict
from rtg_eval.checklist import CATEGORIES, Evidence, LockEvidence, PeakMemory, ReproEvidence, SampleEvidence, \
    score_checklist
from rtg_train.config import load_config
from rtg_train.publish import main as publish_main

ROOT = Path(__file__).resolve().parents[1]
RTG_TRAIN = Path(sys.executable).with_name("rtg-train")


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    output = tmp_path_factory.mktemp("publish") / "run"
    done = subprocess.run(
        [str(RTG_TRAIN), "--model", "tiny-qwen2", "--dataset", str(ROOT / "tests" / "fixtures" / "tiny_corpus"),
         "--output", str(output), "--device", "cpu", "--max-steps", "2", "--batch-size", "2",
         "--set", "train.grad_accum=1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return output


def publish(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(RTG_TRAIN), "publish", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_the_folder_holds_the_adapter_the_card_and_the_run_files(experiment):
    done = publish(str(experiment), "--repo-id", "someone/rtg-smoke", "--prepare-only", "--allow-unevaluated")
    assert done.returncode == 0, done.stderr
    folder = experiment / "publish" / "best"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "adapter_config.json", "adapter_model.safetensors", "metrics.json", "reproducibility.lock",
        "training_config.yaml"]
    assert (folder / "adapter_model.safetensors").read_bytes() == \
        (experiment / "checkpoints" / "best" / "adapter_model.safetensors").read_bytes()
    card = (folder / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["library_name"] == "peft" and "base_model" not in front  # a local smoke model has no hub id
    lock = json.loads((experiment / "reproducibility.lock").read_text())
    metrics = json.loads((experiment / "metrics.json").read_text())
    assert "Smoke test, not a model" in card
    assert lock["adapters"]["checkpoints/best/adapter_model.safetensors"] in card
    assert lock["dataset"]["files_sha256"]["train.jsonl"] in card and metrics["config_hash"] in card
    assert f"{metrics['final_loss']:.4f}" in card and "lora_alpha" not in card and "rank: 16" in card
    assert "**Not evaluated.**" in card and "peak RSS of the CPU-only training process, not VRAM" in card


def test_a_trained_but_unevaluated_experiment_is_refused_without_allow_unevaluated(experiment):
    done = publish(str(experiment), "--repo-id", "someone/rtg-smoke", "--prepare-only")
    assert done.returncode == 4
    assert "has not passed P-GATE-001" in done.stderr and "no gates.json" in done.stderr


def test_uploading_offline_fails_and_points_at_the_prepared_folder(experiment):
    done = publish(str(experiment), "--repo-id", "someone/rtg-smoke", "--allow-unevaluated",
                   env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 3
    assert "HF_HUB_OFFLINE is set" in done.stderr and str(experiment / "publish" / "best") in done.stderr


def test_a_folder_prepared_elsewhere_with_notes_is_what_a_later_publish_uploads(experiment, tmp_path):
    folder, notes = tmp_path / "adapters" / "shipped", tmp_path / "figures.md"
    notes.write_text("## Figures\n\n| set | compile |\n| --- | --- |\n| holdout | 12.0% |\n")
    done = publish(str(experiment), "--repo-id", "someone/rtg-smoke", "--prepare-only", "--allow-unevaluated",
                   "--folder", str(folder), "--notes", str(notes))
    assert done.returncode == 0, done.stderr
    assert (folder / "README.md").read_text().rstrip().endswith("| holdout | 12.0% |")
    again = publish(str(folder), "--repo-id", "someone/rtg-smoke", "--allow-unevaluated",
                    env={"HF_HUB_OFFLINE": "1"})
    assert again.returncode == 3 and f"The prepared folder is {folder};" in again.stderr  # uploaded as it is
    assert "prepared" not in again.stderr.split("cannot upload")[0]  # nothing was prepared again
    assert publish(str(folder), "--repo-id", "someone/rtg-smoke").returncode == 4  # still never evaluated


def test_an_unfinished_experiment_is_refused(tmp_path):
    done = publish(str(tmp_path), "--repo-id", "someone/x", "--prepare-only")
    assert done.returncode == 3 and "not a finished rtg-train experiment" in done.stderr


# --- the gates (spec §16.1): P-GATE-001 forbids deployment ------------------------------------------------------


def good_sample(i: int, **changes) -> SampleEvidence:
    return replace(SampleEvidence(
        id=f"s{i}", parses=True, checks=True, clippy_warnings=[], links=True, passes=True, mutants_scored=10,
        mutants_caught=9, line_delta=0.6, branch_delta=0.5, tests=3, tests_asserting=3, tautologies=0,
        edge_cases=["zero"], descriptive_tests=3, has_comment=True, property_inputs=["len"], parameter_names=["n"],
        categories=[CATEGORIES[i % len(CATEGORIES)]]), **changes)


def checklist(compiling: int):
    """A scored checklist for 10 functions of which `compiling` build (10: 100 points; 3: a failing adapter)."""
    samples = [good_sample(i) for i in range(compiling)]
    samples += [good_sample(i, links=False, passes=False, checks=False, clippy_warnings=None, mutants_caught=0,
                            line_delta=None, branch_delta=None) for i in range(compiling, 10)]
    return score_checklist(Evidence(
        samples=samples, repro=ReproEvidence(steps=2, same_adapter=True, adapters=["a" * 64] * 2,
                                             max_loss_difference=0.0, same_generations=True, generations_compared=3),
        lock=LockEvidence(True, [], True), peak_memory=PeakMemory(2.5, "RSS", "CPU-only training"), memory_note="",
        train_hours=0.1, generation_seconds_per_function=0.2, latency_note="batched"))


@pytest.fixture
def finished(tmp_path) -> Path:
    """A finished experiment's files, as rtg-train leaves them."""
    root = tmp_path / "run"
    best = root / "checkpoints" / "best"
    best.mkdir(parents=True)
    (best / "adapter_model.safetensors").write_bytes(b"adapter weights")
    (best / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "tiny-qwen2"}))
    config = load_config(None, {"model.name": "tiny-qwen2", "output": str(root)}).to_dict()
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    sha = file_sha256(best / "adapter_model.safetensors")
    (root / "reproducibility.lock").write_text(json.dumps({
        "config_hash": "c" * 16, "git_commit": "0" * 40, "versions": {"torch": "2"},
        "dataset": {"source": "tiny", "files_sha256": {"train.jsonl": "d" * 64}},
        "adapters": {"checkpoints/best/adapter_model.safetensors": sha}}))
    (root / "metrics.json").write_text(json.dumps({
        "steps": 2, "final_loss": 3.0, "best_val_loss": 3.1, "best_step": 2, "tokens": 100, "tokens_per_second": 50,
        "peak_memory_bytes": 2_500_000_000, "peak_memory_kind": "cpu_max_rss", "trainable_parameters": 10}))
    return root


def evaluated(root: Path, compiling: int) -> Path:
    best = root / "checkpoints" / "best"
    verdict = checklist(compiling).verdict(file_sha256(best / "adapter_model.safetensors"), "eval/checklist.json",
                                           "holdout.jsonl", 10, "2025-01-01T00:00:00+00:00")
    return write_verdict(best, verdict)


def publish_here(root: Path, capsys, *flags: str) -> tuple[int, str]:
    code = publish_main([str(root), "--repo-id", "someone/rtg-test", "--prepare-only", *flags])
    return code, capsys.readouterr().err


def test_an_adapter_that_failed_p_gate_001_is_refused_with_its_score_and_falsified_items(finished, capsys):
    evaluated(finished, compiling=3)
    code, err = publish_here(finished, capsys)
    assert code == 4
    assert "refused" in err and "failed P-GATE-001" in err and "forbid deployment" in err
    score = checklist(3).score
    assert score < 90 and f"Popperian score {score}/100" in err
    assert "falsified items: c2, c3, c4, x1, x2" in err
    assert not (finished / "publish").exists()  # nothing is left to upload by hand
    code, err = publish_here(finished, capsys, "--allow-unevaluated")  # evaluated and failed: no flag lets it out
    assert code == 4 and "failed P-GATE-001" in err


def test_a_failed_adapter_kept_in_a_folder_of_its_own_says_so_and_is_still_never_uploaded(finished, capsys, tmp_path):
    evaluated(finished, compiling=3)
    folder = tmp_path / "adapters" / "kept"
    code, _ = publish_here(finished, capsys, "--folder", str(folder))
    assert code == 0 and (folder / "gates.json").is_file()
    card = (folder / "README.md").read_text()
    assert "**This adapter failed P-GATE-001**" in card and "| P-GATE-001 | FAIL" in card
    code = publish_main([str(folder), "--repo-id", "someone/rtg-test"])
    assert code == 4 and "failed P-GATE-001" in capsys.readouterr().err


def test_a_folder_holding_other_files_is_never_written_over_or_removed(finished, capsys, tmp_path):
    evaluated(finished, compiling=3)
    (tmp_path / "mine.txt").write_text("not rtg's")
    code, err = publish_here(finished, capsys, "--folder", str(tmp_path))
    assert code == 3 and "did not write" in err and (tmp_path / "mine.txt").is_file()


def test_refusing_removes_a_folder_prepared_before_the_adapter_failed(finished, capsys):
    evaluated(finished, compiling=10)
    assert publish_here(finished, capsys)[0] == 0
    assert (finished / "publish" / "best" / "adapter_model.safetensors").is_file()
    evaluated(finished, compiling=3)  # evaluated again, on a harder test set
    code, err = publish_here(finished, capsys)
    assert code == 4 and "removed the earlier" in err
    assert not (finished / "publish" / "best").exists()


def test_an_adapter_that_passed_is_published_with_its_score_grade_and_gates_on_the_card(finished, capsys):
    evaluated(finished, compiling=10)
    code, err = publish_here(finished, capsys)
    assert code == 0, err
    folder = finished / "publish" / "best"
    assert (folder / "gates.json").read_bytes() == (finished / "checkpoints" / "best" / "gates.json").read_bytes()
    card = (folder / "README.md").read_text()
    assert "Popperian score **100/100**, grade **A+ (Excellent)** on `holdout.jsonl`" in card
    for gate_id in ("P-GATE-001", "P-GATE-002", "P-GATE-003", "P-GATE-004"):
        assert f"| {gate_id} | pass: {gate_id} passed (" in card
    assert "2.50 GB peak RSS of the CPU-only training process, not VRAM" in card  # P-GATE-004's figure, labelled


def test_an_unevaluated_adapter_is_refused_unless_allowed_and_then_the_card_says_so(finished, capsys):
    code, err = publish_here(finished, capsys)
    assert code == 4 and "no gates.json" in err and "--allow-unevaluated" in err
    code, err = publish_here(finished, capsys, "--allow-unevaluated")
    assert code == 0, err
    folder = finished / "publish" / "best"
    assert "**Not evaluated.**" in (folder / "README.md").read_text() and not (folder / "gates.json").exists()


def test_a_verdict_on_other_weights_does_not_count(finished, capsys):
    evaluated(finished, compiling=10)
    (finished / "checkpoints" / "best" / "adapter_model.safetensors").write_bytes(b"retrained weights")
    code, err = publish_here(finished, capsys)
    assert code == 4 and "judged other weights" in err
