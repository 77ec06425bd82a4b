"""Validating generated tests in a scratch copy of the user's crate, never in the user's files.

The user's crate builds with the user's own cargo setup and dependencies (offline: what their cargo has already
fetched); rtg's Debian registry is only for rtg's own scratch crates. Building and running happen in the sandbox.

`judge_candidates` judges every test of n replies at once, each reply in a module of its own in the copy of the
file, with the target function replaced by the judge's mutant schema (rtg_eval.mutation: the same operators and
schemata as `rtg-eval`, switched at run time by RTG_MUTANT, so the unmutated run is the user's code): one build,
each error traced to the test item (fixed where rustc is sure how, else dropped) or the mutant (unviable) it
lies in, one run on the code, one run per mutant of the tests that passed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rtg_core.cargo_env import Diagnostic, cache_dir, parse_cargo_messages
from rtg_core.rust_source import RustFunction, syntax_errors
from rtg_core.sandbox import SandboxLimits, SandboxMounts, SandboxResult, run_sandboxed
from rtg_core.test_items import TestItem
from rtg_eval.crate import test_verdicts
from rtg_eval.judge import JudgeConfig, blame, chosen_mutants
from rtg_eval.mutation import MUTANT_ENV, MUTANT_SWITCH_RS, generate_mutants, render_schema
from rtg_eval.selection import (LAST_FIX_ROUND, MAX_BUILD_ROUNDS, CandidateJudgement, CandidateTest, Reply,
                                settle_errors)

CANDIDATE_MODULE = "rtg_candidate_{}"
RUN_JOBS = 2  # test processes at once

_COPY_IGNORE = shutil.ignore_patterns("target", ".git", "node_modules")


class Cancelled(Exception):
    pass


def parse_problems(code: str) -> list[str]:
    return [f"line {line}, column {column}: syntax error" for line, column in syntax_errors(code)]


def crate_root(path: Path) -> Path | None:
    for parent in path.resolve().parents:
        if (parent / "Cargo.toml").is_file():
            return parent
    return None


def module_path(crate: Path, file: Path) -> str:
    """The Rust module path of `file` in its crate (`src/geometry/mod.rs` -> `geometry`)."""
    relative = file.resolve().relative_to(crate / "src").with_suffix("")
    parts = list(relative.parts)
    if parts and parts[-1] in ("lib", "main", "mod"):
        parts.pop()
    return "::".join(parts)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    errors: tuple[Diagnostic, ...]
    stderr: str


class ScratchWorkspace:
    """A copy of the user's crate with one file changed; its target dir persists in rtg's cache for speed."""

    def __init__(self, crate: Path, cancel: threading.Event):
        self.crate = crate
        self.cancel = cancel
        key = hashlib.sha256(str(crate).encode()).hexdigest()[:16]
        base = cache_dir() / "serve" / key
        self.target_dir = base / "target"
        self.dir = base / "crate"
        self.target_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.copytree(crate, self.dir, ignore=_COPY_IGNORE, symlinks=True)

    def write(self, file: Path, text: str) -> Path:
        copy = self.dir / file.resolve().relative_to(self.crate)
        copy.write_text(text)
        return copy

    def _cargo(self, args: list[str], timeout: float) -> SandboxResult:
        env = {"CARGO_TARGET_DIR": str(self.target_dir), "CARGO_TERM_COLOR": "never"}
        env.update({k: v for k, v in os.environ.items() if k in ("CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN")})
        result = run_sandboxed(
            ["cargo", *args, "--offline", "--message-format=json"],
            cwd=self.dir,
            mounts=SandboxMounts(writable=(self.dir, self.target_dir)),
            env=env,
            limits=SandboxLimits(wall_seconds=timeout),
            cancel=self.cancel,
        )
        if result.cancelled:
            raise Cancelled()
        return result

    def check_tests(self, timeout: float) -> CheckResult:
        result = self._cargo(["check", "--tests"], timeout)
        errors = [d for d in parse_cargo_messages(result.stdout)[0] if d.level == "error"]
        return CheckResult(result.returncode == 0 and not result.timed_out, tuple(errors), result.stderr[-3000:])

    def run_tests(self, names: list[str], timeout: float) -> tuple[dict[str, bool], str]:
        """Build the test binaries and run exactly `names` (full paths); a test that does not report ok failed.

        All run in one process first; tests that got no verdict there (a hang or a crash took the process down)
        run again one by one, so one bad test cannot take its neighbours with it.
        """
        built = self._cargo(["test", "--no-run"], timeout)
        if built.returncode != 0:
            return {name: False for name in names}, built.stderr[-3000:]
        binaries = parse_cargo_messages(built.stdout)[1]
        verdicts: dict[str, bool] = {}
        for binary in binaries:
            verdicts.update(self._run(binary, names, timeout))
        for name in [n for n in names if n not in verdicts]:
            for binary in binaries:
                verdicts.update(self._run(binary, [name], timeout))
        return {name: verdicts.get(name, False) for name in names}, ""

    def _run(self, binary: Path, names: list[str], timeout: float, env: dict[str, str] | None = None
             ) -> dict[str, bool]:
        return self._run_timed(binary, names, timeout, env)[0]

    def _run_timed(self, binary: Path, names: list[str], timeout: float, env: dict[str, str] | None = None
                   ) -> tuple[dict[str, bool], float]:
        run = run_sandboxed(
            [str(binary), "--exact", "--test-threads=1", "--color", "never", *names],
            cwd=self.dir,
            mounts=SandboxMounts(readonly=(binary.parent,), writable=(self.dir,)),
            env={"RUST_BACKTRACE": "0", **(env or {})},
            limits=SandboxLimits(wall_seconds=timeout),
            cancel=self.cancel,
        )
        if run.cancelled:
            raise Cancelled()
        verdicts = {name: verdict == "ok" for name, verdict in test_verdicts(run.stdout).items() if name in names}
        return verdicts, run.wall_seconds

    def judge_candidates(self, file: Path, source: str, function: RustFunction, replies: list[list[TestItem]],
                         mutants: int, check_seconds: float, run_seconds: float, run: bool = True
                         ) -> CandidateJudgement:
        """Every test of every reply: does it build beside the user's code, pass on it, and which of up to
        `mutants` mutants of `function` does it kill. Without `run`, a test that builds counts as passing (the
        "check" validation). Raises CrateBroken when the crate fails without the tests."""
        relative = file.resolve().relative_to(self.crate)
        root = self._root_file()
        data = source.encode("utf-8")
        function_text = data[function.start_byte:function.end_byte].decode("utf-8")
        mutant_set = generate_mutants(function_text)
        chosen = (chosen_mutants(mutant_set, function_text, JudgeConfig(max_mutants=mutants))
                  if run and mutants > 0 and root is not None else [])
        ids = {index: number + 1 for number, index in enumerate(chosen)}
        active = set(chosen)
        own = [Reply(CANDIDATE_MODULE.format(k), None, k,
                     [CandidateTest(k, p, item, ()) for p, item in enumerate(items) if item.names],
                     [item for item in items if not item.names]) for k, items in enumerate(replies)]
        for reply in own:
            reply.problem = "" if reply.tests else "no test in the reply"
        binaries: list[Path] = []
        for build_round in range(MAX_BUILD_ROUNDS):
            live = [r for r in own if not r.problem and any(not t.why for t in r.tests)]
            if not live:
                break
            schema = render_schema(mutant_set, active, ids, base_offset=function.start_byte) if active else None
            body = schema.code.encode("utf-8") if schema else data[function.start_byte:function.end_byte]
            text = data[:function.start_byte] + body + data[function.end_byte:]
            if active and root == relative:
                text += MUTANT_SWITCH_RS.encode("utf-8")
            spans: dict[str, list[tuple[int, int, TestItem]]] = {}
            for reply in live:
                text += f"\n#[cfg(test)]\nmod {reply.unit} {{\n    use super::*;\n\n".encode("utf-8")
                spans[reply.unit] = []
                for item in reply.live_items():
                    item_bytes = item.text.strip("\n").encode("utf-8")
                    spans[reply.unit].append((len(text), len(text) + len(item_bytes), item))
                    text += item_bytes + b"\n\n"
                text += b"}\n"
            self.write(file, text.decode("utf-8"))
            if root is not None and root != relative:
                root_text = (self.crate / root).read_text()
                (self.dir / root).write_text(root_text + (MUTANT_SWITCH_RS if active else ""))
            built = self._cargo(["test", "--no-run"], check_seconds)
            diagnostics, found = parse_cargo_messages(built.stdout)
            if built.returncode == 0 and not built.timed_out:
                binaries = found
                for reply in live:
                    reply.tests = [t if t.why else dataclasses.replace(t, builds=True, passes=not run)
                                   for t in reply.tests]
                break
            errors = [d for d in diagnostics if d.level == "error"]
            blamed = False
            in_replies: dict[str, list[Diagnostic]] = {}
            for error in errors:
                if error.file is None or error.byte_start is None or Path(error.file) != relative:
                    continue
                reply = next((r for r in live if any(a <= error.byte_start < b for a, b, _ in spans[r.unit])), None)
                if reply is not None:
                    in_replies.setdefault(reply.unit, []).append(error)
                    blamed = True
                elif schema and function.start_byte <= error.byte_start < function.start_byte + len(body):
                    _, culprits = blame(schema, error.byte_start, active)
                    active -= culprits
                    blamed = True
            for reply in live:
                if reply.unit in in_replies:
                    settle_errors(reply, in_replies[reply.unit], spans[reply.unit], build_round <= LAST_FIX_ROUND)
            if not blamed and active:
                active = set()  # the schema or its switch broke the build in a way no mutant owns: no mutants
            elif not blamed:
                self.write(file, source)
                if root is not None and root != relative:
                    (self.dir / root).write_text((self.crate / root).read_text())
                plain = self.check_tests(check_seconds)
                if not plain.ok:
                    raise CrateBroken(plain.errors[0].rendered if plain.errors else plain.stderr)
                message = errors[0].rendered if errors else built.stderr[-1500:]
                for reply in live:
                    reply.problem = f"does not build: {message.strip().splitlines()[0] if message.strip() else ''}"
                    reply.tests = [t if t.why else dataclasses.replace(t, why=reply.problem) for t in reply.tests]
                break
        for reply in own if not binaries else []:  # out of rounds: what is left never built
            reply.tests = [t if t.why else dataclasses.replace(t, why=f"did not build in {MAX_BUILD_ROUNDS} rounds")
                           for t in reply.tests]
        if root is not None and root != relative:
            (self.dir / root).write_text((self.crate / root).read_text())  # the switch has served its build
        scored = self._run_candidates(own, binaries, file, active, ids, run_seconds) if binaries and run else 0
        return CandidateJudgement(
            function.qualified_name, [dataclasses.replace(t, shared=tuple(r.shared)) for r in own for t in r.tests],
            {r.candidate: scored for r in own},
            {r.candidate: r.problem or next((t.why for t in r.tests if t.why), "") for r in own
             if not any(t.validated for t in r.tests)})

    def _run_candidates(self, replies: list[Reply], binaries: list[Path], file: Path, active: set[int],
                        ids: dict[int, int], timeout: float) -> int:
        """The built tests on the code, then the passing ones on each mutant; returns the mutants scored. A test
        that hangs or crashes its process is run again alone; one still without a verdict is dropped."""
        prefix = module_path(self.crate, file)
        full = {(r.candidate, name): "::".join(x for x in (prefix, r.unit, name) if x)
                for r in replies for t in r.tests if t.builds for name in t.item.names}
        verdicts: dict[str, bool] = {}
        for binary in binaries:
            verdicts.update(self._run(binary, sorted(full.values()), timeout))
        alone = [n for n in full.values() if n not in verdicts]
        with ThreadPoolExecutor(max_workers=RUN_JOBS) as pool:
            for found in pool.map(lambda name: self._run_everywhere(binaries, [name], timeout), alone):
                verdicts.update(found)
        for reply in replies:
            reply.tests = [_verdict(t, [verdicts.get(full.get((reply.candidate, n), "")) for n in t.item.names])
                           for t in reply.tests]
        passing = sorted(full[(r.candidate, n)] for r in replies for t in r.tests if t.validated for n in t.item.names)
        if not passing or not active:
            return 0
        reference = sum(self._run_timed(binary, passing, timeout)[1] for binary in binaries)
        limit = JudgeConfig().mutant_timeout(reference)

        def on_mutant(index: int) -> dict[str, bool]:
            return self._run_everywhere(binaries, passing, limit, {MUTANT_ENV: str(ids[index])})

        kills: dict[str, set[int]] = {}
        with ThreadPoolExecutor(max_workers=RUN_JOBS) as pool:
            for index, outcome in zip(sorted(active), pool.map(on_mutant, sorted(active))):
                for name, ok in outcome.items():
                    if not ok:
                        kills.setdefault(name, set()).add(index)
        for reply in replies:
            reply.tests = [dataclasses.replace(t, kills=frozenset().union(*(
                kills.get(full[(reply.candidate, n)], set()) for n in t.item.names))) if t.validated else t
                for t in reply.tests]
        return len(active)

    def _run_everywhere(self, binaries: list[Path], names: list[str], timeout: float,
                        env: dict[str, str] | None = None) -> dict[str, bool]:
        verdicts: dict[str, bool] = {}
        for binary in binaries:
            verdicts.update(self._run(binary, names, timeout, env))
        return verdicts

    def depends_on(self, crate_name: str) -> bool:
        """Whether the crate's manifest names `crate_name` (as a dependency or dev-dependency)."""
        manifest = self.crate / "Cargo.toml"
        return manifest.is_file() and re.search(rf"^\s*{re.escape(crate_name)}\s*=", manifest.read_text(),
                                                 re.MULTILINE) is not None

    def _root_file(self) -> Path | None:
        """The crate root the mutant switch goes into (src/lib.rs, else src/main.rs); None: no mutation."""
        for candidate in (Path("src/lib.rs"), Path("src/main.rs")):
            if (self.crate / candidate).is_file():
                return candidate
        return None


class CrateBroken(Exception):
    """The user's crate does not build even without the generated tests."""


def _verdict(test: CandidateTest, verdicts: list[bool | None]) -> CandidateTest:
    if test.why or not test.builds:
        return test
    if any(v is None for v in verdicts):
        return dataclasses.replace(test, why="gave no verdict (it hung or crashed the test process)")
    if not all(verdicts):
        return dataclasses.replace(test, why="fails on the current code")
    return dataclasses.replace(test, passes=True)
