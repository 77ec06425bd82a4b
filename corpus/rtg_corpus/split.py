"""Splitting by crate: the holdout first (spec §5.3), then validation and test, the rest train; and the training
mix weights that bring property tests to their target share (spec §15.3)."""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

HOLDOUT_CATEGORIES = ("stdlib", "async", "generics_lifetimes", "error_handling")
HOLDOUT_PER_CATEGORY = 25
HOLDOUT_PER_CRATE = 3  # per category: a holdout of one crate's fns would measure that crate
TARGETS = {"train": 8000, "validation": 1000, "test": 1000}
PROPERTY_SHARE_TARGET = 0.225  # spec §15.3: 20-25 % of the training mix has property tests


@dataclass
class Splits:
    train: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    test: list[dict] = field(default_factory=list)
    holdout: list[dict] = field(default_factory=list)
    holdout_crates: list[str] = field(default_factory=list)
    unused: dict[str, int] = field(default_factory=dict)  # reason -> samples left out

    def items(self):
        return (("train", self.train), ("validation", self.validation), ("test", self.test),
                ("holdout", self.holdout))


def group_of(sample: dict) -> str:
    """The unit no split may share: the crate (a curated example is a crate of its own)."""
    return sample["metadata"]["crate"]


def split(samples: list[dict], seed: int) -> Splits:
    """`samples` sorted by id. Curated examples fill the holdout where mined crates cannot; the rest of them
    train."""
    rng = random.Random(seed)
    mined = [s for s in samples if s["metadata"]["source"] != "curated"]
    curated = [s for s in samples if s["metadata"]["source"] == "curated"]
    by_group: dict[str, list[dict]] = defaultdict(list)
    for sample in mined:
        by_group[group_of(sample)].append(sample)
    result = Splits()
    holdout_groups = _choose_holdout(by_group, rng, result)
    _fill_holdout_from_curated(curated, rng, result)
    used_curated = {s["id"] for s in result.holdout if s["metadata"]["source"] == "curated"}
    rest_groups = sorted(g for g in by_group if g not in holdout_groups)
    left_in_holdout_crates = sum(len(by_group[g]) for g in holdout_groups) - sum(
        1 for s in result.holdout if s["metadata"]["source"] != "curated")
    if left_in_holdout_crates:
        result.unused["other fns of holdout crates"] = left_in_holdout_crates
    total = sum(len(by_group[g]) for g in rest_groups)
    targets = {name: min(target, round(total * target / sum(TARGETS.values()))) for name, target in TARGETS.items()}
    rng.shuffle(rest_groups)
    counts = {"validation": 0, "test": 0}
    assigned: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for group in rest_groups:
        size = len(by_group[group])
        target = next((name for name in ("validation", "test")
                       if counts[name] + size <= targets[name] * 1.02 and counts[name] < targets[name]), "train")
        if target != "train":
            counts[target] += size
        assigned[target].extend(by_group[group])
    result.train = _train(assigned["train"] + [s for s in curated if s["id"] not in used_curated], rng, result)
    result.validation = sorted(assigned["validation"], key=lambda s: s["id"])
    result.test = sorted(assigned["test"], key=lambda s: s["id"])
    result.holdout = sorted(result.holdout, key=lambda s: (s["metadata"]["category"], s["id"]))
    result.holdout_crates = sorted(holdout_groups)
    return result


@dataclass(frozen=True)
class EvalSets:
    """Which samples a build held out: what a later build needs to hold out the same ones, so that figures
    measured on them stay comparable. Validation and test are whole crates; the holdout is 100 chosen fns."""

    validation_crates: tuple[str, ...]
    test_crates: tuple[str, ...]
    holdout_crates: tuple[str, ...]
    holdout: tuple[str, ...]  # sample ids

    @classmethod
    def of(cls, splits: Splits) -> "EvalSets":
        crates = lambda samples: tuple(sorted({group_of(s) for s in samples}))
        return cls(crates(splits.validation), crates(splits.test), tuple(splits.holdout_crates),
                   tuple(sorted(s["id"] for s in splits.holdout)))

    @cached_property
    def _held_crates(self) -> frozenset[str]:
        return frozenset(self.validation_crates + self.test_crates + self.holdout_crates)

    def holds(self, sample_id: str, group: str) -> bool:
        return group in self._held_crates or sample_id in self.holdout


