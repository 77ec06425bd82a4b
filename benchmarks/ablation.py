"""Ablation of the generation pipeline on the base model, no training (issue: generation that survives the real
model). Prints a table; asserts nothing.

    .venv/bin/python benchmarks/ablation.py record --test-set FILE --replies DIR [--limit N] [--candidates 4]
                                                   [--standalone] [--model ID|DIR]
    .venv/bin/python benchmarks/ablation.py report (the same arguments)

`record` generates every reply the rows need, in chunks appended to replay files under DIR (a killed run resumes
where it stopped); `report` judges each row from those replies, so rows differ only in what they say they change:

    (a) before: greedy, no loop stop, repetition penalty 1.0, the raw reply judged whole
    (b) + salvage: the same replies, each reduced to its complete items
    (c) + decoding: the model's own generation settings (Qwen's repetition penalty 1.1) and the loop stop
    (d) + repairs: (c)'s replies with the certain repairs
    (e) + rustc's fixes: (d) where a test that does not build takes the fixes rustc is sure of
    (f) + best-of-n: (e) with every test judged alone and mutation-guided selection, n = 1 (the greedy reply)
        and n = N (the greedy reply and N - 1 seeded samples)

"validated" = the function got at least one test that builds and passes on the code under test: for (a)-(e) the
reply as a whole must build and pass; for (f) the selected tests each did.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rtg_core.backends import LocalBackend, ReplayBackend, Sampling, candidates, prompt_sha256
from rtg_core.generation import Decoding
from rtg_core.model import choose_device, fast_compute_dtype
from rtg_core.prompt import chat_prompt
from rtg_eval.judge import JudgeConfig
from rtg_eval.metrics import aggregate
from rtg_eval.model_eval import EvalSettings, as_generation_targets, evaluate_model, per_test_summary
from rtg_eval.samples import read_samples

MODEL = "Qwen/Qwen2.5-Coder-0.5B-Instruct"
CHUNK = 8  # prompts per recorded call: a killed run loses at most one chunk
PLAIN = Decoding(repetition_penalty=1.0, stop_loops=False)  # (a), (b)
MODEL_OWN = Decoding()  # (c) onwards
SAMPLING = Sampling(seed=42)


def targets(args):
    samples, errors = read_samples(args.test_set)
    if errors:
        print(f"{args.test_set}: {len(errors)} malformed lines skipped", file=sys.stderr)
    if args.standalone:  # the corpus's judge-verified pairs: their `input` builds on its own
        samples = [s for s in samples if s.metadata.get("standalone")]
    return as_generation_targets(samples[:args.limit] if args.limit else samples)


def record(args) -> None:
    prompts = [chat_prompt(s.code) for s in targets(args)]
    args.replies.mkdir(parents=True, exist_ok=True)
    jobs = [("model", MODEL_OWN, args.candidates, True), ("plain", PLAIN, 1, False)]
    for name, decoding, n, with_samples in (job for job in jobs if job[0] in args.decodings.split(",")):
        local = LocalBackend(args.model, device="cpu", batch_size=args.batch_size, load_in_4bit=False,
                             decoding=decoding)
        replay = ReplayBackend.recording(args.replies / f"{name}.jsonl", local)
        began = time.monotonic()
        for start in range(0, len(prompts), CHUNK):
            chunk = prompts[start:start + CHUNK]
            if with_samples and n > 1:
                candidates(replay, chunk, n, args.max_new_tokens, SAMPLING)
            else:
                replay.complete(chunk, args.max_new_tokens)
            print(f"{name}: {min(start + CHUNK, len(prompts))}/{len(prompts)} prompts, "
                  f"{time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)


ROWS = [  # label, replies, salvage, repairs, rustc's fixes, candidates
    ("(a) before", "plain", False, False, False, 1),
    ("(b) + salvage", "plain", True, False, False, 1),
    ("(c) + decoding", "model", True, False, False, 1),
    ("(d) + repairs", "model", True, True, False, 1),
    ("(e) + rustc's fixes", "model", True, True, True, 1),
    ("(f) + best-of-n", "model", True, True, True, None),  # None: --candidates
]


def recorded_seconds(path: Path, sample_prompts: dict[str, str], n: int) -> float | None:
    """Generation seconds per function as recorded: the greedy reply, plus the samples when n > 1."""
    if not path.is_file():
        return None
    wanted = {prompt_sha256(p) for p in sample_prompts.values()}
    total = 0.0
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if row["prompt_sha256"] in wanted and (row.get("seed") is None or row["candidate"] < n - 1):
            total += row["seconds"]
    return total / len(wanted)


def report(args) -> None:
    samples = targets(args)
    prompts = {s.id: chat_prompt(s.code) for s in samples}
    table = []
    for label, replies, salvage, repairs, rustc_fixes, n in ROWS:
        path = args.replies / f"{replies}.jsonl"
        if not path.is_file():
            table.append((label, None, None, None))
            continue
        n = n or args.candidates
        judge = JudgeConfig(coverage=False, rustc_fixes=rustc_fixes)
        settings = EvalSettings(max_new_tokens=args.max_new_tokens, judge=judge, clippy=False, salvage=salvage,
                                repairs=repairs, candidates=n, sampling=SAMPLING, per_test=salvage)
        began = time.monotonic()
        run = evaluate_model(samples, ReplayBackend(path=path), settings,
                             lambda m: print(f"{label}: {m}", file=sys.stderr, flush=True))
        judged = time.monotonic() - began
        table.append((label, run, recorded_seconds(path, prompts, n), judged / len(samples)))

    print(f"\n{len(samples)} functions of {args.test_set.name}; base model {args.model} (CPU, "
          f"{fast_compute_dtype(choose_device('cpu'))}), no adapter; max {args.max_new_tokens} new tokens; "
          f"n = {args.candidates} for (f)\n")
    print(f"{'row':22}{'compile':>9}{'pass':>9}{'mutation*':>11}{'validated':>11}{'gen s/fn':>10}{'judge s/fn':>12}")
    for label, run, gen_seconds, judge_seconds in table:
        if run is None:
            print(f"{label:22}  replies not recorded")
            continue
        figures = aggregate(run.samples, run.verdicts, run.mutants)
        validated = sum(v.passes for v in run.verdicts)
        print(f"{label:22}{pct(figures['compile_rate']):>9}{pct(figures['pass_rate']):>9}"
              f"{pct(figures['mutation_score']):>11}{validated:>6}/{len(run.samples):<4}"
              f"{seconds(gen_seconds):>10}{seconds(judge_seconds):>12}")
    print("* the judge's mutation score, over the functions whose tests pass. Whole replies (a-e) or the selected "
          "tests (f) are judged as one; 'validated': they build and pass.\n")
    print(f"each test judged alone{'':10}" + "".join(f"{label.split()[0] + ' ' + k:>14}"
                                                   for label, run, _, _ in table if run and run.per_test
                                                   for k in next(iter(run.per_test.values()))))
    keys = ("tests_generated", "tests_building", "tests_fixed_by_rustc", "tests_passing", "tests_killing",
            "tests_selected", "functions_with_a_validated_test", "selection_mutation_score")
    for key in keys:
        cells = [figure for _, run, _, _ in table if run and run.per_test
                 for figure in per_test_summary(run).values()]
        print(f"{key.replace('_', ' '):32}" + "".join(
            f"{pct(f[key]) if key.endswith('score') else str(f[key]):>14}" for f in cells))


def pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def seconds(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("record", "report"))
    parser.add_argument("--test-set", type=Path, required=True)
    parser.add_argument("--replies", type=Path, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--standalone", action="store_true", help="only lines whose metadata says standalone")
    parser.add_argument("--decodings", default="model,plain",
                        help="record: which replies (model: (c)-(f); plain: (a), (b))")
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=384)
    args = parser.parse_args()
    if args.phase == "record":
        record(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
