"""Checkpoints: written atomically, rotated, and complete enough that `--resume` continues bit for bit.

    checkpoints/step-N/   adapter_model.safetensors, adapter_config.json  (plain `PeftModel.from_pretrained`)
                          config.yaml        the config that made it
                          trainer_state.json step, loss history, best validation loss, counters
                          optimizer.pt, scheduler.pt, rng.pt   (step-N only: what resuming needs)
    checkpoints/best/     the adapter with the lowest validation loss so far, with its config and state

A checkpoint is written into a hidden temporary directory and renamed into place, so a run killed at any moment
leaves either the previous checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

from rtg_core.verdict import ADAPTER_WEIGHTS

ADAPTER_CONFIG = "adapter_config.json"
STATE = "trainer_state.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")
_OLD_DIR = re.compile(r"^\.old-(.+)-\d+$")  # a checkpoint moved aside while its successor was renamed in


def checkpoints_dir(output: Path) -> Path:
    return Path(output) / "checkpoints"


def step_checkpoints(output: Path) -> list[tuple[int, Path]]:
    """Complete step-N checkpoints, oldest first."""
    root = checkpoints_dir(output)
    found = []
    if root.is_dir():
        for child in root.iterdir():
            match = _STEP_DIR.match(child.name)
            if match and (child / STATE).is_file():
                found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(output: Path) -> Path | None:
    found = step_checkpoints(output)
    return found[-1][1] if found else None


def save_adapter(peft_model, directory: Path, base_model_name: str) -> None:
    """The adapter, as `PeftModel.from_pretrained` reads it, with byte-stable `adapter_config.json`."""
    config = peft_model.peft_config["default"]
    recorded_base = config.base_model_name_or_path
    config.base_model_name_or_path = base_model_name
    try:
        # save_embedding_layers=False: embeddings are frozen; "auto" would look the base model up on the hub
        peft_model.save_pretrained(str(directory), safe_serialization=True, save_embedding_layers=False)
    finally:
        config.base_model_name_or_path = recorded_base
    # peft writes `target_modules` from a set, in an order that varies with PYTHONHASHSEED: sort it.
    path = directory / ADAPTER_CONFIG
    data = json.loads(path.read_text())
    if isinstance(data.get("target_modules"), list):
        data["target_modules"] = sorted(data["target_modules"])
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    (directory / "README.md").unlink(missing_ok=True)  # peft's template card; `rtg-train publish` writes a real one


def rng_state() -> dict:
    import numpy as np
    import torch

    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write_checkpoint(output: Path, name: str, peft_model, base_model_name: str, config_yaml: str, state: dict,
                     optimizer=None, scheduler=None, rng: list[dict] | None = None) -> Path:
    """Write checkpoints/<name> atomically (replacing an older one of that name); return its path.

    With `optimizer` (and `scheduler`, `rng`: one generator state per rank) it is a step checkpoint to resume from.
    """
    import torch

    root = checkpoints_dir(output)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_adapter(peft_model, tmp, base_model_name)
    (tmp / "config.yaml").write_text(config_yaml)
    if optimizer is not None:
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng, tmp / "rng.pt")
    (tmp / STATE).write_text(json.dumps(state, indent=2) + "\n")  # last: its presence marks a complete checkpoint
    _fsync_tree(tmp)
    final = root / name
    if final.exists():
        old = root / f".old-{name}-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    _fsync_dir(root)
    return final


def rotate(output: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` step-N checkpoints; return the deleted ones."""
    found = step_checkpoints(output)
    doomed = [path for _, path in found[:-keep]] if len(found) > keep else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def clean_partial(output: Path) -> None:
    """Remove what a killed run left half-written; restore `best` if it died between the two renames."""
    root = checkpoints_dir(output)
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        old = _OLD_DIR.match(child.name)
        if old and not (root / old.group(1)).exists():
            child.rename(root / old.group(1))
        elif child.name.startswith((".tmp-", ".old-")):
            shutil.rmtree(child)


def load_training_state(checkpoint: Path, optimizer, scheduler, rank: int = 0) -> dict:
    """Restore optimizer, scheduler and this rank's generators; return the saved trainer state."""
    import torch

    optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=True))
    per_rank = torch.load(checkpoint / "rng.pt", weights_only=False)  # holds numpy and python objects
    if rank >= len(per_rank):
        raise RuntimeError(f"{checkpoint} was saved by {len(per_rank)} processes; resume it with as many")
    restore_rng_state(per_rank[rank])
    return json.loads((checkpoint / STATE).read_text())


def load_adapter_weights(peft_model, checkpoint: Path) -> None:
    """Put a checkpoint's LoRA weights into the (freshly built, identically configured) model, exactly."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    result = set_peft_model_state_dict(peft_model, load_file(checkpoint / ADAPTER_WEIGHTS))
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise RuntimeError(f"{checkpoint}: adapter weights do not fit this model (e.g. {unexpected[0]}); "
                           "was it made with another lora config?")


def _fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