def split_keeping(samples: list[dict], sets: EvalSets, seed: int) -> Splits:
    """Validation, test and holdout as an earlier build chose them (`sets`); every other sample trains."""
    rng = random.Random(seed)
    result = Splits(holdout_crates=list(sets.holdout_crates))
    validation, test, holdout = set(sets.validation_crates), set(sets.test_crates), set(sets.holdout)
    train = []
    for sample in samples:
        if sample["id"] in holdout:
            result.holdout.append(sample)
        elif group_of(sample) in validation:
            result.validation.append(sample)
        elif group_of(sample) in test:
            result.test.append(sample)
        elif group_of(sample) in sets.holdout_crates:
            result.unused["other fns of holdout crates"] = result.unused.get("other fns of holdout crates", 0) + 1
        else:
            train.append(sample)
    result.train = _train(train, rng, result)
    result.holdout.sort(key=lambda s: (s["metadata"]["category"], s["id"]))
    return result


def _train(train: list[dict], rng: random.Random, result: Splits) -> list[dict]:
    if len(train) > TARGETS["train"]:
        # Over the target: curated and standalone samples stay, a seeded sample of the others fills the rest.
        first = sorted((s for s in train if _kept_first(s)), key=lambda s: s["id"])
        others = sorted((s for s in train if not _kept_first(s)), key=lambda s: s["id"])
        room = max(0, TARGETS["train"] - len(first))
        result.unused["train over its target size"] = len(train) - len(first) - min(room, len(others))
        train = first + rng.sample(others, min(room, len(others)))
    return sorted(train, key=lambda s: s["id"])


def _kept_first(sample: dict) -> bool:
    return sample["metadata"]["source"] == "curated" or sample["metadata"]["standalone"]


def _choose_holdout(by_group: dict[str, list[dict]], rng: random.Random, result: Splits) -> set[str]:
    """Small crates first (they cost train least), seeded order among equals; a crate joins the holdout when
    it has standalone fns in a category still short, and all of its fns then stay out of the other splits."""
    groups = sorted(by_group)
    rng.shuffle(groups)
    groups.sort(key=lambda g: len(by_group[g]))
    need = {c: HOLDOUT_PER_CATEGORY for c in HOLDOUT_CATEGORIES}
    chosen: set[str] = set()
    for group in groups:
        if not any(need.values()):
            break
        picks = []
        for category in HOLDOUT_CATEGORIES:
            fitting = [s for s in by_group[group]
                       if s["metadata"]["standalone"] and s["metadata"]["category"] == category]
            if fitting and need[category]:
                take = rng.sample(fitting, min(len(fitting), need[category], HOLDOUT_PER_CRATE))
                picks += take
                need[category] -= len(take)
        if picks:
            chosen.add(group)
            result.holdout += picks
    return chosen


def _fill_holdout_from_curated(curated: list[dict], rng: random.Random, result: Splits) -> None:
    have = defaultdict(int)
    for sample in result.holdout:
        have[sample["metadata"]["category"]] += 1
    for category in HOLDOUT_CATEGORIES:
        short = HOLDOUT_PER_CATEGORY - have[category]
        fitting = [s for s in curated if s["metadata"]["category"] == category and s["metadata"]["standalone"]]
        if short > 0 and fitting:
            result.holdout += rng.sample(fitting, min(short, len(fitting)))


def is_property(sample: dict) -> bool:
    return bool(sample["property_tests"])


def mix_weights(train: list[dict], target: float = PROPERTY_SHARE_TARGET) -> dict:
    """Sampling weights that give property-test samples `target` of the training mix: w_p = target * N_other /
    ((1 - target) * N_property), other samples weigh 1."""
    n_property = sum(is_property(s) for s in train)
    n_other = len(train) - n_property
    natural = n_property / len(train) if train else 0.0
    weight = round(target * n_other / ((1 - target) * n_property), 4) if n_property else None
    return {"property_natural_share": round(natural, 4), "property_target_share": target,
            "property_weight": weight, "other_weight": 1.0}
