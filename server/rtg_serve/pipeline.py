"""Generate → read → judge each test → select → insert: the resolve of a "Generate tests" action, as a plain function.

The model writes n candidate replies in one batch, for the function with what a test needs to call it
(`rtg_core.context`). Every test of every reply is judged on its own in a scratch copy of the user's crate (builds,
passes on the current code, which of the function's mutants it kills); the smallest set of passing tests that kills
the most mutants is kept (`rtg_eval.selection`), checked once more in its final place, and only then inserted.
When nothing survives there is no edit, and the message says why each reply failed. Nothing here speaks LSP.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Protocol

from rtg_core.context import function_context
from rtg_core.rust_source import RustFunction, find_test_module, functions, insert_tests
from rtg_core.test_items import TestItem, split_items
from rtg_core.test_repairs import read_reply
from rtg_eval.selection import CandidateJudgement, compose, describe_failures, select_tests
from rtg_serve.validation import (Cancelled, CrateBroken, ScratchWorkspace, crate_root, module_path,
                                  parse_problems)

log = logging.getLogger("rtg-serve")
Stage = str  # "loading model", "generating (120/1024 tokens)", "checking", "running", "final check"


class Generator(Protocol):
    def __call__(self, code: str, n: int, seed: int, cancel: threading.Event,
                 progress: Callable[[int], None]) -> list[str]:
        """`n` raw replies of the model for `code`, drawn with `seed`; `progress(tokens)` as decoding goes."""


@dataclass(frozen=True)
class PipelineSettings:
    candidates: int = 4  # replies per round, decoded in one batch
    retries: int = 1  # further rounds (a new seed) when no reply gave a test that builds and passes
    validation: Literal["parse", "check", "run"] = "run"
    mutants: int = 40  # mutants of the function to select by (0: select by passing alone)
    seed: int = 42
    check_seconds: float = 300.0
    run_seconds: float = 10.0


@dataclass(frozen=True)
class Outcome:
    new_source: str | None  # None: no edit
    kept: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]  # (test name, why)
    message: str


def function_source(source: str, function: RustFunction) -> str:
    return source.encode()[function.start_byte : function.end_byte].decode()


def generate_validated_tests(
    file: Path,
    source: str,
    function: RustFunction,
    generate: Generator,
    settings: PipelineSettings,
    report: Callable[[Stage], None],
    cancel: threading.Event,
) -> Outcome:
    code = function_context(source, function)
    crate = crate_root(file)
    if crate is None and settings.validation != "parse":
        return Outcome(None, (), (), f"{file} is not inside a cargo crate (no Cargo.toml above it): cannot check tests")
    workspace = ScratchWorkspace(crate, cancel) if crate is not None and settings.validation != "parse" else None
    failures: list[str] = []
    for attempt in range(settings.retries + 1):
        _check(cancel)
        report("generating")
        budget = f"{settings.candidates} repl{'y' if settings.candidates == 1 else 'ies'}"
        replies = generate(code, settings.candidates, settings.seed + attempt, cancel,
                           lambda tokens: report(f"generating ({tokens} tokens, {budget})"))
        _check(cancel)
        reads = [read_reply(reply, code) for reply in replies]
        for k, (reply, read) in enumerate(zip(replies, reads)):
            log.info("reply %d of %d for %s:\n%s", k + 1, len(replies), function.qualified_name, reply)
            for repair in read.repairs:
                log.info("repaired reply %d: %s", k + 1, repair.detail)
        if workspace is None:
            first = next((read for read in reads if any(item.names for item in read.items)), None)
            if first is None:
                failures.append(_no_tests(reads))
                continue
            names = tuple(n for item in first.items for n in item.names)
            return Outcome(insert_tests(source, first.tests), names, (),
                           f"inserted {len(names)} tests (parsed only, not built)")
        report("checking")
        replies_items = [read.items for read in reads]
        if workspace.depends_on("proptest"):  # what the judge's wrapper gives its tests, where the crate has it
            replies_items = [_with_proptest_prelude(items) for items in replies_items]
        try:
            judgement = workspace.judge_candidates(
                file, source, function, replies_items,
                settings.mutants, settings.check_seconds, settings.run_seconds, run=settings.validation == "run")
        except CrateBroken as exc:
            return Outcome(None, (), (), f"your crate does not build without the new tests; fix it first:\n{exc}")
        chosen = select_tests(judgement.tests, (function.name,))
        if chosen:
            report("final check")
            return _insert_checked(workspace, file, source, function, judgement, chosen, settings)
        failures.append(f"round {attempt + 1}: " + "; ".join(describe_failures(judgement)))
    return Outcome(None, (), (), f"no test built and passed in {settings.retries + 1} round(s) of "
                   f"{settings.candidates} replies:\n" + "\n".join(failures)[:3000])


def _check(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise Cancelled()


PROPTEST_PRELUDE = TestItem("use proptest::prelude::*;", ())


def _with_proptest_prelude(items: list[TestItem]) -> list[TestItem]:
    """A reply with a `proptest!` block gets proptest's prelude as a shared item, unless it brings it itself."""
    if any(item.names and "proptest!" in item.text for item in items) and not any(
            "proptest::prelude" in item.text for item in items if not item.names):
        return [PROPTEST_PRELUDE] + items
    return items


