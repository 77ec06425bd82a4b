"""rtg-train end to end: the real command line on tiny-qwen2 (QLoRA, 4-bit, on the CPU), no mocks.

One reference run (16 steps, validation and a checkpoint every 4) is shared by most tests; a twin run with another
PYTHONHASHSEED checks bitwise reproducibility, and a run killed with SIGKILL and resumed checks `--resume`.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "tiny_corpus"
RTG_TRAIN = Path(sys.executable).with_name("rtg-train")
STEPS = 16
RUN = ["--model", "tiny-qwen2", "--dataset", str(CORPUS), "--max-steps", str(STEPS), "--batch-size", "2",
       "--set", "train.grad_accum=2", "--set", "train.eval_steps=4", "--set", "train.save_steps=4",
       "--seed", "42", "--device", "cpu"]
# The first training losses of RUN on this fixture; a change of template, masking, model or data moves them.
FIRST_LOSSES = [7.355008, 7.291617, 7.356695, 7.250560]


def start(output: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([str(RTG_TRAIN), *RUN, "--output", str(output), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def finish(process: subprocess.Popen, expect: int = 0) -> str:
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == expect, stderr[-3000:]
    return stderr


def rtg_train(*args: str, expect: int = 0, env: dict | None = None) -> str:
    done = subprocess.run([str(RTG_TRAIN), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    assert done.returncode == expect, done.stderr[-3000:]
    return done.stderr


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def adapters(run: Path) -> dict[str, str]:
    return {p.parent.name: sha256(p) for p in sorted((run / "checkpoints").glob("*/adapter_model.safetensors"))}


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The reference run and its twin (another PYTHONHASHSEED), trained side by side."""
    root = tmp_path_factory.mktemp("train")
    reference = start(root / "reference", env={"PYTHONHASHSEED": "0"})
    twin = start(root / "twin", env={"PYTHONHASHSEED": "12345"})
    finish(reference)
    finish(twin)
    return root / "reference", root / "twin"


@pytest.fixture(scope="module")
def reference(runs):
    return runs[0]


def test_the_first_losses_are_pinned(reference):
    assert metrics(reference)["losses"][:4] == pytest.approx(FIRST_LOSSES, abs=2e-3)


def test_the_loss_falls(reference):
    losses = metrics(reference)["losses"]
    assert sum(losses[-4:]) < sum(losses[:4])


def test_two_runs_with_one_seed_are_bitwise_identical(runs):
    reference, twin = runs
    assert metrics(reference)["losses"] == metrics(twin)["losses"]
    assert metrics(reference)["val_losses"] == metrics(twin)["val_losses"]
    assert adapters(reference) == adapters(twin) and len(adapters(reference)) == 4


def test_a_run_killed_mid_way_and_resumed_ends_with_the_same_bytes(reference, tmp_path):
    output = tmp_path / "killed"
    process = start(output)
    first = output / "checkpoints" / "step-4" / "trainer_state.json"
    deadline = time.monotonic() + 240
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    assert not (output / "metrics.json").exists()

    stderr = rtg_train(*RUN, "--output", str(output), "--resume")
    assert "resumed from" in stderr
    assert adapters(output) == adapters(reference)
    assert metrics(output)["losses"] == metrics(reference)["losses"]
    assert metrics(output)["val_losses"] == metrics(reference)["val_losses"]
    assert metrics(output)["sessions"] == 2


def test_the_experiment_holds_the_promised_files(reference):
    for name in ("config.yaml", "reproducibility.lock", "training.log", "metrics.json"):
        assert (reference / name).is_file(), name
    assert list((reference / "runs").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (reference / "checkpoints").iterdir()) == ["best", "step-12", "step-16", "step-8"]
    for checkpoint in (reference / "checkpoints").iterdir():
        assert {"adapter_model.safetensors", "adapter_config.json", "config.yaml"} <= {p.name for p in
                                                                                      checkpoint.iterdir()}
        assert (checkpoint / "config.yaml").read_text() == (reference / "config.yaml").read_text()
    config = json.loads((reference / "checkpoints" / "best" / "adapter_config.json").read_text())
    assert config["target_modules"] == sorted(config["target_modules"])


def test_metrics_and_lock_record_what_the_issue_asks(reference):
    m = metrics(reference)
    for key in ("final_loss", "steps", "tokens_per_second", "peak_memory_bytes", "wall_seconds", "git_commit",
                "config_hash", "note"):
        assert m[key] is not None, key
    assert m["steps"] == STEPS and m["trainable_parameters"] == 77_824  # 2 layers x 16 x sum(in + out) = 2 x 38,912
    lock = json.loads((reference / "reproducibility.lock").read_text())
    assert {"python", "torch", "transformers", "peft", "bitsandbytes", "cuda", "rustc"} <= lock["versions"].keys()
    assert lock["hardware"]["cpu_count"] and lock["config_hash"] == m["config_hash"]
    assert lock["dataset"]["files_sha256"]["train.jsonl"] == sha256(CORPUS / "train.jsonl")
    assert lock["model"]["files_sha256"]["model.safetensors"] == sha256(reference / "tiny-qwen2" /
                                                                        "model.safetensors")
    assert lock["adapters"]["checkpoints/best/adapter_model.safetensors"] == \
        sha256(reference / "checkpoints" / "best" / "adapter_model.safetensors")


