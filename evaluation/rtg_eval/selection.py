"""Best-of-n with mutation-guided selection: judge every generated test on its own, then keep the smallest set of
passing tests that kills the most mutants.

    judge_candidates([(sample, [items of reply 0, items of reply 1, ...]), ...], config) -> [CandidateJudgement]
    select_tests(judgement.tests, functions=("double",)) -> the chosen CandidateTests
    compose(chosen) -> the test code to insert or judge: their shared items, then the tests, names made unique

Each reply is one module of a scratch crate; a compile error is traced to the item that holds it and only that
item is dropped before the next build, so one broken test never takes its neighbours down; unless rustc is sure
of the fix (a MachineApplicable suggestion inside the test for each of its errors): then the test takes it, as a
user takes rustc's quick fix, and is built again. Surviving tests run one by one on the code under test; the
passing ones run against the judge's mutants (schemata, the judge's operators: `rtg_eval.judge.mutant_verdicts`),
and libtest's FAILED lines say which test killed which mutant.
Selection never sees a sample's real bug: that is evaluation's, not the generator's.
"""
from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rtg_core.cargo_env import Diagnostic, Edit, OfflineCargo, cache_dir
from rtg_core.test_items import TestItem
from rtg_core.test_repairs import rename_shadowing_tests
from rtg_eval.crate import ScratchCrate, TestRun, Unit, list_tests, run_unit_tests_one_by_one, unit_of
from rtg_eval.judge import SCORED, JudgeConfig, keep_binary, mutant_verdicts
from rtg_eval.samples import JudgeSample

MAX_BUILD_ROUNDS = 8  # each round fixes or drops the items rustc blamed; helpers dropped fail their users next
MAX_RUSTC_FIXES = 4  # rustc's fixes to one test: one that needs more is wrong past rustc's sight
LAST_FIX_ROUND = MAX_BUILD_ROUNDS - 3  # later rounds only drop, so that a fixed test's next build still comes


@dataclass(frozen=True)
class CandidateTest:
    """One test item of one reply (a `#[test]` fn, or a `proptest!` block with its properties) and its verdict."""

    candidate: int  # which reply
    position: int  # its place among that reply's items
    item: TestItem
    shared: tuple[TestItem, ...]  # the reply's shared items (uses, helpers) the test may need
    builds: bool = False
    passes: bool = False
    kills: frozenset[int] = frozenset()  # indices of the generated mutants it fails on
    why: str = ""  # what stopped it, when it did not build or pass
    rustc_fixes: tuple[str, ...] = ()  # the fixes rustc was sure of that it took, in order

    @property
    def validated(self) -> bool:
        return self.builds and self.passes

    @property
    def lines(self) -> int:
        return self.item.text.strip("\n").count("\n") + 1


@dataclass(frozen=True)
class CandidateJudgement:
    sample_id: str
    tests: list[CandidateTest]
    mutants_scored: dict[int, int]  # per reply: generated mutants with a verdict (caught, missed, timeout)
    problems: dict[int, str]  # per reply with no test that built: why (the first error, or "no test in the reply")


# --------------------------------------------------------------------------------------------------- selection


def select_tests(tests: Sequence[CandidateTest], functions: Sequence[str] = ()) -> list[CandidateTest]:
    """Greedy set cover over the kill matrix: the validated test that kills the most mutants not yet killed, until
    none adds one (ties: fewer lines, then the earlier reply and place). Then at least one test for each requested
    function that some validated test calls, and at least one test when any passed. Identical tests (names aside)
    count once. Returned in reply order."""
    pool = _distinct([t for t in tests if t.validated])
    chosen: list[CandidateTest] = []
    killed: set[int] = set()
    while True:
        rest = [t for t in pool if t not in chosen]
        best = min(rest, key=lambda t: (-len(t.kills - killed), t.lines, t.candidate, t.position), default=None)
        if best is None or not best.kills - killed:
            break
        chosen.append(best)
        killed |= best.kills
    for function in functions:
        calls = [t for t in pool if calls_function(t, function)]
        if calls and not any(calls_function(t, function) for t in chosen):
            chosen.append(min(calls, key=lambda t: (t.lines, t.candidate, t.position)))
    if pool and not chosen:
        chosen.append(min(pool, key=lambda t: (t.lines, t.candidate, t.position)))
    return sorted(chosen, key=lambda t: (t.candidate, t.position))


