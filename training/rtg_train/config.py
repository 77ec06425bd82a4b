"""The one typed config of a training run: every default visible here, one comment per trade-off.

A YAML file (`--config`) sets any field by section (`lora: {rank: 8}`); command-line flags override it; the
resolved config is saved as `config.yaml` in the experiment and in every checkpoint, and `--resume` rebuilds the
run from it. Unknown keys and wrong types fail at once, naming the key.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

QWEN_CODER_05B = "Qwen/Qwen2.5-Coder-0.5B-Instruct"
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class ModelConfig:
    name: str = QWEN_CODER_05B  # a hub id, a local directory, or "tiny-qwen2" (random smoke-test model)
    device: str = "auto"  # auto: CUDA with >= 6 GB, else CPU (spec §6.1)
    load_in_4bit: bool = True  # QLoRA: NF4 base weights; 4x less memory, slower matmuls than bf16
    double_quant: bool = True  # quantise the quantisation constants too: ~0.4 bit/param saved, a little slower
    # bf16 keeps fp32's range at half the memory; "auto": bf16 where the device computes in it, else float32
    compute_dtype: str = "bfloat16"
    gradient_checkpointing: bool = True  # recompute activations in backward: ~30% slower, far less memory
    tiny_qwen2_seed: int = 0  # only for "tiny-qwen2": the seed of its random weights


@dataclass
class DataConfig:
    path: str = "data/corpus"  # a directory with train.jsonl + validation.jsonl, or a hub dataset id
    max_seq_length: int = 1024  # prompt + tests tokens; longer samples are dropped, never truncated, and counted
    shorten_long_prompts: bool = False  # ... unless a shorter view of their code fits (context comments, fn bodies)
    proptest_share_min: float = 0.20  # the proptest share of the training mix, by weighting (spec §3) ...
    proptest_share_max: float = 0.25  # ... outside [min, max] samples are drawn with weights that aim at the middle
    proptest_max_repeats: float = 4.0  # ... but a property is drawn at most this often per epoch (on average)
    max_eval_samples: int = 256  # validation cost per evaluation; the first N validation samples


@dataclass
class LoraSettings:
    rank: int = 16  # r16: 8.8M trainable parameters on the 0.5B model
    alpha: int = 32  # scale alpha/r = 2
    dropout: float = 0.05
    targets: tuple[str, ...] = LORA_TARGETS  # every linear layer of attention and MLP


@dataclass
class OptimConfig:
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.03  # of all steps, linear from 0
    min_lr_ratio: float = 0.1  # cosine decays to lr * this, not to 0
    max_grad_norm: float = 1.0  # clip the global gradient norm


@dataclass
class TrainSettings:
    epochs: float = 3.0
    max_steps: int | None = None  # set: exactly this many optimizer steps, whatever `epochs` says
    batch_size: int = 4  # per device and micro-step
    grad_accum: int = 4  # micro-steps per optimizer step: 16 samples per step on one device
    eval_steps: int = 100  # validate every N steps (and at the end)
    save_steps: int = 500  # checkpoint every N steps (and at the end)
    save_total_limit: int = 3  # step-N checkpoints kept; `best` is kept besides them
    log_steps: int = 1  # a training.log / TensorBoard line every N steps
    spike_factor: float = 3.0  # Jidoka: stop when a loss exceeds this x the mean of the last `spike_window` ...
    spike_window: int = 20  # ... losses (checked once the window is full); NaN/inf always stops
    deterministic: bool = True  # torch deterministic algorithms: bitwise-repeatable runs, a little slower on GPU
    cpu_threads: int = 0  # torch CPU threads; 0: 1 for tiny-qwen2 (too small to share), else torch's default.
    #                       Bitwise-identical repeats need the same number


@dataclass
class TrainConfig:
    output: str = "experiments/ft-testgen-001"
    seed: int = 42
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainSettings = field(default_factory=TrainSettings)

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def hash(self) -> str:
        """sha256 of what determines the result: everything but where it is written."""
        recipe = {k: v for k, v in self.to_dict().items() if k != "output"}
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


class ConfigError(ValueError):
    pass


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_config(path: Path | None = None, overrides: dict | None = None) -> TrainConfig:
    """Defaults, then the YAML file at `path`, then `overrides` ({"lora.rank": 8, "seed": 1}); checked types."""
    data: dict = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of sections, got {type(loaded).__name__}")
        data = loaded or {}
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{dotted}: {part} is not a section")
        node[leaf] = value
    return _build(TrainConfig, data, "")


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown config key {where}{unknown[0]}; known keys here: {', '.join(names)}")
    values = {}
    for name in names:
        if name not in data:
            continue
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, data[name], f"{where}{name}.")
        else:
            values[name] = _coerce(data[name], hint, f"{where}{name}")
    return cls(**values)


def _coerce(value, hint, key: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(o for o in options if o is not type(None))
        origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        item_types = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(item_types) != len(value):
            raise ConfigError(f"{key}: expected {len(item_types)} items, got {len(value)}")
        return tuple(_coerce(v, t, key) for v, t in zip(value, item_types))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads 2e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {hint}")  # a new field type: teach _coerce


def check_config(config: TrainConfig) -> None:
    """Fail early, saying the fix, on settings that would fail (or silently mislead) later."""
    from rtg_core.model import AUTO_DTYPE, COMPUTE_DTYPES, DEVICE_CHOICES

    m, d, lo, o, t = config.model, config.data, config.lora, config.optim, config.train
    problems = []
    if m.device not in DEVICE_CHOICES:
        problems.append(f"model.device {m.device!r}: use one of {', '.join(DEVICE_CHOICES)}")
    if m.compute_dtype in ("float16", "fp16"):
        problems.append("fp16 is not supported here (its range overflows in QLoRA training); use bfloat16 or "
                        "float32 (model.compute_dtype)")
    elif m.compute_dtype not in (*COMPUTE_DTYPES, AUTO_DTYPE):
        problems.append(f"model.compute_dtype {m.compute_dtype!r}: use one of {', '.join(COMPUTE_DTYPES)} or "
                        f"{AUTO_DTYPE}")
    if d.max_seq_length < 16:
        problems.append(f"data.max_seq_length {d.max_seq_length} leaves no room for a prompt; use 1024")
    if not 0 <= d.proptest_share_min <= d.proptest_share_max <= 1:
        problems.append("data.proptest_share_min/max must satisfy 0 <= min <= max <= 1")
    if d.proptest_max_repeats < 1:
        problems.append("data.proptest_max_repeats must be >= 1 (1: never repeat a property to reach the share)")
    if d.max_eval_samples < 1:
        problems.append("data.max_eval_samples must be >= 1")
    if lo.rank < 1 or lo.alpha <= 0:
        problems.append("lora.rank must be >= 1 and lora.alpha > 0")
    if not 0 <= lo.dropout < 1:
        problems.append("lora.dropout must be in [0, 1)")
    if not lo.targets:
        problems.append("lora.targets is empty: name the linear layers to adapt, e.g. q_proj, v_proj")
    if o.lr <= 0 or o.weight_decay < 0 or o.max_grad_norm <= 0:
        problems.append("optim.lr and optim.max_grad_norm must be > 0, optim.weight_decay >= 0")
    if not 0 <= o.warmup_ratio < 1 or not 0 <= o.min_lr_ratio <= 1:
        problems.append("optim.warmup_ratio must be in [0, 1) and optim.min_lr_ratio in [0, 1]")
    if t.epochs <= 0 and t.max_steps is None:
        problems.append("train.epochs must be > 0 (or set train.max_steps)")
    if t.max_steps is not None and t.max_steps < 1:
        problems.append("train.max_steps must be >= 1 (or unset, to train for train.epochs)")
    for key in ("batch_size", "grad_accum", "eval_steps", "save_steps", "save_total_limit", "log_steps",
                "spike_window"):
        if getattr(t, key) < 1:
            problems.append(f"train.{key} must be >= 1")
    if t.spike_factor <= 1:
        problems.append("train.spike_factor must be > 1 (it multiplies the recent mean loss)")
    if t.cpu_threads < 0:
        problems.append("train.cpu_threads must be >= 0 (0: torch's default)")
    if problems:
        raise ConfigError("; ".join(problems))
