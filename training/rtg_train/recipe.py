"""The QLoRA fine-tuning recipe. It reads top to bottom:

    check settings → set up (distributed, determinism, device, logging, corpus, model directory, tokenizer,
    data, model, loss, optimizer, scheduler, resume state, run files) → train → save → clean up

Each set-up step is one small function that takes its own slice of the config. QLoRA is a setting of the model
set-up (`model.load_in_4bit`), not a second loop. Under `accelerate launch` / `torchrun` (WORLD_SIZE > 1) the same
code runs DDP: each rank takes its share of every step's samples, and only rank 0 writes files.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import resource
import sys
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as td
import torch.utils.deterministic
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LambdaLR
from tqdm import tqdm

from rtg_core.base_models import weights_summary
from rtg_core.files import file_sha256, tree_sha256
from rtg_core.model import (DeviceChoice, choose_device, load_base_model, load_tokenizer, resolve_compute_dtype,
                            resolve_model)
from rtg_core.prompt import answer, chat_prompt
from rtg_core.tiny_qwen2 import SMOKE_NOTE, TINY_QWEN2, build_tiny_qwen2
from rtg_train import checkpoint as ckpt
from rtg_train import repro
from rtg_train.config import (ConfigError, DataConfig, LoraSettings, ModelConfig, OptimConfig, TrainConfig,
                              TrainSettings, check_config)
from rtg_train.data import (IGNORE, Corpus, DataOrder, Example, Mix, collate, load_corpus, micro_batches, plan_mix,
                            tokenize, total_steps)

log = logging.getLogger("rtg_train")
LOSS_CHUNK_TOKENS = 1024  # answer positions per chunk of the vocabulary projection: 0.6 GB of fp32 logits on Qwen


class JidokaStop(RuntimeError):
    """Training stopped itself on a bad loss; a diagnostic was saved."""


# ---------------------------------------------------------------------------------------------------------------
# The run


def run(config: TrainConfig, resume_from: Path | None = None) -> dict:
    """Train; return the metrics written to metrics.json. `resume_from`: a step-N checkpoint of this run."""
    check_config(config)
    output = Path(config.output)
    started = time.monotonic()
    dist = setup_distributed()
    run_files = None
    try:
        device = choose_device(config.model.device)
        # "auto" is settled once, here, so config.yaml, the lock and the card name the dtype the run used
        config = replace(config, model=replace(config.model, compute_dtype=resolve_compute_dtype(
            config.model.compute_dtype, device)))
        setup_determinism(config.seed + dist.rank, config.train, config.model.name, device)
        if dist.is_main:
            setup_logging(output)
        log.info("rtg-train: %s -> %s on %s (%s), %s%s", config.model.name, output, device.torch_device,
                 device.reason, ("NF4, " if config.model.load_in_4bit else "") + config.model.compute_dtype,
                 f", {dist.world_size} processes" if dist.world_size > 1 else "")
        corpus = load_corpus(config.data.path)
        model_dir = setup_model_dir(config.model, corpus, output, dist)
        if resume_from is not None and dist.is_main:
            check_same_inputs(output, corpus, model_dir)
        tokenizer = load_tokenizer(model_dir)
        data = setup_data(corpus, tokenizer, config.data, config.train, config.seed, dist.world_size)
        model = setup_model(model_dir, device, config.model, config.lora)
        loss_fn = setup_loss(model, device, dist)
        optimizer = setup_optimizer(model, config.optim)
        scheduler = setup_scheduler(optimizer, config.optim, data.total_steps)
        state = setup_state(resume_from, model, optimizer, scheduler, dist)
        run_files = setup_run_files(output, config, corpus, model_dir, model, state, dist) if dist.is_main else None

        train_loop(config, data, model, loss_fn, optimizer, scheduler, state, device, dist, run_files)

        metrics = save_results(config, state, data, model, device, run_files, started) if dist.is_main else {}
        dist.barrier()
        return metrics
    finally:
        cleanup(dist, run_files)


# ---------------------------------------------------------------------------------------------------------------
# Set-up, in the order `run` calls it


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            td.barrier()

    def sum(self, value: float) -> float:
        if self.world_size == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64,
                              device="cuda" if td.get_backend() == "nccl" else "cpu")
        td.all_reduce(tensor)
        return tensor.item()

    def gather(self, obj) -> list:
        if self.world_size == 1:
            return [obj]
        gathered = [None] * self.world_size
        td.all_gather_object(gathered, obj)
        return gathered


def setup_distributed() -> Distributed:
    """One process, or the DDP process group that `accelerate launch` / `torchrun` describe in the environment."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    if not td.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        td.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Distributed(td.get_rank(), td.get_world_size())


