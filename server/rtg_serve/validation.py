"""Validating generated tests in a scratch copy of the user's crate, never in the user's files.

The user's crate builds with the user's own cargo setup and dependencies (offline: what their cargo has already
fetched); rtg's Debian registry is only for rtg's own scratch crates. Building and running happen in the sandbox.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from rtg_core.cargo_env import Diagnostic, cache_dir, parse_cargo_messages
from rtg_core.rust_source import syntax_errors
from rtg_core.sandbox import SandboxLimits, SandboxMounts, SandboxResult, run_sandboxed
from rtg_eval.crate import test_verdicts

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

    def _run(self, binary: Path, names: list[str], timeout: float) -> dict[str, bool]:
        run = run_sandboxed(
            [str(binary), "--exact", "--test-threads=1", "--color", "never", *names],
            cwd=self.dir,
            mounts=SandboxMounts(readonly=(binary.parent,), writable=(self.dir,)),
            env={"RUST_BACKTRACE": "0"},
            limits=SandboxLimits(wall_seconds=timeout),
            cancel=self.cancel,
        )
        if run.cancelled:
            raise Cancelled()
        return {name: verdict == "ok" for name, verdict in test_verdicts(run.stdout).items() if name in names}
