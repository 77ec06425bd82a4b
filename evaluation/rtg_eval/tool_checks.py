"""What rustfmt and clippy say about generated tests (checklist items c1, c2 and c3).

- `rustfmt_parses`: rustfmt reads the test module (trusted: it parses text and runs nothing).
- `clippy_check`: every sample's code and tests as modules of one scratch crate, checked by
  `cargo clippy --lib --profile test` (the test build, as the judge's) in the sandbox: generated code is untrusted
  in any build. A module with a compiler error fails `cargo check` and is dropped before the next round, as the
  judge does; the warnings that remain are kept where they point into the test code, so the code under test and
  the wrapper's own `use` lines are never held against the tests.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rtg_core.cargo_env import OfflineCargo
from rtg_core.rust_source import is_test_module
from rtg_core.sandbox import SandboxLimits, SandboxMounts, run_sandboxed
from rtg_eval.crate import ScratchCrate, Unit
from rtg_eval.samples import JudgeSample

_ERROR_CODE = re.compile(r"E\d{4}")
WRAPPER_LINES = 5  # `#[cfg(test)]`, `mod tests {`, `use super::*;`, `use proptest::prelude::*;`, blank
MAX_ROUNDS = 6


@dataclass
class ClippyVerdict:
    checks: bool | None  # None: the crate failed in a way no module could be blamed for
    warnings: list[str] = field(default_factory=list)  # lint names, one per warning in the test code
    errors: list[str] = field(default_factory=list)  # rendered compiler errors (cargo check failures)


def rustfmt_parses(tests: str, timeout: float = 30.0) -> bool | None:
    """Whether rustfmt parses the tests (as the judge wraps them); None when rustfmt is not installed."""
    if shutil.which("rustfmt") is None:
        return None
    unit = Unit("s", "", tests)
    try:
        done = subprocess.run(["rustfmt", "--emit", "stdout", "--edition", "2021"], input=unit.text,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def clippy_check(samples: list[JudgeSample], cargo: OfflineCargo | None = None,
                 timeout: float = 900.0) -> dict[str, ClippyVerdict]:
    """`cargo clippy` verdicts per sample id (see the module docstring)."""
    if not samples:
        return {}
    cargo = cargo or OfflineCargo.prepared()
    units = {f"c_{i:04d}": Unit(f"c_{i:04d}", s.code, s.tests) for i, s in enumerate(samples)}
    names = {f"c_{i:04d}": s.id for i, s in enumerate(samples)}
    verdicts: dict[str, ClippyVerdict] = {}
    remaining = dict(units)
    with ScratchCrate(cargo, "clippy") as crate:  # a fixed, locked slot: the shared target dir does not grow
        for _ in range(MAX_ROUNDS):
            if not remaining:
                break
            messages, ok = _run_clippy(crate, remaining, timeout)
            by_unit: dict[str, tuple[list[str], list[str]]] = {name: ([], []) for name in remaining}
            unattributed = False
            for message in messages:
                name, line = _location(message)
                code = (message.get("code") or {}).get("code") or ""
                is_error = message.get("level") == "error" and not _is_lint(code)
                if name not in remaining:
                    unattributed |= is_error
                    continue
                if is_error:
                    by_unit[name][1].append(message.get("rendered") or message.get("message", ""))
                elif _is_lint(code) and line is not None and line > _test_code_starts(units[name]):
                    by_unit[name][0].append(code)
            failed = [name for name, (_, errors) in by_unit.items() if errors]
            for name in failed:
                verdicts[names[name]] = ClippyVerdict(False, [], by_unit[name][1][:5])
                del remaining[name]
            if not failed:
                done = ok or not unattributed
                for name in remaining:
                    verdicts[names[name]] = ClippyVerdict(True if done else None, by_unit[name][0])
                remaining = {}
    for name in remaining:  # out of rounds
        verdicts[names[name]] = ClippyVerdict(None)
    return verdicts


def _run_clippy(crate: ScratchCrate, units: dict[str, Unit], timeout: float) -> tuple[list[dict], bool]:
    """One `cargo clippy` over `units`, written without the judge's `#![allow(warnings)]` prelude."""
    cargo, crate_dir = crate.cargo, crate.dir
    src = crate_dir / "src"
    if src.exists():
        for old in src.glob("*.rs"):
            old.unlink()
    lib = "".join(f"pub mod {name};\n" for name in units)
    # One package name per slot: cargo names a root package's artifacts (and keeps its fingerprint) by name, not
    # by path, so two slots under one name share them, and a build in one slot can be taken for fresh in another.
    package = "rtg_" + crate_dir.name.replace("-", "_")
    cargo.write_crate(crate_dir, package, {"lib.rs": lib, **{f"{n}.rs": u.text for n, u in units.items()}})
    env = {
        "CARGO_HOME": str(cargo.cargo_home),
        "CARGO_TARGET_DIR": str(cargo.target_dir),
        "CARGO_TERM_COLOR": "never",
        **{k: v for k, v in os.environ.items() if k in ("RUSTUP_HOME", "RUSTUP_TOOLCHAIN")},
    }
    result = run_sandboxed(
        ["cargo", "clippy", "--lib", "--profile", "test", "--message-format=json", "--quiet"],
        cwd=crate_dir,
        mounts=SandboxMounts(writable=(crate_dir, cargo.target_dir, cargo.cargo_home), readonly=(cargo.patched_dir,)),
        env=env,
        limits=SandboxLimits(wall_seconds=timeout),
    )
    messages = []
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            if data.get("reason") == "compiler-message":
                messages.append(data["message"])
    return messages, result.returncode == 0 and not result.timed_out


def _location(message: dict) -> tuple[str | None, int | None]:
    """The module (`c_0003`) and line a diagnostic points at, followed out of macro expansions."""
    spans = message.get("spans") or []
    span = next((s for s in spans if s.get("is_primary")), spans[0] if spans else None)
    while span and span.get("expansion") and span["file_name"].startswith("<"):
        span = span["expansion"].get("span")
    if not span:
        return None, None
    path = Path(span["file_name"])
    if path.parent.name != "src" or path.stem == "lib":
        return None, None
    return path.stem, span.get("line_start")


def _is_lint(code: str) -> bool:
    """A lint (clippy::eq_op, unused_variables), as opposed to a compiler error code (E0425) or none."""
    return bool(code) and _ERROR_CODE.fullmatch(code) is None


def _test_code_starts(unit: Unit) -> int:
    """The last line before the test code proper: the code under test, the blank line, and the wrapper the judge
    adds around bare test items."""
    return unit.code_lines + 1 + (0 if is_test_module(unit.tests) else WRAPPER_LINES)