def setup_determinism(seed: int, settings: TrainSettings, model_name: str, device: DeviceChoice) -> None:
    """CPU threads; seed every generator; with `deterministic`, make torch pick only deterministic kernels.

    On the CPU that is strict (an op without a deterministic kernel fails). On CUDA an op without one only warns:
    a run should not die at step 1 over an attention kernel, and the lock records the device for comparisons.
    """
    threads = settings.cpu_threads or (1 if model_name == TINY_QWEN2 else 0)
    if threads:
        torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if settings.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it for deterministic matmuls
        torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
        # ... which also NaN-fills every new tensor; nothing here reads memory it has not written, so skip that
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.benchmark = False
    _quiet_libraries()


def setup_logging(output: Path) -> None:
    """Log lines to <output>/training.log (appended across resumes) and to stderr, above the progress bar."""
    output.mkdir(parents=True, exist_ok=True)
    log.setLevel(logging.INFO)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    to_file = logging.FileHandler(output / "training.log")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(to_file)
    log.addHandler(_TqdmHandler())


def setup_model_dir(settings: ModelConfig, corpus: Corpus, output: Path, dist: Distributed) -> Path:
    """The base model's directory: a local dir, the hub cache (or a download), or a freshly built tiny-qwen2."""
    if settings.name != TINY_QWEN2:
        return resolve_model(settings.name)
    model_dir = output / TINY_QWEN2
    if dist.is_main and not (model_dir / "model.safetensors").is_file():
        texts = [chat_prompt(s.code) + answer(s.tests) for s in corpus.train]
        tmp = output / f".tmp-{TINY_QWEN2}-{os.getpid()}"
        build_tiny_qwen2(texts, tmp, seed=settings.tiny_qwen2_seed)
        tmp.rename(model_dir)
        log.info("built %s in %s (tokenizer trained on %d training samples). %s", TINY_QWEN2, model_dir,
                 len(texts), SMOKE_NOTE)
    dist.barrier()
    return model_dir


@dataclass
class TrainingData:
    train: list[Example]
    validation: list[Example]
    order: DataOrder
    mix: Mix
    total_steps: int
    pad_id: int
    dropped: dict[str, int]
    shortened: dict[str, int]


