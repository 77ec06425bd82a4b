"""Line and branch coverage of the code under test with LLVM source-based coverage (`-C instrument-coverage`).

Only the sample crate is instrumented (cargo rustc passes the flags to it alone), and only the lines of the code
under test count: test code is left out of the denominators. Branch coverage needs `-Z coverage-options=branch`;
where it is unavailable the figure is None, never a made-up 0/0.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LINE_FLAGS = ("-C", "instrument-coverage")
BRANCH_FLAGS = LINE_FLAGS + ("-Z", "coverage-options=branch")
BRANCH_ENV = {"RUSTC_BOOTSTRAP": "1"}  # -Z flags on a stable toolchain, for this crate's build only


class CoverageUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Coverage:
    line: float | None
    branch: float | None


@dataclass
class FileCounts:
    lines: dict[int, int]  # line -> execution count
    branches: dict[tuple[int, str, str], bool]  # (line, block, branch) -> taken

    def zeroed(self) -> "FileCounts":
        """The same instrumented lines and branches, none executed: the code with no tests run."""
        return FileCounts({n: 0 for n in self.lines}, {k: False for k in self.branches})


@lru_cache(maxsize=1)
def llvm_tools() -> tuple[str, str]:
    """llvm-profdata and llvm-cov of the LLVM that rustc uses (a different major version misreads profiles)."""
    version = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"LLVM version: (\d+)", version)
    major = match.group(1) if match else ""
    tools = []
    for tool in ("llvm-profdata", "llvm-cov"):
        path = shutil.which(f"{tool}-{major}") or shutil.which(tool)
        if path is None:
            raise CoverageUnavailable(
                f"{tool}-{major} not found: install llvm-{major} (rustc uses LLVM {major}); scripts/setup.sh does"
            )
        tools.append(path)
    return tools[0], tools[1]


def merge_and_export(profiles: list[Path], binary: Path, out_dir: Path) -> dict[str, FileCounts]:
    """Merge raw profiles and read per-file line and branch counts back from llvm-cov's lcov export."""
    profdata, cov = llvm_tools()
    merged = out_dir / "merged.profdata"
    subprocess.run([profdata, "merge", "-sparse", "-o", str(merged), *map(str, profiles)],
                   check=True, capture_output=True)
    lcov = subprocess.run([cov, "export", "-format=lcov", f"-instr-profile={merged}", str(binary)],
                          check=True, capture_output=True, text=True).stdout
    return parse_lcov(lcov)


def parse_lcov(text: str) -> dict[str, FileCounts]:
    files: dict[str, FileCounts] = {}
    current: FileCounts | None = None
    for line in text.splitlines():
        if line.startswith("SF:"):
            current = files.setdefault(line[3:], FileCounts({}, {}))
        elif current is None:
            continue
        elif line.startswith("DA:"):
            number, count = line[3:].split(",")[:2]
            current.lines[int(number)] = max(current.lines.get(int(number), 0), int(count))
        elif line.startswith("BRDA:"):
            number, block, branch, taken = line[5:].split(",")
            current.branches[(int(number), block, branch)] = taken not in ("-", "0")
    return files


def coverage_of(counts: FileCounts | None, lines: set[int], branches_possible: bool) -> Coverage:
    """Coverage restricted to `lines` (the code under test, test code excluded)."""
    if counts is None:
        return Coverage(0.0 if lines else None, None)
    instrumented = [n for n in counts.lines if n in lines]
    line = sum(counts.lines[n] > 0 for n in instrumented) / len(instrumented) if instrumented else None
    branch_keys = [k for k in counts.branches if k[0] in lines]
    branch = None
    if branches_possible and branch_keys:
        branch = sum(counts.branches[k] for k in branch_keys) / len(branch_keys)
    return Coverage(line, branch)
