"""rtg-corpus: fetch crate sources, mine function -> tests pairs from them, publish the corpus.

    rtg-corpus fetch --debian [--limit N]
    rtg-corpus build --source ~/.cache/rtg/debian-crates --out data/corpus [--seed 42]
    rtg-corpus selfgen --corpus data/corpus --round 0 --out data/selfgen/round-0.jsonl [--adapter DIR]
    rtg-corpus mix --corpus data/corpus --self-generated data/selfgen/round-*.jsonl --out data/train-mix
    rtg-corpus push data/corpus --repo-id USER/rtg-corpus
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rtg_core.cargo_env import CargoEnvError
from rtg_core.model import ModelUnavailable
from rtg_core.sandbox import SandboxUnavailable
from rtg_corpus.build import BuildConfig, EvalSetsError, build
from rtg_corpus.fetch import FetchError, default_cache, fetch_debian
from rtg_corpus.filters import TokenCounter
from rtg_corpus.mix import MixError, mix
from rtg_corpus.push import PushError, push
from rtg_corpus.selfgen import SelfGenConfig, run_round
from rtg_corpus.verify import VerifyError

DEFAULT_OUT = Path("data/corpus")
DEFAULT_HUMANEVAL = Path("../shared/benchmarks/humanevalpack-rust/humanevalpack-rust.jsonl")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtg-corpus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    fetch = commands.add_parser("fetch", help="download crate sources into a cache dir")
    fetch.add_argument("--debian", action="store_true", required=True,
                       help="Debian's librust-*-dev packages, via apt-get download (nothing is installed)")
    fetch.add_argument("--limit", type=int, default=None, help="only the first N packages (sorted by name)")
    fetch.add_argument("--cache", type=Path, default=None, help=f"default: {default_cache()}")

    make = commands.add_parser("build", help="mine, filter, judge and split the corpus")
    make.add_argument("--source", type=Path, nargs="+", required=True, metavar="DIR",
                      help="dirs holding crate sources: a fetch cache, ~/.cargo/registry/src/*, a checkout")
    make.add_argument("--out", type=Path, default=DEFAULT_OUT)
    make.add_argument("--seed", type=int, default=BuildConfig.seed)
    make.add_argument("--max-tokens", type=int, default=BuildConfig.max_tokens)
    make.add_argument("--tokenizer", default=BuildConfig.tokenizer,
                      help="whose tokenizer counts the token budget: a model dir or a hub id (default: %(default)s, "
                           "as `rtg-model fetch` brings it)")
    make.add_argument("--jobs", type=int, default=BuildConfig.jobs)
    make.add_argument("--limit", type=int, default=None, help="only the first N crates (sorted by name)")
    make.add_argument("--no-verify", action="store_true", help="skip the judge (nothing is then standalone)")
    make.add_argument("--no-curated", action="store_true", help="leave out the hand-curated examples")
    make.add_argument("--eval-sets", type=Path, default=None, metavar="EVAL_SETS.json",
                      help="hold out what an earlier build held out (its eval_sets.json), so that figures stay "
                           "comparable")

    selfgen = commands.add_parser("selfgen", help="one expert-iteration round: judge-verified tests the model "
                                  "writes for training functions")
    selfgen.add_argument("--corpus", type=Path, default=DEFAULT_OUT, help="a built corpus: its training split")
    selfgen.add_argument("--round", type=int, required=True, help="0: the base model; k: the adapter of round k-1")
    selfgen.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl",
                         help="kept samples are appended; FILE.state.json lets a stopped run resume")
    selfgen.add_argument("--adapter", default="none", metavar="DIR",
                         help="the model that writes: none (round 0, the base model) or the newest adapter's dir")
    selfgen.add_argument("--model", default=None, help="base model (default: the adapter's own base)")
    selfgen.add_argument("--backend", choices=("local", "openai"), default="local",
                         help="openai: a vLLM or llama.cpp server's /v1/completions at --endpoint")
    selfgen.add_argument("--endpoint", default="http://127.0.0.1:8000")
    selfgen.add_argument("--served-model", default=None)
    selfgen.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    selfgen.add_argument("--batch-size", type=int, default=8)
    selfgen.add_argument("--candidates", type=int, default=SelfGenConfig.candidates)
    selfgen.add_argument("--max-new-tokens", type=int, default=SelfGenConfig.max_new_tokens)
    selfgen.add_argument("--max-prompt-tokens", type=int, default=SelfGenConfig.max_prompt_tokens)
    selfgen.add_argument("--limit", type=int, default=None, help="functions tried this round")
    selfgen.add_argument("--seed", type=int, default=SelfGenConfig.seed)
    selfgen.add_argument("--allow-hub", action="store_true")

    blend = commands.add_parser("mix", help="the judge-verified, decontaminated training data of an adapter")
    blend.add_argument("--corpus", type=Path, default=DEFAULT_OUT)
    blend.add_argument("--self-generated", type=Path, nargs="*", default=[], metavar="FILE.jsonl")
    blend.add_argument("--humaneval", default=str(DEFAULT_HUMANEVAL),
                       help="HumanEvalPack-Rust JSONL, kept out of training (default: %(default)s); `none` to skip "
                            "it (the card then says so)")
    blend.add_argument("--out", type=Path, default=Path("data/train-mix"))

    publish = commands.add_parser("push", help="publish a built corpus as a Hugging Face Hub dataset")
    publish.add_argument("out", type=Path)
    publish.add_argument("--repo-id", required=True)
    publish.add_argument("--private", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"fetch": _fetch, "build": _build, "selfgen": _selfgen, "mix": _mix, "push": _push}[args.command](args)


def _fetch(args) -> int:
    cache = args.cache or default_cache()
    try:
        fetched = fetch_debian(cache, args.limit)
    except FetchError as exc:
        print(f"rtg-corpus: {exc}", file=sys.stderr)
        return 3
    failed = [p for p in fetched if p.error]
    for package in failed:
        print(f"rtg-corpus: skipped {package.package}: {package.error}", file=sys.stderr)
    print(f"rtg-corpus: {len(fetched) - len(failed)}/{len(fetched)} packages unpacked under {cache / 'crates'}",
          file=sys.stderr)
    return 0


def _build(args) -> int:
    missing = [str(s) for s in args.source if not s.is_dir()]
    if missing:
        print(f"rtg-corpus: no such dir: {', '.join(missing)} (run `rtg-corpus fetch --debian` first?)",
              file=sys.stderr)
        return 2
    config = BuildConfig(sources=tuple(args.source), out=args.out, seed=args.seed, max_tokens=args.max_tokens,
                         tokenizer=args.tokenizer, jobs=args.jobs, verify=not args.no_verify,
                         curated=not args.no_curated, limit=args.limit, eval_sets=args.eval_sets)
    start = time.monotonic()
    try:
        report = build(config)
    except (SandboxUnavailable, CargoEnvError, VerifyError, ModelUnavailable, EvalSetsError) as exc:
        print(f"rtg-corpus: {exc}", file=sys.stderr)
        return 3
    counts = ", ".join(f"{name} {len(samples)}" for name, samples in report.splits.items())
    print(f"rtg-corpus: wrote {args.out}: {counts} in {time.monotonic() - start:.0f} s", file=sys.stderr)
    return 0


def _selfgen(args) -> int:
    from rtg_core.backends import BackendError
    from rtg_core.model import DeviceUnavailable
    from rtg_eval.generate_cli import make_backend

    if not (args.corpus / "train.jsonl").is_file():
        print(f"rtg-corpus: {args.corpus}/train.jsonl: no such file (run `rtg-corpus build` first)", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    config = SelfGenConfig(round=args.round, candidates=args.candidates, max_new_tokens=args.max_new_tokens,
                           max_prompt_tokens=args.max_prompt_tokens, limit=args.limit, seed=args.seed)
    try:
        backend = make_backend(argparse.Namespace(**vars(args), sample=False, sampling_seed=config.sampling.seed,
                                                  replay=None))
        counter = TokenCounter(args.model or BuildConfig.tokenizer)
        report = run_round(args.corpus, args.out, backend, config, lambda text: counter.count(text, ""),
                           lambda message: print(f"rtg-corpus: {message}", file=sys.stderr))
    except ValueError as exc:  # a bad adapter dir (ExperimentError) or setting
        print(f"rtg-corpus: {exc}", file=sys.stderr)
        return 2
    except (SandboxUnavailable, CargoEnvError, VerifyError, ModelUnavailable, DeviceUnavailable, BackendError) as exc:
        print(f"rtg-corpus: {exc}", file=sys.stderr)
        return 3
    print(f"rtg-corpus: round {args.round}: {report.kept} of {report.tried} functions gave judge-verified tests "
          f"({report.tests_kept} tests kept of {report.tests_generated} generated, {report.tests_validated} built and "
          f"passed, {report.tests_killing} also killed a mutant and asserted something that can fail) -> {args.out}", file=sys.stderr)
    return 0


def _mix(args) -> int:
    humaneval = None if args.humaneval.lower() == "none" else Path(args.humaneval)
    missing = [str(p) for p in [args.corpus / "train.jsonl", *args.self_generated] if not p.is_file()]
    if humaneval is not None and not humaneval.is_file():
        missing.append(f"{humaneval} (--humaneval PATH, or none)")
    if missing:
        print(f"rtg-corpus: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        report = mix(args.corpus, args.self_generated, args.out, humaneval,
                     lambda message: print(f"rtg-corpus: {message}", file=sys.stderr))
    except MixError as exc:
        print(f"rtg-corpus: {exc}", file=sys.stderr)
        return 4
    for split, counts in report.counts.items():
        print(f"rtg-corpus: {split}: " + ", ".join(f"{label} {n}" for label, n in counts.items()), file=sys.stderr)
    print(f"rtg-corpus: proptest: {report.proptest_samples} samples ({report.proptest_share:.1%}), "
          f"{report.distinct_properties} distinct properties; wrote {args.out}", file=sys.stderr)
    return 0


def _push(args) -> int:
    try:
        url = push(args.out, args.repo_id, private=args.private)
    except PushError as exc:
        print(f"rtg-corpus: push failed: {exc}", file=sys.stderr)
        return 4
    print(f"rtg-corpus: published {url}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
