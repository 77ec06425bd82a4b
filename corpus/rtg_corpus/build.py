"""`rtg-corpus build`: crates in -> OUT/{train,validation,test,holdout}.jsonl, README.md, manifest.json.

Stages, in order: find crates (newest version of each name) -> mine pairs (one process per core) -> licence ->
length budget -> exact and near duplicates -> judge every pair -> split by crate -> write. A crate that cannot be
read or mined is skipped with its reason; the run goes on.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from rtg_core.base_models import DEFAULT_BASE_MODEL
from rtg_core.prompt import answer, chat_prompt
from rtg_corpus import card
from rtg_corpus.crates import CrateSource, discover, is_permissive
from rtg_corpus.curated import is_curated, load_curated
from rtg_corpus.filters import NEAR_DUPLICATE_JACCARD, TokenCounter, deduplicate
from rtg_corpus.mine import MAX_FILE_BYTES, MAX_FOCAL_LINES, Candidate, mine_crate
from rtg_corpus.split import EvalSets, Splits, mix_weights, split, split_keeping
from rtg_corpus.verify import verify

AUDIT_FILE = Path(__file__).parent / "data" / "linking_audit.jsonl"


# Mining runs in worker processes without a tokenizer and trims a pair's tests to a character budget; the
# tokenizer's exact count then keeps or drops the pair. Qwen2.5-Coder averages 3.45 characters a token on the
# curated pairs; 4 lets mining keep pairs that the exact count may still drop rather than trim them in advance.
MINING_CHARS_PER_TOKEN = 4.0


@dataclass(frozen=True)
class BuildConfig:
    sources: tuple[Path, ...]
    out: Path
    seed: int = 42
    max_tokens: int = 2048  # prompt + answer; the training context (spec §15)
    tokenizer: str = DEFAULT_BASE_MODEL  # whose tokenizer counts the budget: a model dir or a hub id found here
    jobs: int = 2
    verify: bool = True  # judge every pair; off only for quick looks (then nothing is standalone)
    curated: bool = True
    limit: int | None = None  # only the first N crates (sorted by name)
    eval_sets: Path | None = None  # an earlier build's eval_sets.json: hold out the same samples

    def recorded(self) -> dict:
        return {"seed": self.seed, "max_tokens": self.max_tokens, "tokenizer": self.tokenizer,
                "verify": self.verify, "curated": self.curated, "limit": self.limit,
                "eval_sets": str(self.eval_sets) if self.eval_sets else None}


@dataclass
class BuildReport:
    splits: Splits
    funnel: list[tuple[str, int]]
    skipped_crates: list[tuple[str, str]]
    stage_seconds: dict[str, float] = field(default_factory=dict)


Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"rtg-corpus: {message}", file=sys.stderr)


def newest_versions(crates: list[CrateSource]) -> tuple[list[CrateSource], list[tuple[str, str]]]:
    """One crate per name: the newest version (`crates` is sorted by name, then version)."""
    newest: dict[str, CrateSource] = {}
    older = []
    for crate in crates:
        if crate.name in newest:
            older.append((newest[crate.name].key, f"older than {crate.version}"))
        newest[crate.name] = crate
    return [newest[name] for name in sorted(newest)], older


def _mine_one(crate: CrateSource, max_chars: int) -> tuple[str, list[Candidate], list[str], str | None]:
    try:
        candidates, notes = mine_crate(crate, max_chars)
        return crate.key, candidates, notes, None
    except Exception as exc:  # a crate that breaks the miner is skipped, never the run
        return crate.key, [], [], f"mining failed: {type(exc).__name__}: {exc}"


def mine_all(crates: list[CrateSource], jobs: int, max_chars: int, log: Log) -> tuple[list[Candidate],
                                                                                     list[tuple[str, str]]]:
    candidates: list[Candidate] = []
    skipped = []
    file_notes = 0
    with get_context("fork").Pool(jobs) as pool, tqdm(total=len(crates), desc="mining", unit="crate",
                                                      disable=None) as bar:
        for key, found, notes, error in pool.imap(partial(_mine_one, max_chars=max_chars), crates, chunksize=2):
            if error:
                skipped.append((key, error))
                log(f"skipped {key}: {error}")
            file_notes += len(notes)
            candidates += found
            bar.update()
    log(f"mined {len(candidates)} pairs from {len(crates) - len(skipped)} crates ({file_notes} notes on skipped "
        f"files and oversized pairs; `mine_crate` returns them per crate)")
    return candidates, skipped


def record(candidate: Candidate, source: str, crate: CrateSource | None, tokens: int, verdict: dict | None) -> dict:
    """One corpus line: spec §3.2's id/input/output/metadata and §3.1's function_code/unit_tests/property_tests."""
    c = candidate
    return {
        "id": c.id,
        "input": c.input,
        "output": c.output,
        "function_code": c.function_code,
        "unit_tests": list(c.unit_tests),
        "property_tests": list(c.property_tests),
        "metadata": {
            "crate": c.crate, "crate_version": c.crate_version, "file": c.file, "function": c.function,
            "complexity": c.complexity, "has_generics": c.has_generics, "has_lifetimes": c.has_lifetimes,
            "is_async": c.is_async, "has_unsafe": c.has_unsafe, "has_macros": c.has_macros,
            "category": c.category, "test_kinds": list(c.test_kinds), "test_names": list(c.test_names),
            "link": list(c.link), "standalone": bool(verdict and verdict["passes"]), "license": c.license,
            "source": source, "debian_package": crate.debian_package if crate else None,
            "tokens": tokens, "lines": c.lines,
            "judge": verdict or {"compiles": None, "passes": None, "tests_passed": None, "tests_total": None,
                                 "timed_out": None},
            "mix_weight": 1.0,
        },
    }


def build(config: BuildConfig, log: Log = _stderr) -> BuildReport:
    seconds: dict[str, float] = {}
    clock = time.monotonic()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.monotonic()
        seconds[stage] = round(now - clock, 1)
        clock = now

    counter = TokenCounter(config.tokenizer)  # first: a model that is not here stops the build before any work
    kept_sets = load_eval_sets(config.eval_sets) if config.eval_sets else None
    found, skipped = discover(list(config.sources))
    for name, reason in skipped:
        log(f"skipped {name}: {reason}")
    crates, older = newest_versions(found)
    crates = crates[: config.limit] if config.limit is not None else crates
    log(f"{len(crates)} crates ({len(older)} older versions left out) in {len(config.sources)} source dir(s)")
    by_key = {c.key: c for c in crates}
    lap("discover")

    # Mining (parallel, no tokenizer) trims by characters with a generous ratio; the tokenizer's count decides.
    max_chars = int(config.max_tokens * MINING_CHARS_PER_TOKEN) - len(chat_prompt("") + answer(""))
    mined, failed = mine_all(crates, config.jobs, max_chars, log)
    skipped += failed
    funnel = [("pairs mined (focal fn with linked tests)", len(mined))]
    lap("mine")

    curated = load_curated() if config.curated else []
    pool, tokens, kept = filter_candidates(curated, mined, config, counter, funnel, kept_sets)
    lap("filter")

    verdicts, bare = judge_pairs(pool, tokens, kept, config, counter) if config.verify else ({}, None)
    funnel.append(("standalone (built and passed by the judge)",
                   sum(1 for i in kept if _is_mined(pool[i]) and verdicts.get(pool[i].id, {}).get("passes"))))
    if bare is not None:
        funnel.append(("of which built with their context's comments left out", bare))
    lap("judge")

    records = []
    for i in kept:
        candidate = pool[i]
        is_curated = not _is_mined(candidate)
        crate = None if is_curated else by_key.get(f"{candidate.crate}-{candidate.crate_version}")
        source = "curated" if is_curated else ("debian" if crate and crate.debian_package else "directory")
        records.append(record(candidate, source, crate, tokens[i], verdicts.get(candidate.id)))
    records.sort(key=lambda r: r["id"])
    splits = split(records, config.seed) if kept_sets is None else split_keeping(records, kept_sets, config.seed)
    weights = mix_weights(splits.train)
    for sample in splits.train:
        if sample["property_tests"] and weights["property_weight"]:
            sample["metadata"]["mix_weight"] = weights["property_weight"]
    # given sets are written back whole: a crate or fn this build lacks stays held out for the next one
    write(config, splits, kept_sets or EvalSets.of(splits), funnel, skipped + older, crates, curated, weights,
          counter.method, len(kept))
    lap("write")
    log("stage seconds: " + ", ".join(f"{k} {v}" for k, v in seconds.items()))
    return BuildReport(splits, funnel, skipped, seconds)


class EvalSetsError(ValueError):
    pass


EVAL_SETS_FILE = "eval_sets.json"


def load_eval_sets(path: Path) -> EvalSets:
    """An earlier build's eval_sets.json, checked here, before hours of mining and judging."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        fields = ("validation_crates", "test_crates", "holdout_crates", "holdout")
        if not isinstance(raw, dict) or not all(
                isinstance(raw.get(f), list) and all(isinstance(x, str) for x in raw[f]) for f in fields):
            raise ValueError(f"expected lists of strings under {', '.join(fields)}")
        return EvalSets(*(tuple(raw[f]) for f in fields))
    except (OSError, ValueError) as exc:
        raise EvalSetsError(f"cannot hold out the evaluation sets of {path}: {exc}") from exc


