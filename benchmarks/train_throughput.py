"""Training throughput: rtg's trainer against a plain TRL SFTTrainer, same QLoRA settings, in one run.

    .venv/bin/python benchmarks/train_throughput.py                  # GPU: the real size; CPU: a short smoke
    .venv/bin/python benchmarks/train_throughput.py --preset full    # force the real size (slow on a CPU)

The model is the Qwen2.5-Coder-0.5B architecture (hidden 896, 24 layers, 14 query / 2 kv heads, intermediate 4864,
vocabulary 151,936, tied embeddings) with random weights: nothing is downloaded. The data are synthetic Rust
function -> tests samples of nearly `--seq-len` tokens in rtg's prompt format; both trainers compute the loss on the
tests only. Both: NF4 4-bit base with bf16 compute, LoRA r16 alpha 32 dropout 0.05 on the seven linear layers,
AdamW lr 2e-4, cosine to 0.1 x lr, clip 1.0, gradient checkpointing, the same batch x accumulation and steps.

Each trainer runs in its own process, so peak memory is its own: torch.cuda.max_memory_allocated on a GPU, the
process's maximum RSS on a CPU. Throughput is non-padding input tokens over the time of the steady steps (the
first step, warm-up, is not counted). The smoke preset keeps the real width and vocabulary but 2 layers and short
sequences, so a CPU finishes in minutes: its figures show that both paths run, not GPU speed.

Targets on a GPU (spec stretch): rtg >= 1.5x TRL's tokens/s at <= 0.7x its peak memory, and peak memory < 5 GB.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRESETS = {  # layers, sequence length, batch, accumulation, steps (the first is warm-up)
    "full": dict(layers=24, seq_len=1024, batch_size=4, grad_accum=4, steps=6),
    "smoke": dict(layers=2, seq_len=256, batch_size=1, grad_accum=2, steps=3),
}
LORA = dict(r=16, lora_alpha=32, lora_dropout=0.05,
            target_modules=["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"])
SEED = 42


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=PRESETS, help="default: full on CUDA, smoke otherwise")
    for key in PRESETS["full"]:
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, help="override the preset")
    parser.add_argument("--samples", type=int, default=64, help="synthetic training samples")
    parser.add_argument("--workdir", type=Path, help="keep the model, data and runs here (default: a temp dir)")
    parser.add_argument("--trl-child", nargs=3, metavar=("MODEL", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    preset = args.preset or ("full" if torch.cuda.is_available() else "smoke")
    shape = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in PRESETS[preset].items()}
    if args.trl_child:
        print(json.dumps(run_trl(*map(Path, args.trl_child), shape)))
        return
    with tempfile.TemporaryDirectory(prefix="rtg-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
        print(f"== train throughput, preset {preset} {shape}, on {device}", flush=True)
        started = time.monotonic()
        model_dir, data_dir = build_model_and_data(work, shape, args.samples)
        print(f"built a random {shape['layers']}-layer Qwen2.5-Coder-0.5B-shaped model and {args.samples} samples "
              f"in {time.monotonic() - started:.0f}s", flush=True)
        results = {"rtg": run_rtg(model_dir, data_dir, work / "rtg", shape),
                   "trl": run_child_trl(model_dir, data_dir, work / "trl", shape)}
    report(results, torch.cuda.is_available())


# ---------------------------------------------------------------------------------------------------------------
# Model and data


def build_model_and_data(work: Path, shape: dict, n_samples: int) -> tuple[Path, Path]:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from rtg_core.prompt import answer, chat_prompt
    from rtg_core.tiny_qwen2 import train_tokenizer

    rows = synthetic_rows(n_samples, shape["seq_len"] // 4)
    tokenizer = train_tokenizer([chat_prompt(r["input"]) + answer(r["output"]) for r in rows[:32]])
    rows = [fit(r, tokenizer, shape["seq_len"]) for r in rows]
    data_dir = work / "data"
    data_dir.mkdir(exist_ok=True)
    for split, part in (("train", rows), ("validation", rows[:1])):
        (data_dir / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))

    config = Qwen2Config(  # Qwen2.5-Coder-0.5B-Instruct's config.json, layers aside
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=shape["layers"],
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1_000_000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(SEED)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model_dir = work / "model"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    return model_dir, data_dir


def synthetic_rows(n: int, code_words: int) -> list[dict]:
    """Rust-looking function -> tests pairs; the tests are long (fit() trims them to the length budget)."""
    rng = random.Random(SEED)
    rows = []
    for i in range(n):
        name = f"compute_{rng.choice(['sum', 'score', 'weight', 'limit', 'offset'])}_{i}"
        body = "\n".join(f"    let v{j} = v{j - 1 if j else 'x'}.wrapping_mul({rng.randint(2, 97)}) ^ "
                         f"{rng.randint(0, 9999)};" for j in range(max(2, code_words // 12)))
        code = f"pub fn {name}(x: u64) -> u64 {{\n{body}\n    v{max(2, code_words // 12) - 1}\n}}\n"
        tests = "\n\n".join(
            f"#[test]\nfn {name}_case_{k}() {{\n    let got = {name}({rng.randint(0, 10**6)});\n"
            f"    assert_eq!(got, {name}({rng.randint(0, 10**6)}) ^ got ^ got);\n}}" for k in range(60))
        if i % 4 == 0:
            tests += (f"\n\nproptest! {{\n    #[test]\n    fn {name}_is_deterministic(x in any::<u64>()) {{\n"
                      f"        prop_assert_eq!({name}(x), {name}(x));\n    }}\n}}")
        rows.append({"id": f"bench/{i}", "input": code, "output": tests,
                     "metadata": {"test_kinds": ["unit", "proptest"] if i % 4 == 0 else ["unit"]}})
    return rows


def fit(row: dict, tokenizer, seq_len: int) -> dict:
    """Keep the most test functions for which prompt + answer stays within seq_len tokens."""
    from rtg_core.prompt import answer, chat_prompt

    prompt = len(tokenizer(chat_prompt(row["input"]), add_special_tokens=False)["input_ids"])
    tests = row["output"].split("\n\n")
    lo, hi = 1, len(tests)
    while lo < hi:  # the largest k with prompt + answer(first k tests) <= seq_len
        mid = (lo + hi + 1) // 2
        size = prompt + len(tokenizer(answer("\n\n".join(tests[:mid])), add_special_tokens=False)["input_ids"])
        lo, hi = (mid, hi) if size <= seq_len else (lo, mid - 1)
    return {**row, "output": "\n\n".join(tests[:lo]) + "\n"}


# ---------------------------------------------------------------------------------------------------------------
# The two trainers


def run_rtg(model_dir: Path, data_dir: Path, out: Path, shape: dict) -> dict:
    command = [str(Path(sys.executable).with_name("rtg-train")), "--model", str(model_dir), "--dataset",
               str(data_dir), "--output", str(out), "--seed", str(SEED), "--max-steps", str(shape["steps"]),
               "--batch-size", str(shape["batch_size"]), "--set", f"train.grad_accum={shape['grad_accum']}",
               "--set", f"data.max_seq_length={shape['seq_len']}", "--set", "train.eval_steps=1000000",
               "--set", "train.save_steps=1000000", "--set", "data.max_eval_samples=1"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"rtg-train failed ({done.returncode}):\n{done.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    state = json.loads((out / "checkpoints" / f"step-{shape['steps']}" / "trainer_state.json").read_text())
    return summary("rtg", state["step_seconds"], state["step_tokens"], metrics["peak_memory_bytes"],
                   time.monotonic() - started, metrics["losses"])


def run_child_trl(model_dir: Path, data_dir: Path, out: Path, shape: dict) -> dict:
    command = [sys.executable, __file__, "--trl-child", str(model_dir), str(data_dir), str(out),
               *[a for k, v in shape.items() for a in (f"--{k.replace('_', '-')}", str(v))]]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"TRL run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


def run_trl(model_dir: Path, data_dir: Path, out: Path, shape: dict) -> dict:
    """In a child process: a plain TRL SFTTrainer, prompt-completion data, completion-only loss."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from rtg_core.model import choose_device, load_base_model, load_tokenizer
    from rtg_core.prompt import answer, chat_prompt

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds, self.tokens, self._start = [], [], 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            self.seconds.append(time.perf_counter() - self._start)
            self.tokens.append(int(state.num_input_tokens_seen))

    cuda = torch.cuda.is_available()
    rows = [json.loads(line) for line in (data_dir / "train.jsonl").read_text().splitlines()]
    dataset = Dataset.from_list([{"prompt": chat_prompt(r["input"]), "completion": answer(r["output"])}
                                 for r in rows])
    tokenizer = load_tokenizer(model_dir)
    model = load_base_model(model_dir, choose_device("auto"), load_in_4bit=True, compute_dtype="bfloat16")
    args = SFTConfig(
        output_dir=str(out), max_steps=shape["steps"], per_device_train_batch_size=shape["batch_size"],
        gradient_accumulation_steps=shape["grad_accum"], learning_rate=2e-4, adam_beta1=0.9, adam_beta2=0.999,
        weight_decay=0.01, lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": 0.1},
        warmup_steps=0.03, max_grad_norm=1.0, gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False}, bf16=cuda, use_cpu=not cuda,
        max_length=shape["seq_len"], packing=False, completion_only_loss=True, logging_steps=1,
        save_strategy="no", eval_strategy="no", report_to="none", seed=SEED, dataloader_num_workers=0,
        include_num_input_tokens_seen="non_padding", optim="adamw_torch", disable_tqdm=True)
    timer = StepTimer()
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=LoraConfig(task_type="CAUSAL_LM", bias="none", **LORA), callbacks=[timer])
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    tokens = [b - a for a, b in zip([0, *timer.tokens], timer.tokens)]
    peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return summary("trl", timer.seconds, tokens, peak, None, losses)


