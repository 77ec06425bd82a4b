"""rtg-train: reproducible, resumable QLoRA fine-tuning of a small coder model on Rust tests.

    rtg-train --model Qwen/Qwen2.5-Coder-0.5B-Instruct --dataset data/corpus --output experiments/ft-testgen-001 \\
              --epochs 3 --batch-size 4 --lora-rank 16 --seed 42 --device auto
    rtg-train --config training/configs/qlora-qwen2.5-coder-0.5b.yaml --max-steps 100
    rtg-train --config training/configs/smoke-tiny-qwen2.yaml   # tiny-qwen2 smoke run: under a minute on a CPU
    rtg-train ... --resume                                  # continue the run in --output exactly
    rtg-train publish experiments/ft-testgen-001 --repo-id you/rtg-qwen2.5-coder-0.5b-testgen

Exit status: 0 done, 2 bad settings, 3 model/dataset/device unavailable, 4 stopped by Jidoka (bad loss).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from rtg_core.model import AUTO_DTYPE
from rtg_train.config import ConfigError, TrainConfig, load_config

# flag -> config key; a flag left out keeps the value from --config (or the default)
_FLAGS = {
    "model": "model.name", "dataset": "data.path", "output": "output", "epochs": "train.epochs",
    "batch_size": "train.batch_size", "lora_rank": "lora.rank", "seed": "seed", "device": "model.device",
    "max_steps": "train.max_steps",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtg-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, metavar="FILE.yaml", help="a config file; flags override it")
    parser.add_argument("--model", help="hub id, local directory, or tiny-qwen2 (default Qwen/Qwen2.5-Coder-0.5B-"
                                        "Instruct)")
    parser.add_argument("--dataset", help="corpus directory with train.jsonl + validation.jsonl, or hub dataset id")
    parser.add_argument("--output", help="the experiment directory")
    parser.add_argument("--epochs", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lora-rank", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"))
    parser.add_argument("--max-steps", type=int, help="exactly N optimizer steps, whatever --epochs says")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any config field, e.g. --set optim.lr=1e-4 --set train.save_steps=100 (YAML values)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --output from its last checkpoint, with its saved config")
    return parser


def requested_settings(args: argparse.Namespace) -> dict:
    """The config keys this command line sets (from --config, --set and flags), flattened to dotted keys."""
    settings: dict = {}
    if args.config is not None:
        if not args.config.is_file():
            raise ConfigError(f"--config {args.config}: no such file")
        loaded = yaml.safe_load(args.config.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{args.config}: expected a mapping of sections")
        settings.update(_flatten(loaded))
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item}: expected KEY=VALUE, e.g. --set optim.lr=1e-4")
        settings[key.strip()] = yaml.safe_load(value)
    for flag, key in _FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            settings[key] = value
    return settings


def _settled_auto(key: str, requested) -> bool:
    """A requested compute dtype "auto" matches whatever dtype the run settled it to at its start."""
    return key == "model.compute_dtype" and requested == AUTO_DTYPE


def resolve(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    """The run's config and, with --resume, the checkpoint to resume from (whose config wins)."""
    from rtg_train import checkpoint as ckpt

    settings = requested_settings(args)
    config = load_config(None, settings)
    output = Path(config.output)
    latest = ckpt.latest_checkpoint(output)
    if not args.resume:
        if latest is not None:
            raise ConfigError(f"{output} already holds a run ({latest.relative_to(output)}); pass --resume to "
                              "continue it, or choose another --output")
        return config, None
    if latest is None:
        raise ConfigError(f"--resume: {output / 'checkpoints'} holds no step-N checkpoint to resume from; run "
                          "without --resume to start")
    saved = load_config(latest / "config.yaml", {"output": str(output)})
    requested, recorded = _flatten(config.to_dict()), _flatten(saved.to_dict())
    conflicts = [f"{k}={requested[k]!r} (the run has {recorded[k]!r})" for k in settings
                 if k in recorded and requested[k] != recorded[k] and not _settled_auto(k, requested[k])]
    if conflicts:
        raise ConfigError(f"--resume rebuilds the run from {latest / 'config.yaml'}, but this command asks for "
                          f"{'; '.join(conflicts)}. Drop those settings, or start a new run with another --output")
    return saved, latest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["publish"]:
        from rtg_train.publish import main as publish_main

        return publish_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        config, resume_from = resolve(args)
    except ConfigError as exc:
        print(f"rtg-train: {exc}", file=sys.stderr)
        return 2

    from rtg_core.model import DeviceUnavailable, ModelUnavailable
    from rtg_train.data import DataError
    from rtg_train.recipe import JidokaStop, run

    try:
        run(config, resume_from)
    except ConfigError as exc:
        print(f"rtg-train: {exc}", file=sys.stderr)
        return 2
    except (ModelUnavailable, DataError, DeviceUnavailable) as exc:
        print(f"rtg-train: {exc}", file=sys.stderr)
        return 3
    except JidokaStop as exc:
        print(f"rtg-train: jidoka: {exc}", file=sys.stderr)
        return 4
    return 0


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return flat


if __name__ == "__main__":
    sys.exit(main())