def setup_data(corpus: Corpus, tokenizer, settings: DataConfig, schedule: TrainSettings, seed: int,
               world_size: int) -> TrainingData:
    splits = {split: tokenize(samples, tokenizer, settings.max_seq_length, settings.shorten_long_prompts)
              for split, samples in (("training", corpus.train), ("validation", corpus.validation))}
    for split, tokenized in splits.items():
        if tokenized.shortened:
            kinds = Counter(left_out for _, left_out in tokenized.shortened)
            log.info("shortened %d %s samples to fit data.max_seq_length=%d tokens: %s", len(tokenized.shortened),
                     split, settings.max_seq_length, ", ".join(f"{n} without their context's {kind}"
                                                               for kind, n in sorted(kinds.items())))
        if tokenized.dropped:
            dropped = tokenized.dropped
            log.info("dropped %d of %d %s samples longer than data.max_seq_length=%d tokens (longest %d): %s",
                     len(dropped), len(dropped) + len(tokenized.examples), split, settings.max_seq_length,
                     max(n for _, n in dropped), ", ".join(i for i, _ in dropped[:5]) + (" ..." if len(dropped) > 5
                                                                                       else ""))
    train, validation = splits["training"].examples, splits["validation"].examples
    if not train:
        raise ConfigError(f"every training sample is longer than data.max_seq_length={settings.max_seq_length} "
                          "tokens; raise it")
    validation = validation[:settings.max_eval_samples]
    if not validation:
        log.info("no validation samples: checkpoints/best will be the last checkpoint")
    mix, weights = plan_mix([e.is_proptest for e in train], settings.proptest_share_min, settings.proptest_share_max,
                            settings.proptest_max_repeats)
    if mix.weighted and mix.expected_share < settings.proptest_share_min:
        how = (f"weighted to {100 * mix.expected_share:.1f}% per epoch, short of {settings.proptest_share_min:.0%}: "
               f"at most {settings.proptest_max_repeats:g} draws per property per epoch")
    elif mix.weighted:
        how = f"weighted to {100 * mix.expected_share:.1f}% per epoch"
    elif settings.proptest_share_min <= mix.natural_share <= settings.proptest_share_max:
        how = "within the target range, unweighted"
    else:
        how = f"outside {settings.proptest_share_min:.0%}-{settings.proptest_share_max:.0%}, but nothing to weight"
    log.info("training mix: %d samples, proptest share %.1f%%, %s", len(train), 100 * mix.natural_share, how)
    per_step = schedule.batch_size * schedule.grad_accum * world_size
    steps = total_steps(len(train), per_step, schedule.epochs, schedule.max_steps)
    pad_id = tokenizer.pad_token_id
    return TrainingData(train, validation, DataOrder(weights, mix.weighted, seed, per_step), mix, steps, pad_id,
                        {"train": len(splits["training"].dropped), "validation": len(splits["validation"].dropped)},
                        {"train": len(splits["training"].shortened),
                         "validation": len(splits["validation"].shortened)})


def setup_model(model_dir: Path, device: DeviceChoice, settings: ModelConfig, lora: LoraSettings):
    """The base model (NF4 4-bit for QLoRA), frozen, with LoRA adapters on `lora.targets`."""
    from peft import LoraConfig, get_peft_model

    base = load_base_model(model_dir, device, settings.load_in_4bit, settings.compute_dtype, settings.double_quant)
    base.config.use_cache = False
    for parameter in base.parameters():
        parameter.requires_grad_(False)
    # Norms and embeddings stay in the compute dtype (peft's prepare_model_for_kbit_training would upcast them to
    # fp32: ~0.5 GB more for Qwen's 151k x 896 embedding, for no gain in a frozen base).
    if settings.gradient_checkpointing:
        base.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    config = LoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=sorted(lora.targets), bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(base, config)  # LoRA weights are fp32 (peft's default), so AdamW's states are too
    trainable, total = model.get_nb_trainable_parameters()
    log.info("LoRA r%d alpha %g on %s: %s trainable parameters of %s", lora.rank, lora.alpha,
             ",".join(sorted(lora.targets)), f"{trainable:,}", f"{total:,}")
    if base.config.model_type == "qwen2" and trainable != lora_parameter_count(base.config, lora.rank, lora.targets):
        log.warning("LoRA has %d trainable parameters, but rank x (in + out) over the targets gives %d: were some "
                    "target modules not found?", trainable, lora_parameter_count(base.config, lora.rank, lora.targets))
    return model


def lora_parameter_count(model_config, rank: int, targets: tuple[str, ...] | list[str]) -> int:
    """LoRA's trainable parameters on a Qwen2-architecture model: rank x (in + out) per adapted linear layer."""
    hidden, layers = model_config.hidden_size, model_config.num_hidden_layers
    head_dim = getattr(model_config, "head_dim", None) or hidden // model_config.num_attention_heads
    q, kv = model_config.num_attention_heads * head_dim, model_config.num_key_value_heads * head_dim
    inter = model_config.intermediate_size
    shapes = {"q_proj": (hidden, q), "k_proj": (hidden, kv), "v_proj": (hidden, kv), "o_proj": (q, hidden),
              "gate_proj": (hidden, inter), "up_proj": (hidden, inter), "down_proj": (inter, hidden)}
    unknown = sorted(set(targets) - set(shapes))
    if unknown:
        raise ValueError(f"no Qwen2 linear layer named {unknown[0]}; LoRA targets are among {', '.join(shapes)}")
    return layers * sum(rank * sum(shapes[t]) for t in targets)


