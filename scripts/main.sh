#!/usr/bin/env bash
# Set up, then run rtg's main job end to end. For now: judge the shipped example tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/rtg-eval --tests-from examples/judge_examples.jsonl --output eval_results/examples
echo "main: per-sample verdicts in eval_results/examples/samples.jsonl, figures in eval_results/examples/metrics.json"
