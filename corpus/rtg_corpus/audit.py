"""The hand check of linking precision: 50 random mined pairs, each judged by a person as `correct` (every
linked test exercises the focal fn: calls it and checks what it does), `partial` (some do) or `wrong` (none do).
The verdicts live in data/linking_audit.jsonl, committed beside this code; the dataset card reports them.

    .venv/bin/python -m rtg_corpus.audit data/corpus > /tmp/audit.txt   # the pairs to read
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

AUDIT_SIZE = 50
AUDIT_SEED = 2024


def audit_sample(out: Path, n: int = AUDIT_SIZE, seed: int = AUDIT_SEED) -> list[dict]:
    """`n` random mined (not curated) pairs of a built corpus, all splits together: those whose seeded hash of
    the id is smallest. A pair keeps its rank whatever else the corpus holds, so a rebuild that changes a few
    pairs needs only those re-checked."""
    rows = []
    for split in ("train", "validation", "test", "holdout"):
        path = out / f"{split}.jsonl"
        rows += [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    mined = [r for r in rows if r["metadata"]["source"] != "curated"]
    rank = lambda row: hashlib.sha256(f"{seed}:{row['id']}".encode()).hexdigest()
    return sorted(mined, key=rank)[:n]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    for i, row in enumerate(audit_sample(Path(args[0] if args else "data/corpus")), start=1):
        meta = row["metadata"]
        print(f"#### {i} {row['id']}\nlinks: {list(zip(meta['test_names'], meta['link']))}\n")
        print(row["function_code"])
        print("---- tests")
        print(row["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
