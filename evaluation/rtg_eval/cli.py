"""rtg-eval: judge Rust tests (`--tests-from`): compile, run, mutate, cover and lint them in a sandbox.

With a model instead (`--adapter`, `--test-set`, ...), see `rtg_eval.model_cli`: generate, judge, score.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from rtg_core.cargo_env import CargoEnvError
from rtg_core.sandbox import SandboxUnavailable
from rtg_eval.judge import JudgeConfig, judge_samples
from rtg_eval.metrics import aggregate
from rtg_core.files import file_sha256
from rtg_eval.samples import read_samples


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtg-eval", description=__doc__.split("\n\n")[0],
                                     epilog="With a model: rtg-eval --adapter DIR --test-set FILE.jsonl [--output DIR] "
                                            "(rtg-eval --test-set x --help for its options)")
    parser.add_argument("--tests-from", type=Path, required=True, metavar="FILE.jsonl",
                        help="spec §3.2 lines {id, input, output, metadata} or HumanEvalPack-Rust lines")
    parser.add_argument("--output", type=Path, required=True, metavar="DIR")
    parser.add_argument("--mutation-strategy", choices=("schemata", "rebuild"), default="schemata")
    parser.add_argument("--no-mutation", action="store_true")
    parser.add_argument("--no-coverage", action="store_true")
    parser.add_argument("--max-mutants", type=int, default=JudgeConfig.max_mutants, help="per sample")
    parser.add_argument("--timeout", type=float, default=JudgeConfig.test_timeout,
                        help="seconds for one sample's tests on the original code")
    parser.add_argument("--proptest-cases", type=int, default=JudgeConfig.proptest_cases)
    parser.add_argument("--seed", type=int, default=JudgeConfig.seed)
    parser.add_argument("--jobs", type=int, default=JudgeConfig.jobs)
    parser.add_argument("--limit", type=int, default=None, help="judge only the first N samples")
    return parser


_MODEL_MODE = ("--adapter", "--test-set", "--backend", "--model")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    flags = {a.split("=", 1)[0] for a in argv}
    if "--tests-from" not in flags and flags & set(_MODEL_MODE):
        from rtg_eval.model_cli import main as model_main

        return model_main(argv)
    args = build_parser().parse_args(argv)
    if not args.tests_from.is_file():
        print(f"rtg-eval: {args.tests_from}: no such file", file=sys.stderr)
        return 2
    samples, errors = read_samples(args.tests_from)
    for error in errors:
        print(f"rtg-eval: {args.tests_from}:{error} (skipped; the other lines are judged)", file=sys.stderr)
    samples = samples[: args.limit] if args.limit is not None else samples
    config = JudgeConfig(
        mutation=not args.no_mutation, mutation_strategy=args.mutation_strategy, max_mutants=args.max_mutants,
        coverage=not args.no_coverage, test_timeout=args.timeout, proptest_cases=args.proptest_cases,
        seed=args.seed, jobs=args.jobs,
    )
    stages = 1 + config.mutation + config.coverage
    stage_seconds: dict[str, float] = {}
    start = time.monotonic()
    with tqdm(total=len(samples) * stages, desc="judging", unit="step", file=sys.stderr,
              disable=None) as bar:
        def progress(stage: str, done: int) -> None:
            bar.set_postfix_str(stage)
            bar.update(done)

        try:
            verdicts, mutants = judge_samples(samples, config, progress, stage_seconds)
        except (SandboxUnavailable, CargoEnvError) as exc:
            print(f"rtg-eval: {exc}", file=sys.stderr)
            return 3
    wall = time.monotonic() - start

    args.output.mkdir(parents=True, exist_ok=True)
    with open(args.output / "samples.jsonl", "w") as out:
        for verdict in verdicts:
            out.write(json.dumps(verdict.to_json()) + "\n")
    with open(args.output / "mutants.jsonl", "w") as out:
        for mutant in mutants:
            out.write(json.dumps(asdict(mutant)) + "\n")
    metrics = aggregate(samples, verdicts, mutants)
    metrics.update(input_errors=[str(e) for e in errors], dataset_sha256=file_sha256(args.tests_from),
                   config=asdict(config), wall_seconds=round(wall, 2),
                   stage_seconds={k: round(v, 2) for k, v in stage_seconds.items()})
    (args.output / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(_summary(metrics), file=sys.stderr)
    return 0


def _summary(m: dict) -> str:
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    return (f"{m['samples']} samples in {m['wall_seconds']}s: compile {pct(m['compile_rate'])}, "
            f"pass {pct(m['pass_rate'])}, mutation score {pct(m['mutation_score'])} "
            f"({m['mutants']['caught']} caught / {m['mutants']['missed']} missed / {m['mutants']['timeout']} timeout "
            f"/ {m['mutants']['unviable']} unviable), real bugs killed {m['real_bugs']['killed']}/"
            f"{m['real_bugs']['total']}, line coverage {pct(m['line_coverage'])}, "
            f"branch coverage {pct(m['branch_coverage'])}")


if __name__ == "__main__":
    sys.exit(main())