def _distinct(tests: list[CandidateTest]) -> list[CandidateTest]:
    seen: set[str] = set()
    distinct = []
    for test in tests:
        shape = " ".join(re.sub(r"\bfn\s+\w+", "fn _", test.item.text).split())
        if shape not in seen:
            seen.add(shape)
            distinct.append(test)
    return distinct


def calls_function(test: CandidateTest, function: str) -> bool:
    return re.search(rf"\b{re.escape(function)}\s*(::<[^>]*>)?\s*\(", test.item.text) is not None


def compose(chosen: Sequence[CandidateTest], taken: frozenset[str] = frozenset()) -> str:
    """The chosen tests as one piece of test code: each reply's shared items once (identical ones once overall),
    then the tests; a test name that repeats another reply's, or one of `taken` (names already in the module the
    tests go into), is renamed (`NAME_2`), nothing else is touched."""
    shared: list[TestItem] = []
    for test in chosen:
        shared += [item for item in test.shared if item.text.strip() not in {s.text.strip() for s in shared}]
    items, _ = rename_shadowing_tests(shared + [t.item for t in chosen], set(taken))
    return "\n\n".join(item.text.strip("\n") for item in items)


def with_rustc_fixes(items: Sequence[TestItem], judgement: CandidateJudgement, candidate: int = 0) -> str:
    """Reply `candidate`'s items as test code, each test that rustc's fixes made build in its fixed form."""
    fixed = {t.position: t.item for t in judgement.tests if t.candidate == candidate and t.builds and t.rustc_fixes}
    return "\n\n".join(fixed.get(p, item).text.strip("\n") for p, item in enumerate(items))


def restricted(judgement: CandidateJudgement, replies: set[int]) -> CandidateJudgement:
    """The judgement of only some replies (e.g. {0}: the greedy reply alone)."""
    return CandidateJudgement(judgement.sample_id, [t for t in judgement.tests if t.candidate in replies],
                              {k: v for k, v in judgement.mutants_scored.items() if k in replies},
                              {k: v for k, v in judgement.problems.items() if k in replies})


def selection_figures(judgement: CandidateJudgement, chosen: Sequence[CandidateTest]) -> dict:
    """Per-test figures of one function: what was generated, built (some with rustc's fixes), passed, killed at
    least one mutant, chosen.
    Mutants scored: the most any reply had (a mutant can be unviable with one reply's tests and not another's)."""
    killed = set().union(*(t.kills for t in chosen)) if chosen else set()
    return {
        "tests_generated": len(judgement.tests),
        "tests_building": sum(t.builds for t in judgement.tests),
        "tests_fixed_by_rustc": sum(t.builds and bool(t.rustc_fixes) for t in judgement.tests),
        "tests_passing": sum(t.validated for t in judgement.tests),
        "tests_killing": sum(t.validated and bool(t.kills) for t in judgement.tests),
        "tests_selected": len(chosen),
        "mutants_scored": max(judgement.mutants_scored.values(), default=0),
        "mutants_killed_by_selection": len(killed),
    }


# --------------------------------------------------------------------------------------------------- judging