def setup_loss(model, device: DeviceChoice, dist: Distributed):
    loss_fn = CompletionLoss(model)
    if dist.world_size > 1:
        return DistributedDataParallel(loss_fn, device_ids=[device.index] if device.type == "cuda" else None)
    return loss_fn


def setup_optimizer(model, settings: OptimConfig):
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=settings.lr, betas=tuple(settings.betas), weight_decay=settings.weight_decay,
                             foreach=False)  # states stay in the fp32 of the LoRA weights


def setup_scheduler(optimizer, settings: OptimConfig, steps: int):
    warmup = math.ceil(settings.warmup_ratio * steps)
    return LambdaLR(optimizer, lambda step: lr_factor(step, warmup, steps, settings.min_lr_ratio))


def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up to 1 over `warmup` steps (the first step already learns), then cosine down to `min_ratio`."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class TrainerState:
    """What a checkpoint remembers besides weights, optimizer, scheduler and RNG: counters and curves."""
    step: int = 0  # optimizer steps done
    losses: list[float] = field(default_factory=list)  # training loss of each step
    lrs: list[float] = field(default_factory=list)
    val_losses: list[list[float]] = field(default_factory=list)  # [step, loss]
    best_val_loss: float | None = None
    best_step: int | None = None
    tokens: int = 0  # non-padding input tokens trained on (this rank x world size)
    target_tokens: int = 0  # of which the loss was computed on
    train_seconds: float = 0.0  # inside optimizer steps, across sessions
    step_seconds: list[float] = field(default_factory=list)  # each step's time (benchmarks skip the first)
    step_tokens: list[int] = field(default_factory=list)  # each step's non-padding input tokens
    sessions: int = 1
    world_size: int = 1


def setup_state(resume_from: Path | None, model, optimizer, scheduler, dist: Distributed) -> TrainerState:
    """A fresh state, or the checkpoint's: LoRA weights, optimizer, scheduler and RNG restored exactly."""
    if resume_from is None:
        return TrainerState(world_size=dist.world_size)
    state = TrainerState(**json.loads((resume_from / ckpt.STATE).read_text()))
    if state.world_size != dist.world_size:
        raise ConfigError(f"{resume_from} was trained by {state.world_size} processes; resume it with as many "
                          f"(this run has {dist.world_size}), or each step would see other samples")
    ckpt.load_adapter_weights(model, resume_from)
    ckpt.load_training_state(resume_from, optimizer, scheduler, dist.rank)
    state.sessions += 1
    log.info("resumed from %s at step %d", resume_from, state.step)
    return state


def check_same_inputs(output: Path, corpus: Corpus, model_dir: Path) -> None:
    """A resumed run must train on the bytes the run started with: compare with its reproducibility.lock."""
    lock_file = output / "reproducibility.lock"
    if not lock_file.is_file():
        return
    recorded = json.loads(lock_file.read_text())
    changed = [f"dataset file {name}" for name, digest in recorded["dataset"]["files_sha256"].items()
               if corpus.sha256.get(name) != digest]
    now = tree_sha256(model_dir)
    changed += [f"model file {name}" for name, digest in recorded["model"]["files_sha256"].items()
                if now.get(name) != digest]
    if changed:
        raise ConfigError(f"--resume: {', '.join(changed)} changed since the run started (see {lock_file}); "
                          "restore them, or start a new run with another --output")


@dataclass
class RunFiles:
    output: Path
    base_model: str  # as adapter_config.json names it: the hub id, or the absolute path of a local model
    config_yaml: str
    lock: dict
    writer: object  # a TensorBoard SummaryWriter


