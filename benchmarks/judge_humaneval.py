"""Benchmark the judge on HumanEvalPack-Rust: wall time with mutation and coverage, and schemata vs rebuild.

    .venv/bin/python benchmarks/judge_humaneval.py [--data PATH] [--ratio-tasks 8]

Prints figures; asserts nothing. Targets on a 2-core machine: all 164 tasks judged with mutation and coverage
in under 3 minutes; mutant schemata at least 10x faster than one rebuild per mutant, with identical verdicts.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from rtg_eval.judge import JudgeConfig, judge_samples
from rtg_eval.samples import read_samples

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/benchmarks/humanevalpack-rust/humanevalpack-rust.jsonl"


def timed(samples, config):
    stages: dict[str, float] = {}
    start = time.monotonic()
    verdicts, mutants = judge_samples(samples, config, stage_seconds=stages)
    return verdicts, mutants, time.monotonic() - start, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--ratio-tasks", type=int, default=8)
    args = parser.parse_args()
    samples, errors = read_samples(args.data)
    assert not errors, errors

    verdicts, mutants, wall, stages = timed(samples, JudgeConfig())
    passing = [v for v in verdicts if v.passes]
    bugs = [v for v in passing if v.real_bug_killed is not None]
    outcomes = Counter(m.outcome for m in mutants)
    print(f"== all {len(samples)} tasks, mutation (schemata) + coverage")
    print(f"wall time: {wall:.1f} s  (stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()) + ")")
    print(f"reference tests compile: {sum(v.compiles for v in verdicts)}/{len(verdicts)}, "
          f"pass on canonical_solution: {len(passing)}/{len(verdicts)} ({100 * len(passing) / len(verdicts):.1f}%)")
    print(f"buggy_solution caught: {sum(v.real_bug_killed for v in bugs)}/{len(bugs)} "
          f"({100 * sum(v.real_bug_killed for v in bugs) / max(1, len(bugs)):.1f}%)")
    print(f"mutants: {dict(outcomes)}")
    for verdict in verdicts:
        if not verdict.passes:
            reason = verdict.compile_errors[0].splitlines()[0] if verdict.compile_errors else (
                "timed out" if verdict.timed_out else f"{verdict.tests_passed}/{verdict.tests_total} tests passed")
            print(f"  exception {verdict.id}: {reason}")
        elif verdict.real_bug_killed is False:
            print(f"  exception {verdict.id}: buggy_solution not caught")

    subset = samples[: args.ratio_tasks]
    config = JudgeConfig(coverage=False)
    _, schemata, _, schemata_stages = timed(subset, config)
    _, rebuild, _, rebuild_stages = timed(subset, JudgeConfig(coverage=False, mutation_strategy="rebuild"))
    key = lambda ms: sorted((m.sample_id, m.mutant, m.outcome) for m in ms)
    same = key(schemata) == key(rebuild)
    ratio = rebuild_stages["mutation"] / schemata_stages["mutation"]
    print(f"== schemata vs rebuild on the first {len(subset)} tasks ({len(schemata)} mutants incl. real bugs)")
    print(f"mutation stage: schemata {schemata_stages['mutation']:.1f} s, rebuild {rebuild_stages['mutation']:.1f} s, "
          f"ratio {ratio:.1f}x; identical verdicts: {same}")
    if not same:
        for a, b in zip(key(schemata), key(rebuild)):
            if a != b:
                print(f"  differs: schemata {a} rebuild {b}")


if __name__ == "__main__":
    main()
