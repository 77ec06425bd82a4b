"""Filters between mining and judging: licence, length budget, exact and near-duplicate removal."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from rtg_core.prompt import answer, chat_prompt
from rtg_eval.similarity import rust_tokens

NEAR_DUPLICATE_JACCARD = 0.8  # on 5-token shingles of the focal fn
SHINGLE = 5
_PERMUTATIONS = 64
_BANDS = 16  # 16 bands of 4 rows: pairs at Jaccard 0.8 share a band with probability > 0.999
_PRIME = (1 << 61) - 1


class TokenCounter:
    """Tokens of the training text (`chat_prompt(input) + answer(output)`) by the model's own tokenizer: a local
    model directory or a hub id that `rtg_core.model.resolve_model` finds here (the fetched base model)."""

    def __init__(self, tokenizer: str):
        from rtg_core.model import load_tokenizer, resolve_model

        self.method = f"tokenizer:{tokenizer}"
        self._tokenizer = load_tokenizer(resolve_model(tokenizer, allow_download=False))

    def count(self, input_text: str, output_text: str) -> int:
        text = chat_prompt(input_text) + answer(output_text)
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])


def normalised_tokens(code: str) -> list[str]:
    """tree-sitter leaves without comments or layout: what two copies of a fn share however formatted."""
    return rust_tokens(code)


def _shingle_hashes(tokens: list[str]) -> np.ndarray:
    grams = {"\x1f".join(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    return np.array(sorted(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
                           for g in grams), dtype=np.uint64)


@dataclass(frozen=True)
class DedupResult:
    kept: list[int]  # indices into the input, in input order
    exact: dict[int, int]  # dropped index -> the kept index it duplicates
    near: dict[int, int]


def deduplicate(codes: list[str], threshold: float = NEAR_DUPLICATE_JACCARD) -> DedupResult:
    """Keep the first of each group of exact (same normalised tokens) or near duplicates (MinHash LSH candidates
    whose shingle Jaccard is at least `threshold`, checked exactly), in input order."""
    rng = np.random.default_rng(20240601)
    a = rng.integers(1, 1 << 31, size=_PERMUTATIONS, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, size=_PERMUTATIONS, dtype=np.uint64)
    rows = _PERMUTATIONS // _BANDS
    exact_seen: dict[str, int] = {}
    buckets: dict[tuple, list[int]] = defaultdict(list)
    shingles: dict[int, np.ndarray] = {}
    kept, exact, near = [], {}, {}
    for i, code in enumerate(codes):
        tokens = normalised_tokens(code)
        digest = hashlib.sha256("\x1f".join(tokens).encode()).hexdigest()
        if digest in exact_seen:
            exact[i] = exact_seen[digest]
            continue
        exact_seen[digest] = i
        hashes = _shingle_hashes(tokens)
        signature = ((hashes[:, None] * a[None, :] + b[None, :]) % _PRIME).min(axis=0)
        keys = [(band, signature[band * rows:(band + 1) * rows].tobytes()) for band in range(_BANDS)]
        match = None
        for other in sorted({j for key in keys for j in buckets.get(key, ())}):
            if _jaccard(hashes, shingles[other]) >= threshold:
                match = other
                break
        if match is not None:
            near[i] = match
            continue
        kept.append(i)
        shingles[i] = hashes
        for key in keys:
            buckets[key].append(i)
    return DedupResult(kept, exact, near)


def _jaccard(x: np.ndarray, y: np.ndarray) -> float:
    inter = np.intersect1d(x, y, assume_unique=True).size
    union = x.size + y.size - inter
    return inter / union if union else 1.0


def near_duplicates_across(left: list[str], right: list[str], threshold: float = NEAR_DUPLICATE_JACCARD) -> list[
        tuple[int, int]]:
    """(i, j) where left[i] and right[j] are exact or near duplicates: the check that no holdout or test fn has a
    twin in train."""
    result = deduplicate(list(left) + list(right), threshold)
    n = len(left)
    pairs = []
    for dropped, kept in {**result.exact, **result.near}.items():
        if (dropped < n) != (kept < n):
            pairs.append((min(dropped, kept), max(dropped, kept) - n))
    return sorted(pairs)


