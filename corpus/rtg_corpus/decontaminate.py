"""Decontamination: no function that any evaluation asks tests for may appear in training data.

Evaluation functions are the focal fns of the corpus test split and holdout, and every fn of HumanEvalPack-Rust's
canonical solutions. Two functions overlap when their normalised tokens (tree-sitter leaves, no comments or
layout) are the same, or when their 5-token shingles have a Jaccard similarity of at least
`CONTAMINATION_JACCARD`: looser than the corpus's near-duplicate bar (0.8), since a training copy of an
evaluation function is worse than a duplicate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rtg_core.rust_source import functions
from rtg_corpus.filters import SHINGLE, normalised_tokens
from rtg_eval.samples import read_samples

CONTAMINATION_JACCARD = 0.5
EVALUATION_SPLITS = ("test", "holdout")


@dataclass(frozen=True)
class EvalFunction:
    origin: str  # "corpus test <id>", "HumanEvalPack-Rust Rust/0", ...
    code: str


@dataclass(frozen=True)
class Overlap:
    sample_id: str
    origin: str
    jaccard: float


class _Fingerprint:
    def __init__(self, code: str):
        tokens = normalised_tokens(code)
        self.tokens = "\x1f".join(tokens)
        self.shingles = {"\x1f".join(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}

    def similarity(self, other: "_Fingerprint") -> float:
        if self.tokens == other.tokens:
            return 1.0
        union = len(self.shingles | other.shingles)
        return len(self.shingles & other.shingles) / union if union else 0.0


def evaluation_functions(corpus: Path, humaneval: Path | None) -> list[EvalFunction]:
    found = []
    for split in EVALUATION_SPLITS:
        for line in (corpus / f"{split}.jsonl").read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                found.append(EvalFunction(f"corpus {split} {record['id']}", record["function_code"]))
    if humaneval is not None:
        samples, errors = read_samples(humaneval)
        if errors:
            raise ValueError(f"{humaneval}: {errors[0]}")
        for sample in samples:
            data = sample.code.encode()
            for function in functions(sample.code):
                if not function.in_test_code:
                    found.append(EvalFunction(f"HumanEvalPack-Rust {sample.id}",
                                              data[function.start_byte:function.end_byte].decode()))
    return found


def overlaps(samples: list[dict], evaluation: list[EvalFunction],
             threshold: float = CONTAMINATION_JACCARD) -> list[Overlap]:
    """Every (training sample, evaluation function) pair whose functions overlap, the closest first per sample."""
    prints = [(e, _Fingerprint(e.code)) for e in evaluation]
    found = []
    for sample in samples:
        mine = _Fingerprint(sample["function_code"])
        hits = sorted(((mine.similarity(theirs), e.origin) for e, theirs in prints), reverse=True)
        found += [Overlap(sample["id"], origin, round(score, 3)) for score, origin in hits if score >= threshold]
    return found
