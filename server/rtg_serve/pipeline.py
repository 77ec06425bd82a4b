"""Generate → parse → check → run → insert: the resolve of a "Generate tests" action, as a plain function.

Only tests that build and pass on the current code reach the user's file; when none survive there is no edit and
the outcome says why. Nothing here speaks LSP.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Protocol

from rtg_core.rust_source import RustFunction, find_test_module, insert_tests
from rtg_core.test_repairs import read_reply
from rtg_serve.validation import Cancelled, ScratchWorkspace, crate_root, module_path, parse_problems

log = logging.getLogger("rtg-serve")
Stage = Literal["loading model", "generating", "checking", "running"]


class Generator(Protocol):
    def __call__(self, code: str, previous: str | None, problems: str | None, cancel: threading.Event) -> str:
        """The model's raw reply for `code`; with `previous` and `problems`, a repair of its previous answer."""


@dataclass(frozen=True)
class PipelineSettings:
    retries: int = 2
    validation: Literal["parse", "check", "run"] = "run"
    check_seconds: float = 300.0
    run_seconds: float = 60.0


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
    code = function_source(source, function)
    crate = crate_root(file)
    if crate is None and settings.validation != "parse":
        return Outcome(None, (), (), f"{file} is not inside a cargo crate (no Cargo.toml above it): cannot check tests")
    workspace = ScratchWorkspace(crate, cancel) if crate is not None and settings.validation != "parse" else None
    previous = problems = None
    for _ in range(settings.retries + 1):
        _check(cancel)
        report("generating")
        reply = generate(code, previous, problems, cancel)
        _check(cancel)
        log.info("the model's reply for %s:\n%s", function.qualified_name, reply)  # what it wrote, kept or not
        read = read_reply(reply, source)  # a cut or partly broken reply keeps its complete items
        items = read.items
        for repair in read.repairs:
            log.info("repaired the reply: %s", repair.detail)
        previous = read.code
        if not any(item.names for item in items):
            broken = parse_problems(read.code)
            problems = "The reply contains no complete #[test] function or proptest! property." + (
                " These parts do not parse:\n" + "\n".join(broken[:5]) if broken else "")
            continue
        new_source = insert_tests(source, read.tests)
        names = [name for item in items for name in item.names]
        if workspace is None:
            return Outcome(new_source, tuple(names), (), f"inserted {len(names)} tests (parsed only, not built)")
        report("checking")
        workspace.write(file, new_source)
        check = workspace.check_tests(settings.check_seconds)
        if not check.ok:
            if not check.errors:
                return Outcome(None, (), (), "cargo check failed before compiling the tests:\n" + check.stderr)
            if _crate_broken_without(workspace, file, source, settings):
                return Outcome(None, (), (), "your crate does not build without the new tests; fix it first:\n"
                               + check.errors[0].rendered)
            problems = "\n".join(error.rendered for error in check.errors[:5])
            continue
        if settings.validation == "check":
            return Outcome(new_source, tuple(names), (), f"inserted {len(names)} tests that build (not run)")
        report("running")
        return _keep_passing(workspace, file, source, new_source, items, settings)
    return Outcome(None, (), (), f"no valid tests after {settings.retries + 1} attempts; the last problem:\n"
                   + (problems or "")[:2000])


def _check(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise Cancelled()


def _crate_broken_without(workspace: ScratchWorkspace, file: Path, source: str, settings: PipelineSettings) -> bool:
    workspace.write(file, source)
    return not workspace.check_tests(settings.check_seconds).ok


def _keep_passing(workspace, file, source, new_source, items, settings) -> Outcome:
    module = find_test_module(new_source)
    prefix = "::".join(p for p in (module_path(workspace.crate, file), module.name if module else "tests") if p)
    full = {name: f"{prefix}::{name}" for item in items for name in item.names}
    passed, build_problem = workspace.run_tests(sorted(full.values()), settings.run_seconds)
    kept_items = [item for item in items if not item.names or all(passed[full[n]] for n in item.names)]
    kept = tuple(n for item in kept_items for n in item.names)
    dropped = tuple((n, "failed on the current code") for item in items for n in item.names if n not in kept)
    if not kept:
        detail = f": {build_problem}" if build_problem else ""
        return Outcome(None, (), dropped, f"none of the {len(full)} generated tests passed on the current code{detail}")
    final = insert_tests(source, "\n\n".join(item.text for item in kept_items))
    message = f"inserted {len(kept)} tests that build and pass"
    if dropped:
        message += f"; dropped {len(dropped)} that failed: " + ", ".join(n for n, _ in dropped)
    return Outcome(final, kept, dropped, message)
