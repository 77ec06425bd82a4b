"""Which CPU recipe trains fastest here: NF4 vs bf16 vs float32 base weights, one sample per micro-batch vs length-grouped
batches of 4, side by side in one run on the same training data (the real model, a few optimizer steps each).

    .venv/bin/python benchmarks/cpu_train_speed.py --dataset data/train-mix [--steps 3] [--samples-per-step 4]

Each variant is an `rtg-train` process of its own (same seed, so the same samples); tokens/s is real tokens (no
padding) over the steps after the first (the first pays one-off costs), from the run's trainer_state.json. Prints
a table; the ratio column is against the first variant.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "training" / "configs" / "cpu-qwen2.5-coder-0.5b.yaml"
# name -> --set overrides on the CPU recipe
VARIANTS = {
    "bf16, batch 1": {"model.load_in_4bit": "false", "train.batch_size": "1"},
    "NF4, batch 1": {"model.load_in_4bit": "true", "train.batch_size": "1"},
    "bf16, length-grouped batch 4": {"model.load_in_4bit": "false", "train.batch_size": "4"},
    # CPUs without AVX512-BF16/AMX have no fast bf16 matmul (rtg_core.model.fast_compute_dtype): float32 there
    "fp32, batch 1": {"model.load_in_4bit": "false", "model.compute_dtype": "float32", "train.batch_size": "1"},
    "NF4 + fp32 compute, batch 1": {"model.load_in_4bit": "true", "model.compute_dtype": "float32",
                                    "train.batch_size": "1"},
}


def run_variant(name: str, overrides: dict[str, str], dataset: str, steps: int, samples_per_step: int,
                out: Path) -> dict:
    batch = int(overrides["train.batch_size"])
    sets = {**overrides, "train.grad_accum": str(samples_per_step // batch), "train.eval_steps": "1000",
            "train.save_steps": str(steps), "data.max_eval_samples": "1"}
    command = [str(ROOT / ".venv" / "bin" / "rtg-train"), "--config", str(CONFIG), "--dataset", dataset,
               "--output", str(out), "--max-steps", str(steps)]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    print(f"== {name}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    metrics = json.loads((out / "metrics.json").read_text())
    state = json.loads((out / "checkpoints" / f"step-{steps}" / "trainer_state.json").read_text())
    later = list(zip(state["step_seconds"], state["step_tokens"]))[1:]
    return {"name": name, "tokens_per_second": sum(t for _, t in later) / sum(s for s, _ in later),
            "median_step_seconds": statistics.median(s for s, _ in later),
            "peak_rss_gib": metrics["peak_memory_bytes"] / 2**30, "final_loss": metrics["final_loss"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--samples-per-step", type=int, default=4)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rtg-cpu-speed-") as scratch:
        for number, name in enumerate(args.variants):
            rows.append(run_variant(name, VARIANTS[name], args.dataset, args.steps, args.samples_per_step,
                                    Path(scratch) / str(number)))
    first = rows[0]["tokens_per_second"]
    print(f"\nCPU training speed: real Qwen2.5-Coder-0.5B-Instruct, LoRA r16 on 7 projections, "
          f"{args.samples_per_step} samples per step, steps 2..{args.steps} of {args.dataset}")
    print(f"{'variant':32} {'tokens/s':>9} {'ratio':>6} {'s/step':>7} {'peak RSS GiB':>13}")
    for row in rows:
        print(f"{row['name']:32} {row['tokens_per_second']:9.1f} {row['tokens_per_second'] / first:6.2f} "
              f"{row['median_step_seconds']:7.1f} {row['peak_rss_gib']:13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
