"""`rtg-corpus mix`: the training data of the shipped adapter, judge-verified samples only.

Sources: the corpus's standalone pairs (mined tests the judge built and passed with nothing but `input`), the
hand-curated examples, and the self-generated rounds (`rtg_corpus.selfgen`). A corpus or curated pair is kept only
when its tests also catch bugs: the judge runs them against the function's mutants and at least one must die, with
no tautology among the assertions (a doctest that only calls the function passes, and teaches nothing worth
learning). Self-generated tests met that bar one by one when they were kept. Every sample keeps its provenance in
`metadata.source` (and `metadata.round`). A sample whose function overlaps an evaluation function (corpus test
split, holdout, HumanEvalPack-Rust: `rtg_corpus.decontaminate`) is left out; the files written are then read back
and checked again, and the mix fails (and removes them) unless that second count is 0.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rtg_corpus import card
from rtg_corpus.decontaminate import CONTAMINATION_JACCARD, evaluation_functions, overlaps
from rtg_corpus.filters import normalised_tokens
from rtg_corpus.selfgen import SOURCE as SELF_GENERATED
from rtg_eval.judge import JudgeConfig, judge_samples
from rtg_eval.samples import JudgeSample

KILL_JUDGE = JudgeConfig(coverage=False, max_mutants=20, test_timeout=30.0)
JUDGED_FILE = "judged.jsonl"  # verdicts by sha256 of input and output: a second mix judges only what changed
PROPTEST_SHARE = (0.20, 0.25)  # spec §15.3; rtg-train weights epochs into it when the natural share is outside


class MixError(RuntimeError):
    pass


@dataclass
class MixReport:
    counts: dict[str, dict[str, int]]  # split -> source label -> samples
    killed_none: dict[str, dict[str, int]]  # split -> source label -> verified pairs whose tests killed no mutant
    contaminated: list[dict]  # left out: sample id, evaluation function, similarity
    remaining_overlap: int  # in the files written, read back: must be 0
    repeated: int  # samples given more than once (the same id): kept once
    proptest_samples: int
    distinct_properties: int
    proptest_share: float


def read_jsonl(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise MixError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    return records


def source_label(record: dict) -> str:
    metadata = record["metadata"]
    if metadata.get("source") == SELF_GENERATED:
        return f"self-generated round {metadata['round']}"
    return "curated" if metadata.get("source") == "curated" else "corpus (judge-verified standalone)"


def distinct_properties(records: list[dict]) -> int:
    return len({"\x1f".join(normalised_tokens(p)) for r in records for p in r["property_tests"]})


def mix(corpus: Path, self_generated: list[Path], out: Path, humaneval: Path | None,
        log=lambda message: None) -> MixReport:
    train_split = read_jsonl(corpus / "train.jsonl")
    train_ids = {r["id"] for r in train_split}
    standalone = [r for r in train_split if r["metadata"].get("standalone")]
    validation = [r for r in read_jsonl(corpus / "validation.jsonl") if r["metadata"].get("standalone")]
    catching = catches_bugs(standalone + validation, out / JUDGED_FILE, log)
    killed_none = {split: dict(sorted(Counter(source_label(r) for r in records if r["id"] not in catching).items()))
                   for split, records in (("train", standalone), ("validation", validation))}
    train = [r for r in standalone if r["id"] in catching]
    validation = [r for r in validation if r["id"] in catching]
    for path in self_generated:
        generated = read_jsonl(path)
        strays = [r["id"] for r in generated if r["metadata"].get("origin_id") not in train_ids]
        if strays:
            raise MixError(f"{path}: {len(strays)} samples are not of this corpus's training split (first: "
                           f"{strays[0]}); self-generated tests must come from training functions only")
        train += generated
    by_id = {}
    for record in train:
        by_id.setdefault(record["id"], record)
    repeated, train = len(train) - len(by_id), list(by_id.values())

    evaluation = evaluation_functions(corpus, humaneval)
    hits = overlaps(train + validation, evaluation)
    dropped = {hit.sample_id for hit in hits}
    train = [r for r in train if r["id"] not in dropped]
    validation = [r for r in validation if r["id"] not in dropped]
    if not train:
        raise MixError(f"{corpus}: no judge-verified training sample (was the corpus built without the judge?)")

    with_properties = [r for r in train if r["property_tests"]]
    report = MixReport(
        counts={"train": dict(sorted(Counter(map(source_label, train)).items())),
                "validation": dict(sorted(Counter(map(source_label, validation)).items()))},
        killed_none=killed_none, repeated=repeated,
        contaminated=[{"id": h.sample_id, "evaluation_function": h.origin, "jaccard": h.jaccard} for h in hits],
        remaining_overlap=-1, proptest_samples=len(with_properties),
        distinct_properties=distinct_properties(with_properties),
        proptest_share=round(len(with_properties) / len(train), 4))
    write_splits(out, sorted(train, key=lambda r: r["id"]), sorted(validation, key=lambda r: r["id"]))
    written = read_jsonl(out / "train.jsonl") + read_jsonl(out / "validation.jsonl")
    report.remaining_overlap = len({hit.sample_id for hit in overlaps(written, evaluation)})
    log(f"decontamination: {len(dropped)} samples overlapped one of {len(evaluation)} evaluation functions "
        f"(normalised-token Jaccard >= {CONTAMINATION_JACCARD}) and were left out; overlap in the files written, "
        f"read back: {report.remaining_overlap}")
    if report.remaining_overlap:
        for name in ("train.jsonl", "validation.jsonl"):
            (out / name).unlink()
        raise MixError(f"{report.remaining_overlap} written samples overlap an evaluation function; nothing kept")
    write_card(out, report, corpus, self_generated, humaneval)
    return report


def catches_bugs(records: list[dict], cache: Path, log: Callable[[str], None]) -> set[str]:
    """Ids of the records whose tests kill at least one of the judge's mutants and hold no tautology. Verdicts are
    kept in `cache` a batch at a time, keyed by input, output and the judge's settings; a timed-out or unbuilt
    verdict is not kept (the next mix judges it again)."""
    settings = json.dumps(dataclasses.asdict(KILL_JUDGE), sort_keys=True)
    keys = {r["id"]: hashlib.sha256(f"{settings}\0{r['input']}\0{r['output']}".encode()).hexdigest() for r in records}
    known = {}
    if cache.is_file():
        for line in cache.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a stop: that pair is judged again
                continue
            known[row["key"]] = row
    todo = [r for r in records if keys[r["id"]] not in known]
    if todo:
        log(f"judging {len(todo)} verified pairs against their mutants ({len(records) - len(todo)} known)")
    cache.parent.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(todo), KILL_JUDGE.batch_size):
        batch = todo[start:start + KILL_JUDGE.batch_size]
        verdicts, _ = judge_samples([JudgeSample(r["id"], r["input"], r["output"]) for r in batch], KILL_JUDGE)
        with open(cache, "a", encoding="utf-8") as sink:
            for verdict in verdicts:
                row = {"key": keys[verdict.id], "id": verdict.id, "passes": verdict.passes,
                       "mutants_total": verdict.mutants_total, "mutants_killed": verdict.mutants_killed,
                       "tautologies": verdict.tautologies}
                known[row["key"]] = row
                if verdict.compiles and not verdict.timed_out:
                    sink.write(json.dumps(row) + "\n")
    return {r["id"] for r in records
            if (row := known[keys[r["id"]]])["passes"] and (row["mutants_killed"] or 0) > 0 and not row["tautologies"]}


def write_splits(out: Path, train: list[dict], validation: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, records in (("train", train), ("validation", validation)):
        with open(out / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") as handle:
            for record in records:
                handle.write(card.dumps(record) + "\n")


def write_card(out: Path, report: MixReport, corpus: Path, self_generated: list[Path], humaneval: Path | None) -> None:
    manifest = {"corpus": str(corpus), "self_generated": [str(p) for p in self_generated],
                "humaneval": str(humaneval) if humaneval else None, **report.__dict__}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (out / "README.md").write_text(render_card(report, corpus, self_generated, humaneval), encoding="utf-8")


def render_card(report: MixReport, corpus: Path, self_generated: list[Path], humaneval: Path | None) -> str:
    labels = sorted(set(report.counts["train"]) | set(report.counts["validation"]))
    rows = "\n".join(f"| {label} | {report.counts['train'].get(label, 0)} | "
                     f"{report.counts['validation'].get(label, 0)} |" for label in labels)
    low, high = PROPTEST_SHARE
    share_note = ("inside" if low <= report.proptest_share <= high else
                  "outside; rtg-train draws each epoch with weights that aim at the middle of")
    return f"""# rtg training mix: judge-verified tests only

