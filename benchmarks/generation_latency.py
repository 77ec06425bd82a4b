"""Benchmark generation latency per function through `rtg_core.backends.LocalBackend` (the path rtg-eval,
rtg-generate and the server share). Prints figures; asserts nothing. Target (checklist e3): < 1 s per function,
batched.

    .venv/bin/python benchmarks/generation_latency.py [--functions 8] [--batch-size 8] [--max-new-tokens 256]
                                                      [--skip-real-size] [--devices cpu,cuda]

Rows:
- tiny-qwen2 (random, built here from the tiny corpus), NF4 4-bit as rtg loads it, and bf16;
- the real Qwen2.5-Coder-0.5B architecture (Qwen2Config: 896 hidden, 24 layers, 14/2 heads, 4864 MLP, 151936
  vocabulary, tied embeddings) with random weights, in bf16 and in float32 side by side (the header names the dtype
  `rtg_core.model.fast_compute_dtype` picks on this machine): no download. Random weights never end their turn, so
  every reply runs the full token budget: a worst case for the real model's latency;
- on CUDA too when a GPU is visible (`--devices cpu,cuda`), else the CUDA rows say "not measured".

Prompts are the first `--functions` HumanEvalPack-Rust functions when ../shared/benchmarks has them, else the tiny
corpus's. "s/function" = batch wall time / batch size, as rtg-eval reports it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from rtg_core.backends import LocalBackend
from rtg_core.prompt import answer, chat_prompt
from rtg_core.tiny_qwen2 import build_tiny_qwen2
from rtg_core.model import choose_device, fast_compute_dtype, load_tokenizer

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "tiny_corpus"
HUMANEVAL = ROOT.parent / "shared" / "benchmarks" / "humanevalpack-rust" / "humanevalpack-rust.jsonl"
# Qwen2.5-Coder-0.5B-Instruct's config.json, the fields that set the cost of a token.
QWEN_05B = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768, tie_word_embeddings=True,
                rope_theta=1_000_000.0, rms_norm_eps=1e-6)
TARGET_SECONDS = 1.0


def functions(limit: int) -> list[str]:
    if HUMANEVAL.is_file():
        rows = [json.loads(line) for line in HUMANEVAL.read_text().splitlines()[:limit]]
        return [r["declaration"] + r["canonical_solution"] for r in rows]
    rows = [json.loads(line) for line in (CORPUS / "train.jsonl").read_text().splitlines()]
    return [r["input"] for r in rows][:limit]


def measure(label: str, backend: LocalBackend, prompts: list[str], max_new_tokens: int) -> dict:
    backend.complete(prompts[:1], 4)  # warm-up: first-call allocations and kernels
    began = time.perf_counter()
    completions = backend.complete(prompts, max_new_tokens)
    wall = time.perf_counter() - began
    tokens = sum(c.new_tokens for c in completions)
    per_function = wall / len(prompts)
    row = {"setup": label, "batch": backend.batch_size, "functions": len(prompts),
           "mean_new_tokens": round(tokens / len(prompts), 1), "s_per_function": round(per_function, 3),
           "tokens_per_s": round(tokens / wall, 1),
           "p50_s": round(statistics.median(c.seconds for c in completions), 3),
           "e3": "pass" if per_function < TARGET_SECONDS else "fail"}
    print(f"{label:44} batch {row['batch']:>2}  {row['functions']} fns  {row['mean_new_tokens']:>6} tok/fn  "
          f"{row['s_per_function']:>8.3f} s/fn  {row['tokens_per_s']:>8.1f} tok/s  e3 {row['e3']}", flush=True)
    return row


def real_size_backend(tokenizer, device: str, batch_size: int, dtype: str) -> LocalBackend:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**QWEN_05B, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(device=device, dtype=getattr(torch, dtype)).eval()
    return LocalBackend.from_loaded(model, tokenizer, batch_size=batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--skip-real-size", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    prompts = [chat_prompt(code) for code in functions(args.functions)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, CUDA: "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}; {len(prompts)} functions from "
          f"{'HumanEvalPack-Rust' if HUMANEVAL.is_file() else 'the tiny corpus'}, {args.max_new_tokens} new tokens max; "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}, inference dtype on the CPU: "
          f"{fast_compute_dtype(choose_device('cpu'))}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rtg-latency-") as work:
        texts = [chat_prompt(json.loads(l)["input"]) + answer(json.loads(l)["output"])
                 for l in (CORPUS / "train.jsonl").read_text().splitlines()]
        tiny = build_tiny_qwen2(texts, Path(work) / "tiny-qwen2")
        tokenizer = load_tokenizer(tiny)
        for device in args.devices.split(","):
            if device == "cuda" and not torch.cuda.is_available():
                print(f"{'(cuda rows)':44} not measured: no CUDA device here", flush=True)
                continue
            for four_bit, dtype in ((True, "bfloat16"), (False, "bfloat16")):
                for batch in sorted({1, args.batch_size}):
                    backend = LocalBackend(str(tiny), device=device, batch_size=batch, load_in_4bit=four_bit,
                                           compute_dtype=dtype)
                    rows.append(measure(f"tiny-qwen2 {device} {'nf4' if four_bit else 'bf16'}", backend, prompts,
                                        args.max_new_tokens))
            if not args.skip_real_size:
                for batch, dtype in ((b, d) for b in sorted({1, args.batch_size}, reverse=True)
                                     for d in ("bfloat16", "float32")):
                    backend = real_size_backend(tokenizer, device, batch, dtype)
                    chosen = prompts if batch > 1 else prompts[:2]  # one at a time is slow on a CPU: two suffice
                    short = {"bfloat16": "bf16", "float32": "fp32"}[dtype]
                    rows.append(measure(f"Qwen2.5-Coder-0.5B shape, random, {device} {short}", backend, chosen,
                                        args.max_new_tokens))
                    del backend
                    if device == "cuda":
                        torch.cuda.empty_cache()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
