#!/usr/bin/env bash
# Set up, then run rtg's main job end to end on this machine's CPU:
#   judge shipped examples -> mine a corpus from Debian's crate packages -> train tiny-qwen2 (QLoRA)
#   -> generate, judge and score the checklist on the holdout.
# RTG_MAIN_CRATES sets how many Debian crate packages to mine (default 60; all of them: a 20-minute build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bin=.venv/bin
crates="${RTG_MAIN_CRATES:-60}"
corpus=data/corpus-main
experiment=experiments/main-tiny-qwen2

echo "== 1/4 judge the shipped example tests" >&2
$bin/rtg-eval --tests-from examples/judge_examples.jsonl --output eval_results/examples

echo "== 2/4 corpus from $crates Debian crate packages" >&2
$bin/rtg-corpus fetch --debian --limit "$crates"
$bin/rtg-corpus build --source "${RTG_CACHE_DIR:-$HOME/.cache/rtg}/debian-crates" --limit "$crates" --out "$corpus"

echo "== 3/4 train tiny-qwen2 (a random smoke-test model) with QLoRA" >&2
$bin/rtg-train --config training/configs/smoke-tiny-qwen2.yaml --dataset "$corpus" --output "$experiment"

echo "== 4/4 generate, judge and score the checklist on the holdout (gates reported, not enforced)" >&2
$bin/rtg-eval --model "$experiment/tiny-qwen2" --adapter "$experiment/checkpoints/best" \
  --test-set "$corpus/holdout.jsonl" --output "$experiment/evaluation" --no-gates

echo "main: corpus in $corpus, adapter in $experiment/checkpoints/best, reports in $experiment/evaluation" >&2