def setup_run_files(output: Path, config: TrainConfig, corpus: Corpus, model_dir: Path, model, state: TrainerState,
                    dist: Distributed) -> RunFiles:
    """config.yaml, a first reproducibility.lock (adapter hashes come at the end), TensorBoard under runs/."""
    from torch.utils.tensorboard import SummaryWriter

    ckpt.clean_partial(output)
    config_yaml = config.to_yaml()
    (output / "config.yaml").write_text(config_yaml)
    trainable, total = model.get_nb_trainable_parameters()
    lock = repro.lock(
        config.hash(), config.seed,
        model={"name": config.model.name, "directory": str(model_dir), "files_sha256": tree_sha256(model_dir),
               "weights": weights_summary(model_dir),
               "trainable_parameters": trainable, "parameters": total,
               **({"note": SMOKE_NOTE} if config.model.name == TINY_QWEN2 else {})},
        dataset={"source": corpus.source, "files_sha256": corpus.sha256},
        adapters={})
    lock["world_size"] = dist.world_size
    repro.write_lock(output / "reproducibility.lock", lock)
    writer = SummaryWriter(log_dir=str(output / "runs"), purge_step=state.step or None)
    hub_id = config.model.name != TINY_QWEN2 and not Path(config.model.name).expanduser().is_dir()
    # A directory `rtg-model fetch` built records its hub id: the adapter then names the id, and stays portable.
    fetched_as = (lock["model"]["weights"] or {}).get("hub_id")
    base_model = config.model.name if hub_id else fetched_as or str(Path(model_dir).resolve())
    return RunFiles(output, base_model, config_yaml, lock, writer)


# ---------------------------------------------------------------------------------------------------------------
# Train


class CompletionLoss(torch.nn.Module):
    """Summed cross-entropy over the answer tokens only.

    The vocabulary projection runs only where there is a label, and a chunk at a time with its gradient taken on
    the spot (`_FrozenHeadCrossEntropy`), so the [tokens x vocabulary] logits never exist at once and are never
    recomputed (Qwen's vocabulary is 151,936: a 1024-token batch of 4 has 2.5 GB of fp32 logits).
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, labels):
        causal_lm = self.model.get_base_model()
        hidden = causal_lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask,
                                         use_cache=False).last_hidden_state
        targets = labels[:, 1:]
        keep = targets != IGNORE
        hidden, targets = hidden[:, :-1][keep], targets[keep]
        head = causal_lm.get_output_embeddings()
        if head.weight.requires_grad or head.bias is not None:  # a trained or biased head: let autograd do it
            return F.cross_entropy(head(hidden).float(), targets, reduction="sum")
        need_grad = torch.is_grad_enabled() and hidden.requires_grad
        return _FrozenHeadCrossEntropy.apply(hidden, head.weight, targets, need_grad)


class _FrozenHeadCrossEntropy(torch.autograd.Function):
    """sum_i CE(hidden_i @ weight.T, target_i) for a frozen `weight`, in chunks of LOSS_CHUNK_TOKENS rows.

    The forward pass also computes d loss / d hidden = (softmax - onehot) @ weight chunk by chunk, keeping only
    that [tokens x hidden] result for backward: the same two matmuls autograd would do, without storing logits.
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, need_grad):
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad = torch.empty_like(hidden) if need_grad else None
        for start in range(0, targets.numel(), LOSS_CHUNK_TOKENS):
            rows = slice(start, start + LOSS_CHUNK_TOKENS)
            logits = (hidden[rows] @ weight.T).float()
            log_z = torch.logsumexp(logits, dim=-1)
            total += (log_z - logits.gather(1, targets[rows].unsqueeze(1)).squeeze(1)).sum()
            if need_grad:  # d loss / d hidden = (softmax - onehot) @ W, as autograd would compute it
                probs = torch.exp(logits - log_z.unsqueeze(1))
                picked = torch.arange(probs.shape[0], device=probs.device)
                probs[picked, targets[rows]] -= 1  # index_put without accumulate: deterministic on CUDA too
                grad[rows] = probs.to(weight.dtype) @ weight
        ctx.save_for_backward(grad)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        (grad,) = ctx.saved_tensors
        return (grad.float() * grad_total).to(grad.dtype), None, None, None  # scale in fp32: one rounding