Built by `rtg-corpus mix` from the corpus `{corpus}` and {len(self_generated)} self-generated file(s).
Every sample's tests were built and run by rtg's judge against its `input` alone; self-generated tests also
killed at least one mutant and hold no tautology. Provenance: `metadata.source` (`debian`, `curated`,
`{SELF_GENERATED}` with `metadata.round` and `metadata.generator`).

| source | train | validation |
| --- | --- | --- |
{rows}

Verified pairs left out because their tests killed none of the judge's mutants (or held a tautology):
{"; ".join(f"{split}: " + (", ".join(f"{label} {n}" for label, n in counts.items()) or "none")
           for split, counts in report.killed_none.items())}.

**Decontamination**: functions compared with every focal fn of the corpus test split and holdout
{"and every fn of HumanEvalPack-Rust (" + str(humaneval) + ")" if humaneval else "(HumanEvalPack-Rust not given)"}
by normalised tokens (same tokens, or 5-token-shingle Jaccard >= {CONTAMINATION_JACCARD}):
{len({c['id'] for c in report.contaminated})} samples left out, **{report.remaining_overlap}** overlapping in this data.

**Properties**: {report.proptest_samples} training samples carry `proptest!` properties
({report.proptest_share:.1%} of train; {report.distinct_properties} distinct properties), {share_note} the
spec's {low:.0%}–{high:.0%}.
"""
