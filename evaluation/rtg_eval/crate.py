"""Many samples in one scratch crate, each in a module of its own, and the untrusted runs of its test binary.

One crate builds far faster than one per sample, yet a bad sample must never change a neighbour's verdict:
compile errors are traced to the module's file and that module is dropped before the next build; each module's
tests run in a process (and a sandbox) of their own, so a panic, `abort`, `process::exit` or hang stays there.
"""
from __future__ import annotations

import fcntl
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rtg_core.cargo_env import BuildResult, Diagnostic, OfflineCargo, cache_dir
from rtg_core.rust_source import is_test_module
from rtg_core.sandbox import GIB, SandboxLimits, SandboxMounts, run_sandboxed

GENERATED_TESTS_MODULE = "tests"
# libtest: `test NAME ... ok`, or `test NAME - should panic ... ok` for #[should_panic] tests.
_TEST_LINE = re.compile(r"^test (\S+)(?: - should panic)? \.\.\. (ok|FAILED|ignored)", re.MULTILINE)
_RUNNING = re.compile(r"^running (\d+) tests?$", re.MULTILINE)
_MODULE_NAME = re.compile(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)")

# Generated code is judged by what it does, not by style: warnings only slow the build down.
CRATE_PRELUDE = "#![allow(warnings)]\n"


def test_module(tests: str) -> str:
    """The tests as a `#[cfg(test)]` module: kept as they are if they already are one, else wrapped."""
    if is_test_module(tests):
        return tests.strip() + "\n"
    return (
        f"#[cfg(test)]\nmod {GENERATED_TESTS_MODULE} {{\n    use super::*;\n    use proptest::prelude::*;\n\n"
        f"{tests.rstrip()}\n}}\n"
    )


def test_module_name(tests: str) -> str:
    if is_test_module(tests):
        match = _MODULE_NAME.search(tests)
        if match:
            return match.group(1)
    return GENERATED_TESTS_MODULE


@dataclass(frozen=True)
class Unit:
    """One module of the scratch crate: `name` (s_0003), the code under test and the test module."""

    name: str
    code: str
    tests: str

    @property
    def text(self) -> str:
        return self.code.rstrip("\n") + "\n\n" + test_module(self.tests)

    @property
    def code_lines(self) -> int:
        return self.code.rstrip("\n").count("\n") + 1


@dataclass(frozen=True)
class TestRun:
    tests_total: int
    tests_passed: int
    failed: tuple[str, ...]
    ok: bool  # the process exited 0 and every test it announced passed
    timed_out: bool
    wall_seconds: float
    output: str