def train_loop(config: TrainConfig, data: TrainingData, model, loss_fn, optimizer, scheduler, state: TrainerState,
               device: DeviceChoice, dist: Distributed, files: RunFiles | None) -> None:
    settings = config.train
    params = [p for p in model.parameters() if p.requires_grad]
    bar = tqdm(total=data.total_steps, initial=state.step, desc="rtg-train", unit="step", file=sys.stderr,
               disable=None if dist.is_main else True, dynamic_ncols=True)
    model.train()
    try:
        while state.step < data.total_steps:
            indices = data.order.step(state.step)
            started = time.perf_counter()
            loss, targets, tokens = forward_backward(data, indices, loss_fn, settings.batch_size, device, dist)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.optim.max_grad_norm))
            lr = scheduler.get_last_lr()[0]
            jidoka(config, state, loss, grad_norm, lr, indices, data, model, dist, files)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - started

            state.step += 1
            state.losses.append(loss)
            state.lrs.append(lr)
            state.tokens += tokens
            state.target_tokens += targets
            state.train_seconds += elapsed
            state.step_seconds.append(round(elapsed, 6))
            state.step_tokens.append(tokens)
            andon(bar, state, loss, lr, grad_norm, elapsed, tokens, data, files, settings)

            at_end = state.step == data.total_steps
            if state.step % settings.eval_steps == 0 or at_end:
                evaluate(config, data, model, loss_fn, state, device, dist, files)
            if state.step % settings.save_steps == 0 or at_end:
                save_step_checkpoint(config, model, optimizer, scheduler, state, dist, files)
    finally:
        bar.close()


def forward_backward(data: TrainingData, indices: list[int], loss_fn, batch_size: int, device: DeviceChoice,
                     dist: Distributed) -> tuple[float, int, int]:
    """Accumulate one optimizer step's gradients; return its loss (mean over answer tokens), answer tokens and
    input tokens, over all ranks."""
    targets = sum(data.train[i].target_tokens for i in indices)  # known up front: every rank sees all indices
    tokens = sum(len(data.train[i].input_ids) for i in indices)
    batches = micro_batches(data.train, indices, batch_size, dist.rank, dist.world_size)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device.torch_device)
    for number, batch in enumerate(batches):
        input_ids, attention_mask, labels = (t.to(device.torch_device) for t in collate(batch, data.pad_id))
        last = number == len(batches) - 1
        with contextlib.nullcontext() if last or dist.world_size == 1 else loss_fn.no_sync():  # sync once per step
            summed = loss_fn(input_ids, attention_mask, labels)
            (summed * (dist.world_size / targets)).backward()  # DDP averages ranks: sum over all / all targets
        loss_sum += summed.detach()
    return dist.sum(loss_sum.item()) / targets, targets, tokens


def jidoka_reason(recent: list[float], loss: float, grad_norm: float, factor: float, window: int) -> str | None:
    """Why this step must stop the line, or None: a non-finite loss or gradient, or a spike over the recent mean."""
    if not math.isfinite(loss) or not math.isfinite(grad_norm):
        return f"non-finite {'loss' if not math.isfinite(loss) else 'gradient norm'} (loss {loss}, grad norm {grad_norm})"
    recent = recent[-window:]
    if len(recent) == window and loss > factor * (sum(recent) / window):
        return (f"loss {loss:.4f} > train.spike_factor {factor:g} x the mean of the last {window} losses "
                f"({sum(recent) / window:.4f})")
    return None