def judge_pairs(pool: list[Candidate], tokens: list[int], kept: list[int], config: BuildConfig,
                counter: TokenCounter) -> tuple[dict[str, dict], int]:
    """Every kept pair judged; one whose input carries only the focal file's items and does not build is judged
    again with its bare input (all the items, no comments) where that fits the token budget, and takes it when
    that builds and passes (`pool` and `tokens` are updated). Returns the verdicts and how many took it."""
    with tqdm(total=len(kept), desc="judging", unit="pair", disable=None) as bar:
        verdicts = verify([(pool[i].id, pool[i].input, pool[i].output) for i in kept], progress=bar.update)
    retry = [i for i in kept if pool[i].bare_input is not None and not verdicts[pool[i].id]["passes"]]
    bare_tokens = {i: counter.count(pool[i].bare_input, pool[i].output) for i in retry}
    retry = [i for i in retry if bare_tokens[i] <= config.max_tokens]
    with tqdm(total=len(retry), desc="judging bare inputs", unit="pair", disable=None) as bar:
        again = verify([(pool[i].id, pool[i].bare_input, pool[i].output) for i in retry], progress=bar.update)
    took = [i for i in retry if again[pool[i].id]["passes"]]
    for i in took:
        pool[i] = replace(pool[i], input=pool[i].bare_input)
        tokens[i] = bare_tokens[i]
        verdicts[pool[i].id] = again[pool[i].id]
    return verdicts, len(took)


