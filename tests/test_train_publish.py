"""rtg-train publish: the folder and model card are prepared offline; the upload fails clearly without the hub."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
    done = publish(str(experiment), "--repo-id", "someone/rtg-smoke", "--prepare-only")
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


def test_uploading_offline_fails_and_points_at_the_prepared_folder(experiment):
    done = publish(str(experiment), "--repo-id", "someone/rtg-smoke", env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 3
    assert "HF_HUB_OFFLINE is set" in done.stderr and str(experiment / "publish" / "best") in done.stderr


def test_an_unfinished_experiment_is_refused(tmp_path):
    done = publish(str(tmp_path), "--repo-id", "someone/x", "--prepare-only")
    assert done.returncode == 3 and "not a finished rtg-train experiment" in done.stderr