def _no_tests(reads) -> str:
    broken = [problem for read in reads for problem in parse_problems(read.code)]
    return "no reply held a complete #[test] function or proptest! property" + (
        "; these parts do not parse: " + "; ".join(broken[:5]) if broken else "")


def _insert_checked(workspace: ScratchWorkspace, file: Path, source: str, function: RustFunction,
                    judgement: CandidateJudgement, chosen: list, settings: PipelineSettings) -> Outcome:
    """The chosen tests in the file's test module, built and run once more there: only what passes there goes in."""
    module = find_test_module(source)
    taken = frozenset(f.name for f in functions(source) if module and f.start_byte >= module.start_byte)
    tests = compose(chosen, taken)
    new_source = insert_tests(source, tests)
    workspace.write(file, new_source)
    final_module = find_test_module(new_source)
    prefix = "::".join(p for p in (module_path(workspace.crate, file), final_module.name if final_module else "tests")
                       if p)
    names = [n for item in split_items(tests) for n in item.names]
    if settings.validation == "check":
        check = workspace.check_tests(settings.check_seconds)
        if not check.ok:
            return Outcome(None, (), (), "the selected tests did not build in your test module:\n"
                           + (check.errors[0].rendered if check.errors else check.stderr))
        return Outcome(new_source, tuple(names), (), f"inserted {len(names)} tests that build (not run)")
    passed, build_problem = workspace.run_tests([f"{prefix}::{n}" for n in names], settings.run_seconds)
    failing = [n for n in names if not passed.get(f"{prefix}::{n}")]
    if failing:
        return Outcome(None, (), tuple((n, "failed in the test module") for n in failing),
                       "the selected tests did not pass in your test module"
                       + (f": {build_problem}" if build_problem else f" ({', '.join(failing)})"))
    killed = set().union(*(t.kills for t in chosen))
    scored = max(judgement.mutants_scored.values(), default=0)
    validated = [t for t in judgement.tests if t.validated]
    dropped = tuple((n, t.why) for t in judgement.tests if not t.validated for n in t.item.names)
    fixed = sum(bool(t.rustc_fixes) for t in chosen)
    message = (f"inserted {len(chosen)} of {len(validated)} passing tests ({len(judgement.tests)} generated)"
               + (f"; they kill {len(killed)} of {scored} mutants of `{function.name}`" if scored else "")
               + (f"; {fixed} of them with rustc's suggested fixes" if fixed else ""))
    return Outcome(new_source, tuple(names), dropped, message)