def _is_mined(candidate: Candidate) -> bool:
    return not is_curated(candidate)


def filter_candidates(curated: list[Candidate], mined: list[Candidate], config: BuildConfig, counter: TokenCounter,
                      funnel: list[tuple[str, int]], kept_sets: EvalSets | None = None) -> tuple[
                          list[Candidate], list[int], list[int]]:
    """Licence, token budget, exact and near duplicates. Returns the pool (curated first, so that a mined copy
    of a curated example is the one dropped, then mined pairs by id), each one's tokens and the indices kept;
    `funnel` gets the mined pairs left after each step. Of twins, one that `kept_sets` holds out wins, so that no
    copy of a held-out fn trains."""
    licensed = [c for c in sorted(mined, key=lambda c: c.id) if is_permissive(c.license)]
    funnel.append(("with a permissive licence", len(licensed)))
    pool = curated + licensed
    tokens = [counter.count(c.input, c.output) for c in pool]
    fitting = [i for i, n in enumerate(tokens) if n <= config.max_tokens]
    if kept_sets is not None:
        fitting.sort(key=lambda i: not kept_sets.holds(pool[i].id, pool[i].crate))
    mined_fitting = sum(1 for i in fitting if _is_mined(pool[i]))
    funnel.append((f"within {config.max_tokens} tokens", mined_fitting))
    result = deduplicate([pool[i].function_code for i in fitting])
    kept = sorted(fitting[i] for i in result.kept)
    exact_mined = sum(1 for j in result.exact if _is_mined(pool[fitting[j]]))
    funnel.append(("after exact-duplicate removal", mined_fitting - exact_mined))
    funnel.append(("after near-duplicate removal", sum(1 for i in kept if _is_mined(pool[i]))))
    return pool, tokens, kept


