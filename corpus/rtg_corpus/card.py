"""The corpus folder's dataset card (README.md) and manifest.json, both from the written splits alone, so the
same splits give the same bytes."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rtg_core.files import file_sha256
from rtg_corpus.split import HOLDOUT_CATEGORIES

SPLIT_NAMES = ("train", "validation", "test", "holdout")
CATEGORY_ORDER = ("stdlib", "async", "generics_lifetimes", "error_handling", "other")
COMPLEXITY_BUCKETS = (("1", 1, 1), ("2-4", 2, 4), ("5-10", 5, 10), (">10", 11, 10**9))
TEST_KINDS = ("unit", "integration", "doctest", "proptest", "quickcheck")


def dumps(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def complexity_bucket(complexity: int) -> str:
    return next(name for name, low, high in COMPLEXITY_BUCKETS if low <= complexity <= high)


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _by(splits: dict[str, list[dict]], key, values) -> list[list]:
    rows = []
    for value in values:
        row = [value] + [sum(1 for s in splits[name] if value in key(s)) for name in SPLIT_NAMES]
        rows.append(row + [sum(row[1:])])
    return rows


def render_card(splits: dict[str, list[dict]], info: dict) -> str:
    """`info`: sources, licences, filters, weights, linking audit, config: the facts the splits do not hold."""
    header = ["", *SPLIT_NAMES, "all"]
    counts = [["samples"] + [len(splits[n]) for n in SPLIT_NAMES] + [sum(len(splits[n]) for n in SPLIT_NAMES)],
              ["standalone (judge: built and passed)"]
              + [sum(s["metadata"]["standalone"] for s in splits[n]) for n in SPLIT_NAMES]
              + [sum(s["metadata"]["standalone"] for n in SPLIT_NAMES for s in splits[n])],
              ["crates"] + [len({s["metadata"]["crate"] for s in splits[n]}) for n in SPLIT_NAMES]
              + [len({s["metadata"]["crate"] for n in SPLIT_NAMES for s in splits[n]})]]
    categories = _by(splits, lambda s: (s["metadata"]["category"],), CATEGORY_ORDER)
    buckets = _by(splits, lambda s: (complexity_bucket(s["metadata"]["complexity"]),),
                  [b[0] for b in COMPLEXITY_BUCKETS])
    kinds = _by(splits, lambda s: tuple(s["metadata"]["test_kinds"]), TEST_KINDS)
    holdout_sources = Counter((s["metadata"]["category"], s["metadata"]["source"]) for s in splits["holdout"])
    holdout_rows = [[c, holdout_sources[(c, "debian")] + holdout_sources[(c, "directory")],
                     holdout_sources[(c, "curated")]] for c in HOLDOUT_CATEGORIES]
    licences = sorted(Counter(s["metadata"]["license"] for n in SPLIT_NAMES for s in splits[n]).items(),
                      key=lambda kv: (-kv[1], kv[0]))
    weights = info["mix_weights"]
    audit = info.get("linking_audit")
    audit_line = (f"{audit['correct']}/{audit['total']} random pairs correct ({100 * audit['precision']:.0f} %), "
                  f"checked by hand; of the {audit['mined_links_total']} among them linked by crate tests rather "
                  f"than doc tests, {audit['mined_links_correct']} correct "
                  f"(`corpus/rtg_corpus/data/linking_audit.jsonl`)"
                  if audit else "not measured for this build (no hand audit drawn from it)")
    files = "\n".join(f"    - split: {n}\n      path: {n}.jsonl" for n in SPLIT_NAMES)
    filters = _table(["stage", "pairs"], [[k, v] for k, v in info["funnel"]])
    return f"""---
license: other
license_name: per-sample
license_details: Each sample keeps its crate's licence in metadata.license; only permissive licences are included.
language:
- code
tags:
- rust
- unit-tests
- code-generation
configs:
- config_name: default
  data_files:
{files}
---
# rtg corpus: Rust function -> tests pairs

Pairs of a focal Rust function and the tests its crate wrote for it (`#[test]` fns in `#[cfg(test)]` modules and
`tests/`, `proptest!` and `quickcheck` properties, doc tests turned into `#[test]` fns), mined by `rtg-corpus`
from {info['crate_count']} crates ({info['source_summary']}), plus {info['curated_count']} hand-curated examples.

Each line: `id`, `input` (the function and the crate items it and its tests need), `output` (the tests, as items
for a `mod tests {{ use super::*; ... }}`), `metadata`, and spec §3.1's `function_code`, `unit_tests`,
`property_tests`. `metadata.standalone` is true only when the judge built `input` + `output` in a scratch crate
(offline; proptest, quickcheck, tokio, rand, regex and md5 available) and every test passed;
`metadata.judge` keeps its verdict.

```python
from datasets import load_dataset
corpus = load_dataset("json", data_files={{n: f"{{n}}.jsonl" for n in {list(SPLIT_NAMES)!r}}})
```

## Counts

{_table(header, counts)}

### By category

{_table(header, categories)}

### By cyclomatic complexity of the focal function

{_table(header, buckets)}

### By test kind (a sample may have several)

{_table(header, kinds)}

## Splits

Split by crate: no crate has samples in two splits (each curated example is a crate of its own,
`rtg-curated/NAME`). Targets were train 8000 /
validation 1000 / test 1000 (spec §3.1); {info['split_note']}

The holdout (spec §5.3) has {len(splits['holdout'])} functions, 25 per category, every one standalone-verified by
the judge, from {len(info['holdout_crates'])} crates that are in no other split, plus curated examples (which are
then not in train):

{_table(["category", "mined", "curated"], holdout_rows)}

Samples left out at the split: {dumps(info['unused']) if info['unused'] else 'none'}.

## Training mix (spec §15.3)

Natural share of samples with property tests (proptest or quickcheck) in train: {100 * weights['property_natural_share']:.2f} %.
To reach {100 * weights['property_target_share']:.1f} % of the mix, sample them with weight
{weights['property_weight']} and every other sample with weight {weights['other_weight']}; each train line carries
its weight as `metadata.mix_weight`.

## How it was built

{filters}

- Linking tests to functions: a test is linked to the crate fn its name mentions among those it calls, else to
  the only crate fn it calls (set-up calls such as `new` aside), else to none; doc tests belong to their fn.
  Linking precision: {audit_line}.
- Length budget: prompt plus answer at most {info['max_tokens']} tokens, counted by {info['token_method']}.
- Dropped: non-permissive or missing licences, generated files, fns over {info['max_lines']} lines, files over
  {info['max_file_bytes']} bytes, exact duplicates (same tokens) and near duplicates (Jaccard >= {info['jaccard']}
  on 5-token shingles of the focal fn), across all crates before splitting.
- Seed {info['seed']}; the same sources and seed give byte-identical files (see manifest.json).

## Licences

{_table(["licence", "samples"], [[k, v] for k, v in licences])}

## Sources

{info['sources_note']} The exact crate and package versions are listed in manifest.json.
"""


def write_manifest(out: Path, info: dict, sources: list[dict]) -> None:
    files = {}
    for path in sorted(out.iterdir()):
        if path.is_file() and path.name != "manifest.json":
            files[path.name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    manifest = {
        "files": files,
        "sources": sources,
        "config": info["config"],
        "counts": info["counts"],
        "mix_weights": info["mix_weights"],
        "holdout_crates": info["holdout_crates"],
        "skipped_crates": info["skipped_crates"],
        "funnel": info["funnel"],
        "unused": info["unused"],
        "linking_audit": info.get("linking_audit"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