# ---------------------------------------------------------------------------------------------------------------
# Report


def summary(name: str, seconds: list[float], tokens: list[int], peak: int, wall: float | None,
            losses: list[float]) -> dict:
    steady_s, steady_t = sum(seconds[1:]), sum(tokens[1:])
    return {"trainer": name, "steps": len(seconds), "tokens_per_second": round(steady_t / steady_s, 1),
            "first_step_seconds": round(seconds[0], 2), "steady_step_seconds": round(steady_s / (len(seconds) - 1), 2),
            "tokens_per_step": tokens[1:], "peak_memory_bytes": int(peak),
            "wall_seconds": None if wall is None else round(wall, 1), "losses": [round(l, 4) for l in losses]}


def report(results: dict, cuda: bool) -> None:
    kind = "peak VRAM (max_memory_allocated)" if cuda else "peak RSS"
    print(f"{'trainer':<8} {'tokens/s':>10} {'s/step':>8} {kind:>34} {'wall s':>8}  losses")
    for r in results.values():
        print(f"{r['trainer']:<8} {r['tokens_per_second']:>10,.1f} {r['steady_step_seconds']:>8.2f} "
              f"{r['peak_memory_bytes'] / 2**30:>30.2f} GiB {r['wall_seconds']:>8}  {r['losses']}")
    speed = results["rtg"]["tokens_per_second"] / results["trl"]["tokens_per_second"]
    memory = results["rtg"]["peak_memory_bytes"] / results["trl"]["peak_memory_bytes"]
    print(f"rtg / TRL: {speed:.2f}x tokens/s (target >= 1.5x on a GPU), {memory:.2f}x peak memory (target <= 0.7x); "
          f"rtg peak {results['rtg']['peak_memory_bytes'] / 1e9:.2f} GB (target < 5 GB on a GPU)")
    if not cuda:
        print("(CPU smoke: figures show that both paths run; the targets are for a GPU with the full preset)")
    print(json.dumps({"results": results, "tokens_per_second_ratio": round(speed, 3),
                      "peak_memory_ratio": round(memory, 3)}))


if __name__ == "__main__":
    main()
