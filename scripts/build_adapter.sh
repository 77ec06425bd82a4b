#!/usr/bin/env bash
# Rebuild the adapter rtg ships (adapters/rtg-qwen2.5-coder-0.5b-testgen) from nothing but Debian's crate packages,
# the curated examples and the base model, on a CPU:
#   corpus (all Debian crates, judged) -> the verified, decontaminated mix -> the CPU recipe -> base vs adapter ->
#   the folder, with its card.
# Each step skips what an earlier run finished (the corpus, finished rounds, a finished training run, finished
# evaluations), and training resumes from its last checkpoint, so the job can span sessions. Hours on 2 cores.
# RTG_SELFGEN_FUNCTIONS=N (default 32, as for the shipped adapter; 0: none): a self-generated round 0, the base
# model's tests for the first N training functions that build alone, judge-verified, goes into the mix. About 45 s
# of generation per function on 2 cores (4 candidates each), so the shipped adapter's round stopped at 32.
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
  $bin/rtg-corpus build --source "${RTG_CACHE_DIR:-$HOME/.cache/rtg}/debian-crates" --out "$corpus" \
    --eval-sets corpus/rtg_corpus/data/eval_sets.json  # the validation, test and holdout every figure is on
}
rounds=()
if [ "${RTG_SELFGEN_FUNCTIONS:-32}" -gt 0 ]; then
  $bin/rtg-corpus selfgen --corpus "$corpus" --round 0 --adapter none --out data/selfgen/round-0.jsonl \
    --candidates 4 --limit "${RTG_SELFGEN_FUNCTIONS:-32}"
  rounds=(--self-generated data/selfgen/round-0.jsonl)
fi
$bin/rtg-corpus mix --corpus "$corpus" "${rounds[@]}" --humaneval "$humaneval" --out "$mix"
if [ -f "$experiment/metrics.json" ]; then :
elif [ -d "$experiment/checkpoints" ]; then
  $bin/rtg-train --config training/configs/cpu-qwen2.5-coder-0.5b.yaml --resume
else
  $bin/rtg-train --config training/configs/cpu-qwen2.5-coder-0.5b.yaml
fi
$bin/python benchmarks/loss_curve.py "$experiment"
# the folder first (bf16 weights, as shipped), so that the evaluation judges and gates those very bytes
publish=($bin/rtg-train publish "$experiment" --repo-id rtg/rtg-qwen2.5-coder-0.5b-testgen --prepare-only
         --folder "$shipped" --dtype bfloat16)
"${publish[@]}"
results=eval_results/adapter-vs-base
mkdir -p "$results"
# holdout first: its n=1 verdict is the one that lands in the adapter's gates.json
$bin/python benchmarks/adapter_vs_base.py --adapter "$shipped" --out "$results" \
  --set holdout="$corpus/holdout.jsonl" --set humaneval="$humaneval" --set test="$corpus/test.jsonl" \
  --candidates 1 4 | tee "$results/table.md"
{
  echo "## Rebuild"; echo
  echo "\`bash scripts/build_adapter.sh\` from a checkout of rtg (git commit in \`reproducibility.lock\`)."; echo
  echo "## Base model vs this adapter (same pipeline, same run)"; echo
  cat "$results/table.md"; echo
  sed -n '3,$p' "$mix/README.md" | sed 's/^# /## /'
} > "$results/card-notes.md"
"${publish[@]}" --notes "$results/card-notes.md"
