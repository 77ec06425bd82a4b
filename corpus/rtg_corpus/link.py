"""Linking tests to the functions they exercise, by the calls they make within the crate.

A test is linked to one focal fn, or to none when that would be a guess:
1. among the crate fns it calls, the one its name mentions (`parse_hex_rejects_empty` -> `parse_hex`), the longest
   name winning, then the one named first (`balance_after_deposit` -> `balance`: a test is named after its
   subject); calls through a receiver count (`ledger.balance()` is a call of `balance`);
2. else the only crate fn it calls, not counting set-up calls (`new`, `default`, ...) when it calls another,
   unless its name mentions something else it calls (a trait or std method: `test_checked_add`);
3. a name defined more than once (`new` on several types) is resolved by `Type::name(..)` calls, then by the
   types the test mentions, then by the test's own file; if still ambiguous, the test is left out.
Doc tests belong to the fn whose doc comment holds them.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from rtg_corpus.extract import Focal, TestFn

SETUP_CALLS = frozenset({"new", "default", "with_capacity", "builder", "build", "from", "into", "clone", "fmt",
                         "unwrap", "expect", "to_string", "to_owned", "iter", "collect", "len", "is_empty"})
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class Link:
    test: TestFn
    how: str  # "name" | "only-call" | "doc"


def words(name: str) -> list[str]:
    return [w for w in _WORD_BOUNDARY.sub("_", name).lower().split("_") if w]


def mentions(test_name: str, fn_name: str) -> bool:
    test_words, fn_words = words(test_name), words(fn_name)
    n = len(fn_words)
    return n > 0 and any(test_words[i:i + n] == fn_words for i in range(len(test_words) - n + 1))


def mention_position(test_name: str, fn_name: str) -> int:
    """The word index where `fn_name` first appears in `test_name` (which must mention it)."""
    test_words, fn_words = words(test_name), words(fn_name)
    n = len(fn_words)
    return next(i for i in range(len(test_words) - n + 1) if test_words[i:i + n] == fn_words)


def link_tests(focals: list[Focal], tests: list[TestFn]) -> dict[tuple[str, int], list[Link]]:
    """Focal key -> the tests linked to it, in the order they were given."""
    by_name: dict[str, list[Focal]] = defaultdict(list)
    for focal in focals:
        by_name[focal.function.name].append(focal)
    links: dict[tuple[str, int], list[Link]] = defaultdict(list)
    for test in tests:
        chosen = _choose_name(test, by_name)
        if chosen is None:
            continue
        name, how = chosen
        focal = _resolve(test, by_name[name])
        if focal is not None:
            links[focal.key].append(Link(test, how))
    return dict(links)


def _choose_name(test: TestFn, by_name: dict[str, list[Focal]]) -> tuple[str, str] | None:
    called = sorted(n for n in test.calls if n in by_name)
    if not called:
        return None
    mentioned = [n for n in called if mentions(test.name, n)]
    if mentioned:
        longest = max(len(words(n)) for n in mentioned)
        best = [n for n in mentioned if len(words(n)) == longest]
        best = [n for n in best if n not in SETUP_CALLS] or best  # `new_then_insert` is about `insert`
        return min(best, key=lambda n: mention_position(test.name, n)), "name"
    if any(mentions(test.name, n) for n in test.calls if n not in SETUP_CALLS and n not in by_name):
        return None  # `test_checked_add` is about `checked_add`, whatever crate fn it also calls
    substantive = [n for n in called if n not in SETUP_CALLS]
    if len(substantive) == 1:
        return substantive[0], "only-call"
    if not substantive and len(called) == 1:
        return called[0], "only-call"
    return None


def _resolve(test: TestFn, candidates: list[Focal]) -> Focal | None:
    if len(candidates) == 1:
        return candidates[0]
    name = candidates[0].function.name
    typed = {t for t, n in test.typed_calls if n == name}
    narrowing = (
        lambda f: f.function.impl_type in typed,
        lambda f: f.function.impl_type is not None and f.function.impl_type in test.refs,
        lambda f: f.file == test.file,
    )
    for keep in narrowing:
        narrowed = [f for f in candidates if keep(f)]
        if len(narrowed) == 1:
            return narrowed[0]
        if narrowed:
            candidates = narrowed
    return None