def read_audit(ids: set[str], path: Path = AUDIT_FILE) -> dict | None:
    """The hand-checked linking verdicts, if they were drawn from this corpus (every audited id is in it)."""
    if not path.is_file():
        return None
    verdicts = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not verdicts or any(v["id"] not in ids for v in verdicts):
        return None
    correct = sum(1 for v in verdicts if v["verdict"] == "correct")
    mined = [v for v in verdicts if any(link != "doc" for link in v["links"])]
    return {"total": len(verdicts), "correct": correct, "precision": round(correct / len(verdicts), 4),
            "mined_links_total": len(mined),
            "mined_links_correct": sum(1 for v in mined if v["verdict"] == "correct")}


def write(config: BuildConfig, splits: Splits, eval_sets: EvalSets, funnel, skipped, crates: list[CrateSource],
          curated, weights, token_method: str, passed_filters: int) -> None:
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    by_name = dict(splits.items())
    for name, samples in splits.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") as handle:
            for sample in samples:
                handle.write(card.dumps(sample) + "\n")
    debian = [c for c in crates if c.debian_package]
    sources = [{"crate": c.name, "version": c.version, "license": c.license, "debian_package": c.debian_package,
                "debian_version": c.debian_version} for c in crates]
    split_note = (f"{passed_filters} pairs passed the filters (curated examples included); the splits hold "
                  f"{len(splits.train)} / {len(splits.validation)} / {len(splits.test)}"
                  + (" (fewer than the targets; nothing was padded)." if len(splits.train) < 8000 else
                     ", the rest left out as listed below."))
    if config.eval_sets:
        split_note += (f" Validation, test and holdout hold out what an earlier build held out "
                       f"({config.eval_sets}), so that figures measured on them stay comparable.")
    info = {
        "crate_count": len(crates),
        "source_summary": (f"{len(debian)} from Debian's librust-*-dev packages" if debian else "local directories")
        + (f", {len(crates) - len(debian)} from other directories" if debian and len(debian) < len(crates) else ""),
        "curated_count": len(curated),
        "mix_weights": weights,
        "linking_audit": read_audit({s["id"] for _, samples in splits.items() for s in samples}),
        "funnel": [list(f) for f in funnel],
        "max_tokens": config.max_tokens,
        "token_method": token_method,
        "max_lines": MAX_FOCAL_LINES,
        "max_file_bytes": MAX_FILE_BYTES,
        "jaccard": NEAR_DUPLICATE_JACCARD,
        "seed": config.seed,
        "holdout_crates": splits.holdout_crates,
        "unused": splits.unused,
        "split_note": split_note,
        "sources_note": (f"Debian bookworm's crate packages, downloaded with `apt-get download` and unpacked by "
                         f"`rtg-corpus fetch --debian`; {len(crates)} crates after keeping the newest version of "
                         f"each name." if debian else f"{len(crates)} crates from local directories."),
        "skipped_crates": [list(s) for s in sorted(skipped)],
        "config": config.recorded(),
        "counts": {name: len(samples) for name, samples in splits.items()},
    }
    (out / "README.md").write_text(card.render_card(by_name, info), encoding="utf-8")
    (out / EVAL_SETS_FILE).write_text(json.dumps(asdict(eval_sets), indent=1) + "\n", encoding="utf-8")
    card.write_manifest(out, info, sources)
