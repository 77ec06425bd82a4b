"""The base model and an adapter, side by side, through the same rtg-eval pipeline on the same test sets, with
n = 1 (the greedy reply) and best-of-n; prints one table.

    .venv/bin/python benchmarks/adapter_vs_base.py --out eval_results/adapter-vs-base \\
        --set holdout=data/corpus/holdout.jsonl --set test=data/corpus/test.jsonl \\
        --set humaneval=../shared/benchmarks/humanevalpack-rust/humanevalpack-rust.jsonl \\
        [--adapter default] [--candidates 1 4] [--limit N] [--replay EARLIER_OUT]

A corpus split (lines with `metadata.standalone`) is measured on its standalone functions only, written to
OUT/SET/standalone.jsonl: the others' `input` does not build on its own, so no generated test of theirs could.
Each (set, n, model) is one `rtg-eval` run in OUT/SET/n=N/{base,adapter}/, with the settings a user gets
(NF4 on CUDA, bf16 or float32 on the CPU as `rtg_core.model.fast_compute_dtype` picks, 384 new tokens, the
judge's defaults, gates reported, not enforced). A run whose metrics.json
exists for the same adapter weights is read, not rerun, so a long comparison spans sessions; delete its
directory to measure again. "compile" and "pass" judge each reply whole; "fns with a validated test" and
"selection mutation" judge each test alone and keep the passing ones that kill most mutants, which is what
rtg-serve inserts. The
adapter's gate verdict (its gates.json, which rtg-serve and rtg-train publish read) comes from the first set at the
first n; the other runs leave it alone, and so does a partial comparison (--limit, or --no-verdict for a subset).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from rtg_eval.experiment import chosen_experiment

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = (("compile", "compile_rate", "{:.1%}"), ("pass", "pass_rate", "{:.1%}"),
           ("mutation", "mutation_score", "{:.1%}"), ("cov. delta", "line_coverage_delta", "{:+.1%}"),
           ("s/fn", "generation_seconds_per_function", "{:.1f}"))


def run_eval(test_set: Path, adapter: str, candidates: int, limit: int | None, out: Path, verdict: bool,
             replay: Path | None) -> Path:
    if (out / "metrics.json").is_file():
        measured = json.loads((out / "metrics.json").read_text()).get("hashes", {}).get("adapter_sha256")
        if measured == chosen_experiment(adapter).adapter_sha256:  # the same weights: read, not rerun
            return out
        print(f"== {out}: measured on other adapter weights, measuring again", file=sys.stderr)
    command = [str(ROOT / ".venv" / "bin" / "rtg-eval"), "--adapter", adapter, "--test-set", str(test_set),
               "--output", str(out), "--candidates", str(candidates), "--max-new-tokens", "384",
               "--no-gates"]
    if limit is not None:
        command += ["--limit", str(limit)]
    if not verdict:
        command.append("--no-verdict")
    if replay is not None:
        if not replay.is_file():
            raise SystemExit(f"adapter_vs_base: --replay: {replay} does not exist (was this run recorded there?)")
        command += ["--backend", "replay", "--replay", str(replay)]
    print("== " + " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT)
    if done.returncode not in (0, 4):  # 4: a gate failed, which the table reports
        raise SystemExit(f"adapter_vs_base: rtg-eval exited {done.returncode} for {out}")
    return out


def measured_functions(name: str, path: Path, out: Path) -> Path:
    """The set's functions that can be measured: a corpus split's standalone ones, any other set whole."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    flags = [json.loads(line).get("metadata", {}).get("standalone") for line in lines]
    if all(flag is None for flag in flags) or all(flags):
        return path
    kept = [line for line, flag in zip(lines, flags) if flag]
    subset = out / name / "standalone.jsonl"
    subset.parent.mkdir(parents=True, exist_ok=True)
    subset.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    print(f"== {name}: the {len(kept)} standalone functions of {len(lines)} in {path}", file=sys.stderr)
    return subset


def row(label: str, out: Path) -> str:
    metrics = json.loads((out / "metrics.json").read_text())
    result = metrics["evaluation_result"]
    checklist = json.loads((out / "checklist.json").read_text())
    cells = ["-" if result.get(key) is None else form.format(result[key]) for _, key, form in COLUMNS]
    bugs = result.get("real_bugs")
    cells.append(f"{bugs['killed']}/{result.get('real_bugs_in_test_set')}" if bugs else "-")
    selection = (metrics.get("per_test") or {}).get(f"n={metrics['settings']['candidates']}")
    cells.append(f"{selection['functions_with_a_validated_test']}/{selection['functions']}" if selection else "-")
    score = selection and selection.get("selection_mutation_score")
    cells.append("-" if score is None else f"{score:.1%}")
    failed = [g["id"] for g in checklist["gates"] if not g["passed"]]
    cells.append(f"{checklist['score']}/100")
    cells.append("all passed" if not failed else "failed " + ",".join(failed))
    return f"| {label} | {result.get('samples')} | " + " | ".join(cells) + " |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", required=True, metavar="NAME=FILE.jsonl")
    parser.add_argument("--adapter", default="default", help="what rtg-eval --adapter takes (default: the shipped one)")
    parser.add_argument("--candidates", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-verdict", action="store_true", help="leave the adapter's gates.json as it is")
    parser.add_argument("--replay", type=Path, metavar="EARLIER_OUT",
                        help="judge the replies an earlier comparison recorded "
                             "(EARLIER_OUT/SET/n=N/MODEL/replay.jsonl) "
                             "instead of generating them: a change to the judge or the repairs, measured on the "
                             "same replies (s/fn is then not measured)")
    args = parser.parse_args()
    sets = [(name, measured_functions(name, Path(path), args.out))
            for name, _, path in (s.partition("=") for s in args.set)]
    lines = []
    for name, path in sets:
        for n in args.candidates:
            for label, adapter in (("base", "none"), ("adapter", args.adapter)):
                verdict = (label == "adapter" and (name, n) == (sets[0][0], args.candidates[0])
                           and args.limit is None and not args.no_verdict)
                run = Path(name) / f"n={n}" / label
                replay = args.replay / run / "replay.jsonl" if args.replay else None
                out = run_eval(path, adapter, n, args.limit, args.out / run, verdict, replay)
                lines.append(row(f"{name} | n={n} | {label}", out))
    header = ("| set | n | model | functions | " + " | ".join(c for c, _, _ in COLUMNS)
              + " | real bugs | fns with a validated test | selection mutation | checklist | gates |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    print("\n".join(lines))
    generated = args.replay or args.out  # a replayed run's model is the one that generated its replies
    first = json.loads((generated / sets[0][0] / f"n={args.candidates[0]}" / "adapter" / "metrics.json").read_text())
    model = first.get("model", {})
    weights = model.get("base_model_weights") or {}
    print(f"\nbase weights: {weights.get('hub_id')} from {weights.get('gguf', {}).get('name')} (sha256 "
          f"{weights.get('gguf', {}).get('sha256')}, {weights.get('lineage')}); adapter {model.get('adapter')} "
          f"(sha256 {first.get('hashes', {}).get('adapter_sha256')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