class ScratchCrate:
    """A scratch crate in one of a few fixed slots of rtg's cache, held under a file lock while in use.

    Fixed paths and package names keep the shared target dir from growing with every build and let incremental
    compilation reuse the previous build.
    """

    MAX_SLOTS = 64

    def __init__(self, cargo: OfflineCargo, label: str):
        self.cargo = cargo
        root = cache_dir() / "scratch"
        for slot in range(self.MAX_SLOTS):
            # cargo names a root crate's artifacts after its package name, not its path: one name per slot, or
            # two slots would share (and race on) one binary and its fingerprint.
            self.package = f"rtg_{label}_{slot}"
            self.dir = root / f"{label}-{slot}"
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.dir / ".lock", "w")
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                self._lock.close()
        else:
            raise RuntimeError(f"all {self.MAX_SLOTS} scratch crates for {label!r} are in use")
        shutil.rmtree(self.dir / "src", ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.dir / "src", ignore_errors=True)
        self._lock.close()  # releases the flock

    def __enter__(self) -> "ScratchCrate":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, units: dict[str, str], root_extra: str = "") -> None:
        src = self.dir / "src"
        if src.exists():
            for old in src.glob("*.rs"):
                if old.stem not in units and old.name != "lib.rs":
                    old.unlink()
        lib = CRATE_PRELUDE + "".join(f"pub mod {name};\n" for name in units) + root_extra
        self.cargo.write_crate(self.dir, self.package, {"lib.rs": lib, **{f"{n}.rs": t for n, t in units.items()}})

    def build(self, rustc_args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> BuildResult:
        return self.cargo.build_tests(self.dir, rustc_args=rustc_args, env=env)

    def build_dropping_failures(
        self, units: dict[str, str], root_extra: str = "", rustc_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> tuple[BuildResult | None, dict[str, list[Diagnostic]]]:
        """Build, drop each module that has errors, rebuild; until it builds or no module is left."""
        remaining = dict(units)
        failures: dict[str, list[Diagnostic]] = {}
        while remaining:
            self.write(remaining, root_extra)
            result = self.build(rustc_args, env)
            if result.ok:
                return result, failures
            by_unit: dict[str, list[Diagnostic]] = {}
            for error in result.errors:
                name = unit_of(error)
                if name in remaining:
                    by_unit.setdefault(name, []).append(error)
            if not by_unit:
                return result, failures  # not traceable to one module: the caller decides
            for name, errors in by_unit.items():
                failures[name] = errors
                del remaining[name]
        return None, failures


def unit_of(diagnostic: Diagnostic) -> str | None:
    if diagnostic.file is None:
        return None
    path = Path(diagnostic.file)
    return path.stem if path.parent.name == "src" and path.stem != "lib" else None


def test_verdicts(output: str) -> dict[str, str]:
    """Test name -> "ok" | "FAILED" | "ignored", from libtest's plain output."""
    return dict(_TEST_LINE.findall(output))


def parse_libtest(output: str) -> tuple[int, int, tuple[str, ...]]:
    """(announced tests, passed, failed names) from libtest's plain output."""
    announced = sum(int(n) for n in _RUNNING.findall(output))
    verdicts = test_verdicts(output)
    passed = sum(verdict == "ok" for verdict in verdicts.values())
    return announced, passed, tuple(name for name, verdict in verdicts.items() if verdict == "FAILED")


def list_tests(binary: Path, *, timeout: float, env: dict[str, str]) -> list[str] | None:
    """Every test in the binary (listing runs no test code), or None if the listing failed."""
    listing = _sandboxed(binary, ["--list", "--format", "terse"], timeout, env)
    if listing.returncode != 0:
        return None
    return [line[: -len(": test")] for line in listing.stdout.splitlines() if line.endswith(": test")]


def run_unit_tests_one_by_one(binary: Path, unit: str, names: list[str], *, timeout: float,
                              env: dict[str, str]) -> TestRun:
    """The pass verdict: each of the module's tests (`names`, from `list_tests`) in a process of its own.

    A test controls its own process, stdout included, so one run of the whole module could be talked into a
    false report (a test prints `test <neighbour> ... ok` and exits 0). Alone, a test can only speak for itself.
    Ignored tests are not run and not counted.
    """
    names = [name for name in names if name.startswith(f"{unit}::")]
    runs = [(name, _sandboxed(binary, ["--exact", name], timeout, env)) for name in names]
    verdicts = {name: test_verdicts(run.stdout).get(name) for name, run in runs}
    counted = [(name, run) for name, run in runs if verdicts[name] != "ignored"]
    passed = [name for name, run in counted if run.returncode == 0 and not run.timed_out and verdicts[name] == "ok"]
    return TestRun(
        tests_total=len(counted),
        tests_passed=len(passed),
        failed=tuple(name for name, _ in counted if name not in passed),
        ok=len(passed) == len(counted),
        timed_out=any(run.timed_out for _, run in counted),
        wall_seconds=sum(run.wall_seconds for _, run in runs),
        output="".join(run.stdout + run.stderr for _, run in runs)[-4000:],
    )


def _sandboxed(binary: Path, args: list[str], timeout: float, env: dict[str, str], writable: Path | None = None):
    with tempfile.TemporaryDirectory(prefix="rtg-run-", dir=cache_dir() / "scratch") as work:
        mounts = SandboxMounts(writable=(Path(work),) + ((writable,) if writable else ()), readonly=(binary.parent,))
        return run_sandboxed(
            [str(binary), "--test-threads=1", "--color", "never", *args], cwd=Path(work), mounts=mounts, env=env,
            limits=SandboxLimits(wall_seconds=timeout, address_space_bytes=4 * GIB),
        )


def run_unit_tests(
    binary: Path,
    unit: str,
    *,
    timeout: float,
    env: dict[str, str],
    skip: str | None = None,
    writable: Path | None = None,
) -> TestRun:
    """One run of all the module's tests (mutants, coverage): fast, and for those a test can only hurt itself."""
    args = [f"{unit}::"] + (["--skip", skip] if skip else [])
    result = _sandboxed(binary, args, timeout, env, writable)
    announced, passed, failed = parse_libtest(result.stdout)
    ok = result.returncode == 0 and not result.timed_out and passed == announced
    return TestRun(
        tests_total=announced,
        tests_passed=passed,
        failed=failed,
        ok=ok,
        timed_out=result.timed_out,
        wall_seconds=result.wall_seconds,
        output=(result.stdout + result.stderr)[-4000:],
    )