def jidoka(config: TrainConfig, state: TrainerState, loss: float, grad_norm: float, lr: float, indices: list[int],
           data: TrainingData, model, dist: Distributed, files: RunFiles | None) -> None:
    """Stop the line on a NaN/inf loss or gradient, or a loss spike; save what is needed to see why."""
    settings = config.train
    reason = jidoka_reason(state.losses, loss, grad_norm, settings.spike_factor, settings.spike_window)
    if reason is None:
        return
    step = state.step + 1
    where = files.output / "diagnostics" / f"step-{step}" if files is not None else None
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
        ckpt.save_adapter(model, where, files.base_model)  # the weights before the bad update
        (where / "diagnostic.json").write_text(json.dumps({
            "step": step, "reason": reason, "loss": _json_number(loss), "grad_norm": _json_number(grad_norm),
            "lr": lr, "recent_losses": state.losses[-settings.spike_window:],
            "sample_ids": [data.train[i].id for i in indices],
        }, indent=2) + "\n")
        (where / "config.yaml").write_text(files.config_yaml)
        log.error("jidoka: stopped at step %d: %s; diagnostic in %s", step, reason, where)
    raise JidokaStop(f"stopped at step {step}: {reason}. The batch, recent losses and the weights before the update "
                     f"are in {where}. Lower optim.lr or check those samples, then resume from the last checkpoint "
                     f"with --resume (raise train.spike_factor if such a spike is expected).")


def andon(bar, state: TrainerState, loss: float, lr: float, grad_norm: float, elapsed: float, tokens: int,
          data: TrainingData, files: RunFiles | None, settings: TrainSettings) -> None:
    """The progress bar (loss, lr, tokens/s, ETA), training.log and TensorBoard."""
    speed = tokens / elapsed if elapsed > 0 else 0.0
    bar.set_postfix_str(f"loss {loss:.4f} lr {lr:.2e} {speed:,.0f} tok/s", refresh=False)
    bar.update(1)
    if files is None or (state.step % settings.log_steps and state.step != data.total_steps):
        return
    eta = (data.total_steps - state.step) * state.train_seconds / state.step  # training time only
    log.info("step %d/%d epoch %.2f loss %.4f lr %.3e grad_norm %.3f tok/s %.0f eta %s", state.step,
             data.total_steps, data.order.epoch_of(state.step), loss, lr, grad_norm, speed, _hms(eta))
    files.writer.add_scalar("train/loss", loss, state.step)
    files.writer.add_scalar("train/lr", lr, state.step)
    files.writer.add_scalar("train/grad_norm", grad_norm, state.step)
    files.writer.add_scalar("train/tokens_per_second", speed, state.step)


def validation_loss(loss_fn, examples: list[Example], batch_size: int, pad_id: int, device: DeviceChoice,
                    dist: Distributed) -> float | None:
    """Token-weighted mean loss over `examples` (each rank takes its share), in eval mode without gradients."""

    if not examples:
        return None
    mine = examples[dist.rank::dist.world_size]
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(mine), batch_size):
            batch = mine[start:start + batch_size]
            input_ids, attention_mask, labels = (t.to(device.torch_device) for t in collate(batch, pad_id))
            total += loss_fn(input_ids, attention_mask, labels).item()
            count += sum(e.target_tokens for e in batch)
    return dist.sum(total) / dist.sum(count)


def evaluate(config: TrainConfig, data: TrainingData, model, loss_fn, state: TrainerState, device: DeviceChoice,
             dist: Distributed, files: RunFiles | None) -> None:
    """Validate; keep the adapter as checkpoints/best when it is the best so far (or when there is no validation)."""
    inner = getattr(loss_fn, "module", loss_fn)  # DDP's wrapper syncs gradients; validation has none
    model.eval()
    try:
        val = validation_loss(inner, data.validation, config.train.batch_size, data.pad_id, device, dist)
    finally:
        model.train()
    improved = val is None or state.best_val_loss is None or val < state.best_val_loss
    if val is not None:
        state.val_losses.append([state.step, val])
    if improved:
        state.best_val_loss, state.best_step = val, state.step
    if files is None:
        return
    if val is not None:
        files.writer.add_scalar("val/loss", val, state.step)
        log.info("step %d validation loss %.4f%s", state.step, val, " (best)" if improved else
                 f" (best {state.best_val_loss:.4f} at step {state.best_step})")
    if improved:
        ckpt.write_checkpoint(files.output, "best", model, files.base_model, files.config_yaml, asdict(state))