def test_validation_runs_between_training_steps_on_the_4bit_cpu_model(reference):
    log = (reference / "training.log").read_text()
    config = yaml.safe_load((reference / "config.yaml").read_text())
    assert config["model"]["load_in_4bit"] and config["model"]["device"] == "cpu"
    assert log.index("step 4 validation loss") < log.index(f"step 5/{STEPS} ")
    assert "tiny-qwen2 is a randomly initialised smoke-test model" in log
    assert "proptest share 16.7%, weighted to 22.5% per epoch" in log


def test_plain_peft_loads_the_checkpoint(reference):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(reference / "tiny-qwen2")
    model = PeftModel.from_pretrained(base, str(reference / "checkpoints" / "best"))
    saved = load_file(reference / "checkpoints" / "best" / "adapter_model.safetensors")
    state = model.state_dict()
    assert saved and all(any(k.replace(".weight", ".default.weight") == name for name in state) for k in saved)
    loaded = {k: v for k, v in state.items() if "lora_" in k}
    assert all((loaded[k.replace(".weight", ".default.weight")] == v).all() for k, v in saved.items())


def test_an_existing_run_is_not_overwritten(reference):
    stderr = rtg_train(*RUN, "--output", str(reference), expect=2)
    assert "pass --resume to continue it" in stderr


def test_resume_refuses_a_setting_that_differs_from_the_run(reference):
    stderr = rtg_train(*RUN, "--output", str(reference), "--resume", "--set", "optim.lr=0.1", expect=2)
    assert "optim.lr=0.1 (the run has 0.0002)" in stderr


def test_resume_refuses_inputs_whose_bytes_changed(reference, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    lock = json.loads((copy / "reproducibility.lock").read_text())
    lock["dataset"]["files_sha256"]["train.jsonl"] = "0" * 64  # as if the corpus had been rebuilt since
    (copy / "reproducibility.lock").write_text(json.dumps(lock))
    stderr = rtg_train(*RUN, "--output", str(copy), "--resume", expect=2)
    assert "dataset file train.jsonl changed since the run started" in stderr


def test_an_offline_hub_model_fails_with_the_way_out(tmp_path):
    stderr = rtg_train("--model", "Qwen/Qwen2.5-Coder-0.5B-Instruct", "--dataset", str(CORPUS), "--output",
                       str(tmp_path / "x"), expect=3, env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path),
                                    "RTG_CACHE_DIR": str(tmp_path / "rtg")})
    assert "Qwen/Qwen2.5-Coder-0.5B-Instruct" in stderr and "HF_HUB_OFFLINE" in stderr
    assert "--model /path/to/Qwen2.5-Coder-0.5B-Instruct" in stderr and "rtg-model fetch" in stderr


def test_an_offline_hub_dataset_fails_with_the_way_out(tmp_path):
    stderr = rtg_train("--model", "tiny-qwen2", "--dataset", "someone/rtg-corpus", "--output", str(tmp_path / "x"),
                       expect=3, env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")})
    assert "someone/rtg-corpus" in stderr and "HF_HUB_OFFLINE" in stderr and "--dataset data/corpus" in stderr


def test_a_missing_corpus_says_what_a_corpus_is(tmp_path):
    stderr = rtg_train("--model", "tiny-qwen2", "--dataset", str(tmp_path), "--output", str(tmp_path / "x"),
                       expect=3)
    assert "train.jsonl" in stderr and "rtg-corpus" in stderr


def test_jidoka_stops_on_a_non_finite_update_and_leaves_a_diagnostic(tmp_path):
    output = tmp_path / "jidoka"
    stderr = rtg_train("--model", "tiny-qwen2", "--dataset", str(CORPUS), "--output", str(output), "--device", "cpu",
                       "--max-steps", "8", "--batch-size", "2", "--set", "train.grad_accum=1",
                       "--set", "optim.lr=1.0e+30", "--set", "optim.warmup_ratio=0", expect=4)
    (diagnostic,) = (output / "diagnostics").iterdir()
    report = json.loads((diagnostic / "diagnostic.json").read_text())
    assert "non-finite" in report["reason"] and report["sample_ids"]
    assert (diagnostic / "adapter_model.safetensors").is_file()
    assert "Lower optim.lr" in stderr


def test_compute_dtype_auto_is_settled_once_and_a_resume_with_auto_is_accepted(tmp_path):
    """"auto" (the CPU recipe's dtype) becomes the dtype this machine computes fastest in, and the run's config
    records that dtype, so its lock and card name what it used."""
    from rtg_core.model import choose_device, fast_compute_dtype
    from rtg_train.cli import build_parser, resolve

    output = tmp_path / "auto"
    args = [*RUN[:RUN.index("--max-steps")], "--max-steps", "2", "--batch-size", "2", "--set", "train.grad_accum=2",
            "--set", "train.save_steps=2", "--device", "cpu", "--set", "model.compute_dtype=auto",
            "--output", str(output)]
    stderr = rtg_train(*args)
    settled = fast_compute_dtype(choose_device("cpu"))
    assert yaml.safe_load((output / "config.yaml").read_text())["model"]["compute_dtype"] == settled
    assert f"NF4, {settled}" in stderr
    config, checkpoint = resolve(build_parser().parse_args([*args, "--resume"]))
    assert config.model.compute_dtype == settled and checkpoint.name == "step-2"
