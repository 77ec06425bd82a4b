"""The experiment behind an adapter: where its files are, which base model it needs, and what its training run
recorded (spec §8.2: `config.yaml`, `metrics.json`, `reproducibility.lock`, `checkpoints/{step-N,best}/`).

Read from the files `rtg-train` writes; nothing here imports the training code.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rtg_core.adapters import DEFAULT_CHOICE, NO_ADAPTER, chosen_adapter
from rtg_core.files import file_sha256
from rtg_core.verdict import ADAPTER_WEIGHTS
from rtg_eval.checklist import LockEvidence, PeakMemory

ADAPTER_CONFIG = "adapter_config.json"
_MODEL_FILES = (".safetensors", ".json", ".txt", ".model", ".tiktoken")
# What a lock must record for a run to be rebuilt (dotted keys into reproducibility.lock).
LOCK_KEYS = ("config_hash", "seed", "git_commit", "versions.torch", "versions.transformers", "versions.peft",
             "dataset.files_sha256", "model.files_sha256", "adapters")


class ExperimentError(ValueError):
    """The adapter path is not usable; the message says what was expected."""


@dataclass(frozen=True)
class Experiment:
    adapter: Path | None  # the directory holding adapter_model.safetensors
    root: Path | None  # the experiment directory, when the adapter sits in one

    @property
    def adapter_sha256(self) -> str | None:
        return file_sha256(self.adapter / ADAPTER_WEIGHTS) if self.adapter else None

    def base_model(self) -> str | None:
        """The base model the adapter was trained on, as its adapter_config.json names it."""
        if self.adapter is None:
            return None
        config = json.loads((self.adapter / ADAPTER_CONFIG).read_text())
        return config.get("base_model_name_or_path") or None

    def file(self, name: str) -> Path | None:
        path = self.root / name if self.root else None
        return path if path is not None and path.is_file() else None

    def training_metrics(self) -> dict | None:
        path = self.file("metrics.json")
        return json.loads(path.read_text()) if path else None

    def default_output(self) -> Path | None:
        return self.root / "evaluation" if self.root else None


def resolve_adapter(path: Path | None) -> Experiment:
    """An experiment dir (its `checkpoints/best` is used), a checkpoint dir inside one, or a bare adapter dir."""
    if path is None:
        return Experiment(None, None)
    path = Path(path)
    if (path / "checkpoints" / "best" / ADAPTER_WEIGHTS).is_file():
        return Experiment(path / "checkpoints" / "best", path)
    if (path / ADAPTER_WEIGHTS).is_file():
        root = path.parent.parent if path.parent.name == "checkpoints" else None
        if root is not None and not (root / "config.yaml").is_file():
            root = None
        return Experiment(path, root)
    raise ExperimentError(f"--adapter {path}: neither an adapter directory (with {ADAPTER_WEIGHTS}) nor an "
                          "experiment directory (with checkpoints/best/)")


ADAPTER_HELP = (f"an experiment dir (its checkpoints/best), a checkpoint dir, an adapter dir, `{NO_ADAPTER}` for the "
                f"base model alone, or `{DEFAULT_CHOICE}`: the adapter rtg ships, which --backend local uses on its "
                "base model when this is left out")


def chosen_experiment(choice: str | None, backend: str = "local", model: str | None = None) -> Experiment:
    """`--adapter` as given; left out, the shipped adapter for the local backend on its base model (other backends
    run whatever model their server has, so no adapter is implied)."""
    if choice is None and backend != "local":
        return Experiment(None, None)
    return resolve_adapter(chosen_adapter(choice, model))


def model_sha256(model_dir: Path | None) -> str | None:
    """One sha256 for a model directory: over the sorted (name, sha256) of its weight, config and tokenizer files."""
    if model_dir is None or not Path(model_dir).is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(Path(model_dir).iterdir()):
        if path.is_file() and path.name.endswith(_MODEL_FILES):
            digest.update(f"{path.name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def lock_evidence(experiment: Experiment) -> LockEvidence | None:
    """Checklist r4: does reproducibility.lock pin everything, and does it list the adapter being evaluated?"""
    if experiment.root is None:
        return None
    path = experiment.file("reproducibility.lock")
    if path is None:
        return LockEvidence(False, note=f"{experiment.root}/reproducibility.lock is missing")
    try:
        lock = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        return LockEvidence(False, note=f"{path} is not JSON: {exc}")
    missing = [key for key in LOCK_KEYS if _dotted(lock, key) in (None, {}, [], "")]
    listed = experiment.adapter_sha256 in (lock.get("adapters") or {}).values()
    return LockEvidence(True, missing, listed)


_MEMORY_KINDS = {  # metrics.json's peak_memory_kind (rtg_train.recipe.save_results) -> what e1 holds to 8 GB
    "cuda_max_memory_allocated": ("VRAM", "training on CUDA, torch.cuda.max_memory_allocated"),
    "cpu_max_rss": ("RSS", "CPU-only training, the training process's ru_maxrss"),
}


def training_figures(experiment: Experiment) -> tuple[float | None, PeakMemory | None, str]:
    """(training hours, the run's peak memory, a note when there is none) from the run's metrics.json."""
    metrics = experiment.training_metrics()
    if metrics is None:
        return None, None, "no training metrics.json"
    seconds = metrics.get("train_seconds")
    hours = seconds / 3600 if isinstance(seconds, (int, float)) else None
    kind = metrics.get("peak_memory_kind")
    peak = metrics.get("peak_memory_bytes")
    if kind not in _MEMORY_KINDS or not isinstance(peak, (int, float)):
        return hours, None, f"the training run's metrics.json records no known peak memory ({kind or 'none'})"
    label, source = _MEMORY_KINDS[kind]
    return hours, PeakMemory(peak / 1e9, label, source), ""


def _dotted(data: dict, key: str):
    for part in key.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
