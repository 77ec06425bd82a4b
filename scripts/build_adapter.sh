#!/usr/bin/env bash
# Rebuild the adapter rtg ships (adapters/rtg-qwen2.5-coder-0.5b-testgen) from nothing but Debian's crate packages,
# the curated examples and the base model, on a CPU:
#   corpus (all Debian crates, judged) -> self-generated round 0 (the base model's tests, judge-verified) ->
#   the verified, decontaminated mix -> the CPU recipe -> base vs adapter -> the folder, with its card.
# Each step skips what an earlier run finished (the corpus, finished rounds, a finished training run, finished
# evaluations), and training resumes from its last checkpoint, so the job can span sessions. Hours on 2 cores.
# RTG_SELFGEN_FUNCTIONS: training functions round 0 writes tests for (default 96).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
corpus=data/corpus
mix=data/train-mix
experiment=experiments/cpu-qwen2.5-coder-0.5b
humaneval=../shared/benchmarks/humanevalpack-rust/humanevalpack-rust.jsonl
shipped=adapters/rtg-qwen2.5-coder-0.5b-testgen

[ -f "$corpus/manifest.json" ] || {
  $bin/rtg-corpus fetch --debian
  $bin/rtg-corpus build --source "${RTG_CACHE_DIR:-$HOME/.cache/rtg}/debian-crates" --out "$corpus"
}
$bin/rtg-corpus selfgen --corpus "$corpus" --round 0 --adapter none --out data/selfgen/round-0.jsonl \
  --candidates 4 --limit "${RTG_SELFGEN_FUNCTIONS:-96}"
$bin/rtg-corpus mix --corpus "$corpus" --self-generated data/selfgen/round-0.jsonl --humaneval "$humaneval" \
  --out "$mix"
if [ -f "$experiment/metrics.json" ]; then :
elif [ -d "$experiment/checkpoints" ]; then
  $bin/rtg-train --config training/configs/cpu-qwen2.5-coder-0.5b.yaml --resume
else
  $bin/rtg-train --config training/configs/cpu-qwen2.5-coder-0.5b.yaml
fi
$bin/python benchmarks/loss_curve.py "$experiment"
$bin/python benchmarks/adapter_vs_base.py --adapter "$experiment" --out eval_results/adapter-vs-base \
  --set holdout="$corpus/holdout.jsonl" --set test="$corpus/test.jsonl" --set humaneval="$humaneval" \
  --candidates 1 4 | tee eval_results/adapter-vs-base/table.md
$bin/rtg-train publish "$experiment" --repo-id rtg/rtg-qwen2.5-coder-0.5b-testgen --prepare-only \
  --allow-unevaluated --folder "$shipped" --notes eval_results/adapter-vs-base/table.md