def save_step_checkpoint(config: TrainConfig, model, optimizer, scheduler, state: TrainerState, dist: Distributed,
                         files: RunFiles | None) -> None:
    rng = dist.gather(ckpt.rng_state())  # every rank's generators: dropout draws differ per rank
    if files is not None:
        path = ckpt.write_checkpoint(files.output, f"step-{state.step}", model, files.base_model,
                                     files.config_yaml, asdict(state), optimizer, scheduler, rng)
        removed = ckpt.rotate(files.output, config.train.save_total_limit)
        log.info("saved %s%s", path.relative_to(files.output),
                 f" (removed {', '.join(p.name for p in removed)})" if removed else "")
    dist.barrier()


# ---------------------------------------------------------------------------------------------------------------
# Save and clean up


def save_results(config: TrainConfig, state: TrainerState, data: TrainingData, model, device: DeviceChoice,
                 files: RunFiles, started: float) -> dict:
    """The final reproducibility.lock (with adapter hashes) and metrics.json; return the metrics."""
    output = files.output
    adapters = {}
    for _, path in ckpt.step_checkpoints(output) + [(None, ckpt.checkpoints_dir(output) / "best")]:
        weights = path / ckpt.ADAPTER_WEIGHTS
        if weights.is_file():
            adapters[str(weights.relative_to(output))] = file_sha256(weights)
    files.lock["adapters"] = adapters
    repro.write_lock(output / "reproducibility.lock", files.lock)
    if device.type == "cuda":  # the device trained on: a --device cpu run on a GPU machine is a CPU-only run
        peak, peak_kind = torch.cuda.max_memory_allocated(), "cuda_max_memory_allocated"
    else:
        peak, peak_kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "cpu_max_rss"
    trainable, total = model.get_nb_trainable_parameters()
    metrics = {
        "model": config.model.name,
        **({"note": SMOKE_NOTE} if config.model.name == TINY_QWEN2 else {}),
        "steps": state.step,
        "final_loss": state.losses[-1] if state.losses else None,
        "final_val_loss": state.val_losses[-1][1] if state.val_losses else None,
        "best_val_loss": state.best_val_loss,
        "best_step": state.best_step,
        "tokens": state.tokens,
        "target_tokens": state.target_tokens,
        "tokens_per_second": round(state.tokens / state.train_seconds, 1) if state.train_seconds else None,
        "train_seconds": round(state.train_seconds, 3),
        "wall_seconds": round(time.monotonic() - started, 3),  # this session's, set-up included
        "sessions": state.sessions,
        "peak_memory_bytes": peak,
        "peak_memory_kind": peak_kind,
        "trainable_parameters": trainable,
        "parameters": total,
        "dropped_samples": data.dropped,
        "shortened_samples": data.shortened,
        "git_commit": files.lock["git_commit"],
        "config_hash": config.hash(),
        "adapter_sha256": adapters.get("checkpoints/best/" + ckpt.ADAPTER_WEIGHTS),
        "losses": state.losses,
        "val_losses": state.val_losses,
    }
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log.info("done: %d steps, final loss %.4f, best validation loss %s at step %s, %s tok/s, peak memory %.2f GiB; "
             "adapter in %s", state.step, metrics["final_loss"], _fmt(state.best_val_loss), state.best_step,
             metrics["tokens_per_second"], peak / 2**30, ckpt.checkpoints_dir(output) / "best")
    return metrics


def cleanup(dist: Distributed, files: RunFiles | None) -> None:
    if files is not None:
        files.writer.close()
    for handler in list(log.handlers):
        handler.flush()
    if dist.world_size > 1:
        if td.is_initialized():
            td.destroy_process_group()


# ---------------------------------------------------------------------------------------------------------------
# Small helpers


class _TqdmHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
            tqdm.write(self.format(record), file=sys.stderr)


def _quiet_libraries() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:
        pass
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*kernels.*")
    warnings.filterwarnings("ignore", message=".*use_reentrant.*")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*deprecated.*")  # peft asks the old name


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # JSON has no NaN or Infinity


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