@dataclass
class Reply:
    """One reply being judged: its tests (verdicts filled in as they come) and shared items, in module `unit`."""

    unit: str
    sample: JudgeSample
    candidate: int
    tests: list[CandidateTest]
    shared: list[TestItem]
    problem: str = ""

    def live_items(self) -> list[TestItem]:
        """What still goes into the build: shared items and the tests not dropped."""
        return self.shared + [t.item for t in self.tests if not t.why]

    def text_and_spans(self) -> tuple[str, list[tuple[int, int, TestItem]]]:
        """The module's text and each item's byte span in it, to trace rustc's errors to items."""
        items = self.live_items()
        tests = "\n\n".join(item.text.strip("\n") for item in items)
        text = Unit(self.unit, self.sample.code, tests).text
        code_part = len(self.sample.code.rstrip("\n"))
        head = text[: text.index(tests.rstrip(), code_part)].encode() if tests else text.encode()
        spans, offset = [], len(head)
        for item in items:
            size = len(item.text.strip("\n").encode())
            spans.append((offset, offset + size, item))
            offset += size + 2
        return text, spans


def judge_candidates(problems: Sequence[tuple[JudgeSample, Sequence[Sequence[TestItem]]]],
                     config: JudgeConfig = JudgeConfig()) -> list[CandidateJudgement]:
    """Every test of every reply judged on its own: builds, passes on the code, which generated mutants it kills.
    At most `config.batch_size` replies share a scratch crate."""
    per_batch = max(1, config.batch_size // max(1, max((len(c) for _, c in problems), default=1)))
    judgements: list[CandidateJudgement] = []
    for start in range(0, len(problems), per_batch):
        judgements += _judge_batch(problems[start:start + per_batch], config)
    return judgements


def _judge_batch(problems: Sequence[tuple[JudgeSample, Sequence[Sequence[TestItem]]]],
                 config: JudgeConfig) -> list[CandidateJudgement]:
    replies: list[Reply] = []
    for i, (sample, candidate_items) in enumerate(problems):
        for k, items in enumerate(candidate_items):
            tests = [CandidateTest(k, p, item, ()) for p, item in enumerate(items) if item.names]
            reply = Reply(f"c_{i:04d}_{k:02d}", sample, k, tests, [item for item in items if not item.names])
            if not tests:
                reply.problem = "no test in the reply"
            replies.append(reply)
    cargo = OfflineCargo.prepared()
    scratch = cache_dir() / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="select-", dir=scratch) as keep:
        binaries = _build(cargo, [r for r in replies if r.tests], Path(keep), config.rustc_fixes)
        runs = _run(binaries, replies, config)
        scored = _mutants(runs, config)
    judgements = []
    for i, (sample, _) in enumerate(problems):
        own = [r for r in replies if r.unit.startswith(f"c_{i:04d}_")]
        judgements.append(CandidateJudgement(
            sample.id, [dataclasses.replace(t, shared=tuple(r.shared)) for r in own for t in r.tests],
            {r.candidate: scored[r.unit] for r in own if r.unit in scored},
            {r.candidate: r.problem or next((t.why for t in r.tests if t.why), "")
             for r in own if not any(t.validated for t in r.tests)}))
    return judgements


def _build(cargo: OfflineCargo, replies: list[Reply], keep: Path, rustc_fixes: bool) -> dict[str, Path]:
    """One crate for all replies; each round fixes (`rustc_fixes`: where rustc is sure how) or drops what rustc
    blamed (an item, or a whole reply whose error lies outside its items) until it builds. A failure traced to no
    module: each reply alone, the same way. Returns the test binary of each reply that built."""
    pending = list(replies)
    with ScratchCrate(cargo, "select") as crate:
        for build_round in range(MAX_BUILD_ROUNDS):
            pending = [r for r in pending if any(not t.why for t in r.tests) and not r.problem]
            if not pending:
                return {}
            layouts = {r.unit: r.text_and_spans() for r in pending}
            crate.write({unit: text for unit, (text, _) in layouts.items()})
            built = crate.build()
            if built.ok:
                binary = keep_binary(built.test_binary, keep)
                for reply in pending:
                    reply.tests = [t if t.why else dataclasses.replace(t, builds=True) for t in reply.tests]
                return {reply.unit: binary for reply in pending}
            by_unit = {r.unit: r for r in pending}
            blamed: dict[str, list[Diagnostic]] = {}
            for error in built.errors:
                if unit_of(error) in by_unit:
                    blamed.setdefault(unit_of(error), []).append(error)
            if not blamed:
                break
            for unit, errors in blamed.items():
                settle_errors(by_unit[unit], errors, layouts[unit][1], rustc_fixes and build_round <= LAST_FIX_ROUND)
    if len(pending) > 1:  # untraceable, or out of rounds: each reply alone
        return {unit: binary for reply in pending
                for unit, binary in _build(cargo, [reply], keep, rustc_fixes).items()}
    for reply in pending:
        reply.problem = "the build failed in a way no item could be blamed for"
        reply.tests = [t if t.why else dataclasses.replace(t, why=reply.problem) for t in reply.tests]
    return {}


