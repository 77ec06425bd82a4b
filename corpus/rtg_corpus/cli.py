"""rtg-corpus: fetch crate sources, mine function -> tests pairs from them, publish the corpus.

    rtg-corpus fetch --debian [--limit N]
    rtg-corpus build --source ~/.cache/rtg/debian-crates --out data/corpus [--seed 42]
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
from rtg_corpus.build import BuildConfig, build
from rtg_corpus.fetch import FetchError, default_cache, fetch_debian
from rtg_corpus.push import PushError, push
from rtg_corpus.verify import VerifyError

DEFAULT_OUT = Path("data/corpus")


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

    publish = commands.add_parser("push", help="publish a built corpus as a Hugging Face Hub dataset")
    publish.add_argument("out", type=Path)
    publish.add_argument("--repo-id", required=True)
    publish.add_argument("--private", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"fetch": _fetch, "build": _build, "push": _push}[args.command](args)


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
                         curated=not args.no_curated, limit=args.limit)
    start = time.monotonic()
    try:
        report = build(config)
    except (SandboxUnavailable, CargoEnvError, VerifyError, ModelUnavailable) as exc:
        print(f"rtg-corpus: {exc}", file=sys.stderr)
        return 3
    counts = ", ".join(f"{name} {len(samples)}" for name, samples in report.splits.items())
    print(f"rtg-corpus: wrote {args.out}: {counts} in {time.monotonic() - start:.0f} s", file=sys.stderr)
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
