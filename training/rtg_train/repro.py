"""What a run needs to be reproduced (spec §7, §8.2): versions, hardware, hashes, the git commit.

`reproducibility.lock` (JSON, sorted keys) records them; two runs whose locks agree (apart from timestamps and
paths) and whose config hashes agree should produce the same adapter bytes on the same kind of device.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

_PACKAGES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "tokenizers", "safetensors",
             "datasets", "huggingface-hub", "numpy")
_ENVIRONMENT = ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG", "OMP_NUM_THREADS", "HF_HUB_OFFLINE")


def versions() -> dict:
    import torch

    found = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    found["cuda"] = torch.version.cuda
    found["cudnn"] = torch.backends.cudnn.version() if torch.cuda.is_available() else None
    found["rustc"] = _command_line(["rustc", "--version"])
    return found


def hardware() -> dict:
    import torch

    gpus = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append({"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
                         "capability": f"{props.major}.{props.minor}"})
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "gpus": gpus,
    }


def git_commit(cwd: Path | None = None) -> str | None:
    """HEAD's commit, with "-dirty" when tracked files have changes; None outside a git checkout."""
    commit = _command_line(["git", "rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    dirty = _command_line(["git", "status", "--porcelain", "--untracked-files=no"], cwd)
    return commit + ("-dirty" if dirty else "")


def lock(config_hash: str, seed: int, model: dict, dataset: dict, adapters: dict[str, str]) -> dict:
    return {
        "config_hash": config_hash,
        "seed": seed,
        "versions": versions(),
        "hardware": hardware(),
        "git_commit": git_commit(Path(__file__).resolve().parent),  # the code that ran, wherever it ran from
        "environment": {name: os.environ.get(name) for name in _ENVIRONMENT},
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "model": model,
        "dataset": dataset,
        "adapters": adapters,
    }


def write_lock(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def _command_line(argv: list[str], cwd: Path | None = None) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