def settle_errors(reply: Reply, errors: list[Diagnostic], spans: list[tuple[int, int, TestItem]],
                  rustc_fixes: bool = True) -> None:
    """One build's errors in one reply. With `rustc_fixes`, a test whose every error comes with a fix rustc is sure
    of, inside the test, takes those fixes (MAX_RUSTC_FIXES in all) and is built again; what any other error lies
    in is dropped."""
    by_span: dict[tuple[int, int, TestItem] | None, list[Diagnostic]] = {}
    for error in errors:
        by_span.setdefault(_owning_span(error, spans), []).append(error)
    for span, own in by_span.items():
        test = next((t for t in reply.tests if span and t.item is span[2] and not t.why), None)
        fixes = _fixes_inside(own, span) if rustc_fixes and test else None
        if not fixes or len(test.rustc_fixes) + len(fixes[0]) > MAX_RUSTC_FIXES:
            _drop_blamed(reply, own[0], span)
            continue
        messages, edits = fixes
        start, _, item = span
        text = item.text.strip("\n").encode("utf-8")
        for edit in reversed(edits):
            text = text[:edit.byte_start - start] + edit.replacement.encode("utf-8") + text[edit.byte_end - start:]
        fixed = dataclasses.replace(test, item=TestItem(text.decode("utf-8"), item.names),
                                    rustc_fixes=test.rustc_fixes + messages)
        reply.tests = [fixed if t is test else t for t in reply.tests]


def _fixes_inside(errors: list[Diagnostic], span: tuple[int, int, TestItem]
                  ) -> tuple[tuple[str, ...], list[Edit]] | None:
    """One sure fix per error whose every edit lies inside the item (after its first byte: an insertion there is a
    new item, like a `use`), as (messages, edits in order); None if an error has none, or when edits of different
    fixes touch one place (then rustc is not sure after all)."""
    start, end, _ = span
    messages: list[str] = []
    edits: list[Edit] = []
    for error in errors:
        fix = next((f for f in error.fixes
                    if all(e.file == error.file and start < e.byte_start <= e.byte_end <= end for e in f.edits)), None)
        if fix is None:
            return None
        new = [e for e in fix.edits if e not in edits]  # two errors, one fix (both want the same `&`): once
        if new:
            messages.append(fix.message)
            edits += new
    edits.sort(key=lambda e: (e.byte_start, e.byte_end))
    if any(b.byte_start < a.byte_end or b.byte_start == a.byte_start for a, b in zip(edits, edits[1:])):
        return None
    return tuple(messages), edits


def _owning_span(error: Diagnostic, spans: list[tuple[int, int, TestItem]]) -> tuple[int, int, TestItem] | None:
    """The item whose bytes hold the error's primary span; None when it lies outside every item."""
    return next((span for span in spans if error.byte_start is not None and span[0] <= error.byte_start < span[1]),
                None)


