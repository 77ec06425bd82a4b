"""Checklist r1-r3: train twice with the experiment's own config and seed for a few steps, then compare.

Both runs go through the `rtg-train` command line (`--config <experiment>/config.yaml --max-steps N`), one after
the other, each into a directory of its own; they are compared on logged losses (r1), adapter bytes (r2) and the
tests their adapters generate, greedily, for the same functions (r3: the same tests get the same eval metrics).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from rtg_core.backends import LocalBackend
from rtg_core.prompt import chat_prompt
from rtg_eval.checklist import ReproEvidence
from rtg_eval.experiment import ADAPTER_WEIGHTS, Experiment, resolve_adapter
from rtg_core.files import file_sha256

PROBE_TOKENS = 64  # enough tokens to tell two adapters apart, few enough to stay cheap on a CPU


def rtg_train_command() -> str | None:
    beside = Path(sys.executable).with_name("rtg-train")
    return str(beside) if beside.is_file() else shutil.which("rtg-train")


def check_reproducibility(experiment: Experiment, steps: int, work: Path, probe_codes: list[str],
                          timeout: float = 3600.0, log=lambda message: None) -> ReproEvidence:
    evidence = ReproEvidence(steps=steps)
    config = experiment.file("config.yaml")
    if config is None:
        evidence.note = "the adapter is not inside an experiment directory with a config.yaml to retrain from"
        return evidence
    dataset = (yaml.safe_load(config.read_text()) or {}).get("data", {}).get("path")
    hub_id = dataset and dataset.count("/") == 1 and not dataset.startswith((".", "/", "~"))
    if dataset and not Path(dataset).exists() and not hub_id:
        evidence.note = f"the run's dataset {dataset!r} is not reachable from {Path.cwd()}; run from where it trained"
        return evidence
    command = rtg_train_command()
    if command is None:
        evidence.note = "rtg-train is not installed beside this Python"
        return evidence
    runs = []
    for name in ("a", "b"):
        output = work / f"repro-{name}"
        shutil.rmtree(output, ignore_errors=True)
        log(f"reproducibility: training run {name} ({steps} steps) into {output}")
        argv = [command, "--config", str(config), "--max-steps", str(steps), "--output", str(output),
                "--set", f"train.save_steps={steps}", "--set", f"train.eval_steps={steps}"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            evidence.note = f"rtg-train run {name} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
            return evidence
        runs.append(output)
    adapters = [resolve_adapter(run) for run in runs]
    evidence.adapters = [file_sha256(a.adapter / ADAPTER_WEIGHTS) for a in adapters]
    evidence.same_adapter = evidence.adapters[0] == evidence.adapters[1]
    losses = [json.loads((run / "metrics.json").read_text()).get("losses") or [] for run in runs]
    if len(losses[0]) == len(losses[1]) and losses[0]:
        evidence.max_loss_difference = max(abs(x - y) for x, y in zip(*losses))
    else:
        evidence.max_loss_difference = float("inf")
    if probe_codes:
        prompts = [chat_prompt(code) for code in probe_codes]
        replies = []
        for adapter in adapters:
            backend = LocalBackend(adapter.base_model(), adapter=adapter.adapter, device="auto")
            replies.append([c.text for c in backend.complete(prompts, PROBE_TOKENS)])
            del backend
        evidence.same_generations = replies[0] == replies[1]
        evidence.generations_compared = len(prompts)
    return evidence
