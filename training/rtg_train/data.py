"""Training data: corpus lines → masked token sequences → a data order that is a pure function of (seed, step).

- A sample is a spec §3.2 line: `input` (the function), `output` (its tests), `metadata.test_kinds`.
- Tokens: `chat_prompt(code)` tokenised on its own, then `answer(tests)`; the loss sees only the answer
  (prompt tokens are labelled -100), so the model learns to answer, not to echo the system prompt.
- Length rule: a sample whose prompt + answer exceeds `max_seq_length` is dropped, never truncated (a cut-off
  test would teach the model to stop mid-function, a cut-off prompt to test code it cannot see); drops are counted.
  With `data.shorten_long_prompts`, such a sample first tries the shorter views of its code
  (`rtg_core.context.shorter_views`: the context's comments off, then its fn bodies elided), and the first that
  fits replaces its prompt; those are counted too.
- Mix: when the proptest share lies outside [min, max], each epoch draws its samples with replacement, weighted
  so that the expected share is the middle of the range, but no property is drawn more than
  `data.proptest_max_repeats` times an epoch on average; otherwise an epoch is a plain permutation.
- Order: epochs are concatenated into one stream; optimizer step k takes the next samples_per_step of it. So
  the step number alone fixes the data position, and a resumed run sees exactly the samples an unbroken one sees.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from rtg_core.context import shorter_views
from rtg_core.files import file_sha256
from rtg_core.prompt import answer, chat_prompt

IGNORE = -100  # the label of a token the loss skips
SPLITS = ("train", "validation")


class DataError(ValueError):
    pass


@dataclass(frozen=True)
class Sample:
    id: str
    code: str
    tests: str
    is_proptest: bool
    function_code: str | None = None  # the function under test as written in `code`; None: not known


@dataclass(frozen=True)
class Example:
    id: str
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # IGNORE on the prompt, the token itself on the answer
    is_proptest: bool

    @property
    def target_tokens(self) -> int:
        """Tokens the loss is computed on: answer tokens that have a token before them."""
        return sum(1 for label in self.labels[1:] if label != IGNORE)


@dataclass(frozen=True)
class Corpus:
    train: list[Sample]
    validation: list[Sample]
    source: str  # the directory or hub id it came from
    sha256: dict[str, str]  # file name (or hub split) -> sha256 of its bytes


def sample_from_record(record: dict) -> Sample:
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    for key in ("id", "input", "output"):
        if record.get(key) is None:
            raise ValueError(f"missing required field `{key}`")
    if not isinstance(record["input"], str) or not isinstance(record["output"], str):
        raise ValueError("`input` and `output` must be strings")
    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    kinds = metadata.get("test_kinds") or []
    function_code = record.get("function_code") if isinstance(record.get("function_code"), str) else None
    return Sample(str(record["id"]), record["input"], record["output"], "proptest" in kinds, function_code)


def read_jsonl(path: Path) -> list[Sample]:
    samples = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                samples.append(sample_from_record(json.loads(line)))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                raise DataError(f"{path}:{number}: {exc}") from exc
    return samples


def load_corpus(source: str) -> Corpus:
    """A corpus directory (train.jsonl, validation.jsonl) or a hub dataset id with train/validation splits."""
    path = Path(source).expanduser()
    if path.is_dir():
        files = {split: path / f"{split}.jsonl" for split in SPLITS}
        missing = [str(f) for f in files.values() if not f.is_file()]
        if missing:
            raise DataError(f"{path} is not a corpus directory: missing {', '.join(missing)} "
                            "(build one with `rtg-corpus`, or pass a hub dataset id)")
        splits = {split: read_jsonl(f) for split, f in files.items()}
        hashes = {f.name: file_sha256(f) for f in files.values()}
    elif path.exists() or source.startswith((".", "/", "~")) or source.count("/") != 1:
        raise DataError(f"{source}: no such corpus directory (expected train.jsonl and validation.jsonl in it), "
                        "and not a hub dataset id (owner/name)")
    else:
        splits, hashes = _load_hub_dataset(source)
    if not splits["train"]:
        raise DataError(f"{source}: the training split is empty")
    return Corpus(splits["train"], splits["validation"], source, hashes)


def _load_hub_dataset(dataset_id: str) -> tuple[dict[str, list[Sample]], dict[str, str]]:
    from rtg_core.model import hub_offline

    try:
        import datasets

        loaded = datasets.load_dataset(dataset_id)
    except Exception as exc:  # offline, missing, private: all end the same way
        why = "HF_HUB_OFFLINE is set and it is not cached" if hub_offline() else f"{type(exc).__name__}: {exc}"
        raise DataError(f"dataset {dataset_id!r} could not be loaded ({str(why).splitlines()[0]}). Download it "
                        "once where the hub is reachable, or pass a local corpus directory with train.jsonl and "
                        "validation.jsonl: --dataset data/corpus") from exc
    splits, hashes = {}, {}
    for split in SPLITS:
        if split not in loaded:
            raise DataError(f"dataset {dataset_id!r} has no {split!r} split (it has {', '.join(loaded)})")
        records = list(loaded[split])
        try:
            splits[split] = [sample_from_record(r) for r in records]
        except ValueError as exc:
            raise DataError(f"dataset {dataset_id!r}, split {split}: {exc}") from exc
        canonical = "\n".join(json.dumps(r, sort_keys=True, default=str) for r in records).encode()
        hashes[f"{dataset_id}:{split}"] = hashlib.sha256(canonical).hexdigest()
    return splits, hashes


@dataclass(frozen=True)
class Tokenized:
    examples: list[Example]
    shortened: list[tuple[str, str]]  # (id, what its view left out of the code: "comments" or "fn bodies")
    dropped: list[tuple[str, int]]  # (id, tokens of the last form tried): still longer than max_seq_length


def tokenize(samples: list[Sample], tokenizer, max_seq_length: int, shorten: bool = False) -> Tokenized:
    """Masked examples; with `shorten`, a sample over `max_seq_length` takes the first shorter view of its code
    that fits, and only a sample none fits is dropped."""
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]
    result = Tokenized([], [], [])
    for sample in samples:
        reply = encode(answer(sample.tests))
        prompt = encode(chat_prompt(sample.code))
        left_out = None
        if len(prompt) + len(reply) > max_seq_length >= len(reply) and shorten and sample.function_code:
            for left_out, code in shorter_views(sample.code, sample.function_code):
                prompt = encode(chat_prompt(code))
                if len(prompt) + len(reply) <= max_seq_length:
                    break
        if len(prompt) + len(reply) > max_seq_length:
            result.dropped.append((sample.id, len(prompt) + len(reply)))
            continue
        if left_out:
            result.shortened.append((sample.id, left_out))
        result.examples.append(Example(sample.id, tuple(prompt + reply), (IGNORE,) * len(prompt) + tuple(reply),
                                       sample.is_proptest))
    return result


@dataclass(frozen=True)
class Mix:
    natural_share: float  # the proptest share of the examples
    weighted: bool  # whether epochs are drawn with weights
    expected_share: float  # the proptest share an epoch has on average


def plan_mix(is_proptest: list[bool], share_min: float, share_max: float,
             max_repeats: float = float("inf")) -> tuple[Mix, list[float]]:
    """Per-example sampling weights that bring the proptest share into [share_min, share_max], drawing no property
    more than `max_repeats` times per epoch on average: a few properties repeated many times teach them by heart,
    so the share then stops short of the range (the log says so)."""
    n, k = len(is_proptest), sum(is_proptest)
    share = k / n
    if share_min <= share <= share_max or k in (0, n):  # in range, or nothing to weight
        return Mix(share, False, share), [1.0] * n
    target = (share_min + share_max) / 2
    if share < share_min:
        target = max(share, min(target, max_repeats * k / n))
    w_prop, w_other = target / k, (1 - target) / (n - k)
    return Mix(share, True, target), [w_prop if p else w_other for p in is_proptest]


class DataOrder:
    """Which examples optimizer step k trains on: a pure function of (seed, k)."""

    def __init__(self, weights: list[float], weighted: bool, seed: int, samples_per_step: int):
        self.weights, self.weighted, self.seed = weights, weighted, seed
        self.samples_per_step = samples_per_step
        self._epochs: dict[int, list[int]] = {}

    def epoch(self, number: int) -> list[int]:
        import torch

        if number not in self._epochs:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + number)
            n = len(self.weights)
            if self.weighted:
                order = torch.multinomial(torch.tensor(self.weights, dtype=torch.float64), n, replacement=True,
                                          generator=generator)
            else:
                order = torch.randperm(n, generator=generator)
            self._epochs = {number: order.tolist()}  # keep one epoch: steps move forward
        return self._epochs[number]

    def step(self, k: int) -> list[int]:
        n = len(self.weights)
        first = k * self.samples_per_step
        return [self.epoch(p // n)[p % n] for p in range(first, first + self.samples_per_step)]

    def epoch_of(self, k: int) -> float:
        return k * self.samples_per_step / len(self.weights)


def total_steps(n_examples: int, samples_per_step: int, epochs: float, max_steps: int | None) -> int:
    if max_steps is not None:
        return max_steps
    return max(1, math.ceil(epochs * n_examples / samples_per_step))


def micro_batches(examples: list[Example], indices: list[int], batch_size: int, rank: int,
                  world_size: int) -> list[list[Example]]:
    """This rank's micro-batches of one step: its share of `indices`, grouped by length to waste less padding."""
    mine = indices[rank::world_size]
    ordered = sorted(mine, key=lambda i: (len(examples[i].input_ids), i))
    return [[examples[i] for i in ordered[s:s + batch_size]] for s in range(0, len(ordered), batch_size)]


def collate(batch: list[Example], pad_id: int):
    """Right-padded input_ids, attention_mask and labels tensors."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = [list(e.input_ids) + [pad_id] * (width - len(e.input_ids)) for e in batch]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in batch]
    labels = [list(e.labels) + [IGNORE] * (width - len(e.labels)) for e in batch]
    return torch.tensor(ids), torch.tensor(mask), torch.tensor(labels)