def _drop_blamed(reply: Reply, error: Diagnostic, span: tuple[int, int, TestItem] | None) -> None:
    """Drop what rustc's `error` lies in (`span`, its item's): a test (with the reason), a shared item (its users
    fail next round), or, outside every item, the whole reply."""
    message = error.rendered.strip().splitlines()[0] if error.rendered.strip() else error.message
    owner = span[2] if span else None
    if owner is None:
        reply.problem = f"does not build: {message}"
        reply.tests = [t if t.why else dataclasses.replace(t, why=f"its reply does not build: {message}")
                       for t in reply.tests]
    elif owner in reply.shared:
        reply.shared.remove(owner)  # its users fail in the next round, with their own errors
    else:
        reply.tests = [dataclasses.replace(t, why=f"does not build: {message}") if t.item is owner and not t.why
                       else t for t in reply.tests]


def _run(binaries: dict[str, Path], replies: list[Reply], config: JudgeConfig) -> dict[str, tuple[Reply, TestRun]]:
    """Each surviving test alone on the code under test (a test can only speak for itself)."""
    listed = {binary: list_tests(binary, timeout=config.test_timeout, env=config.test_env()) or []
              for binary in set(binaries.values())}

    def names_of(reply: Reply) -> list[str]:
        return [n for n in listed[binaries[reply.unit]] if n.startswith(f"{reply.unit}::")]

    def run(reply: Reply) -> tuple[str, tuple[Reply, TestRun]]:
        return reply.unit, (reply, run_unit_tests_one_by_one(binaries[reply.unit], reply.unit, names_of(reply),
                                                             timeout=config.test_timeout, env=config.test_env()))

    with ThreadPoolExecutor(max_workers=config.jobs) as pool:
        runs = dict(pool.map(run, [r for r in replies if r.unit in binaries]))
    for reply, test_run in runs.values():
        ran = {n.rsplit("::", 1)[-1] for n in names_of(reply)}
        failed = {n.rsplit("::", 1)[-1] for n in test_run.failed}
        reply.tests = [_ran(t, ran, failed) for t in reply.tests]
    return runs


def _ran(test: CandidateTest, ran: set[str], failed: set[str]) -> CandidateTest:
    if test.why or not test.builds:
        return test
    if not set(test.item.names) <= ran:
        return dataclasses.replace(test, why="not run (ignored, or not a test the binary lists)")
    if set(test.item.names) & failed:
        return dataclasses.replace(test, why="fails on the current code")
    return dataclasses.replace(test, passes=True)


def _mutants(runs: dict[str, tuple[Reply, TestRun]], config: JudgeConfig) -> dict[str, int]:
    """Kill sets for the passing tests of each reply; returns each reply's count of scored mutants."""
    if not config.mutation:
        return {}
    plans = []
    for unit, (reply, test_run) in sorted(runs.items()):
        passing = [t for t in reply.tests if t.validated]
        if passing:
            tests = "\n\n".join(item.text.strip("\n") for item in reply.shared + [t.item for t in passing])
            plans.append((reply, JudgeSample(unit, reply.sample.code, tests), test_run))
    if not plans:
        return {}
    verdicts = mutant_verdicts([(sample, test_run) for _, sample, test_run in plans], config)
    scored = {}
    for (reply, sample, _), own in zip(plans, verdicts):
        kills: dict[str, set[int]] = {}
        for verdict in own:
            if verdict.outcome == "caught":
                for name in verdict.failed_tests:
                    kills.setdefault(name.rsplit("::", 1)[-1], set()).add(verdict.mutant)
        scored[reply.unit] = sum(v.outcome in SCORED for v in own)
        reply.tests = [dataclasses.replace(t, kills=frozenset().union(*(kills.get(n, set()) for n in t.item.names)))
                       if t.validated else t for t in reply.tests]
    return scored


def describe_failures(judgement: CandidateJudgement) -> list[str]:
    """One line per reply that gave no validated test: why, for a message a user can act on."""
    return [f"reply {k + 1}: {why}" for k, why in sorted(judgement.problems.items())]
