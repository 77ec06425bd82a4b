"""Hand-curated examples (spec data source 3): one Rust file each under curated/, written for what mined code
under-represents (async/tokio, Result/Option error handling, property tests).

A file is the code under test, then one `#[cfg(test)] mod tests { use super::*; ... }`; its first lines say
`//! category: CATEGORY` and `//! focal: FN_NAME`.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

from rtg_core.rust_source import find_test_module, functions, macro_test_functions
from rtg_corpus.mine import PROPERTY_KINDS, Candidate

CURATED_DIR = Path(__file__).parent / "curated"
CURATED_PREFIX = "rtg-curated"  # each example is a crate of its own, `rtg-curated/NAME`, for the split
_HEADER = re.compile(r"^//!\s*(\w+):\s*(.+?)\s*$", re.MULTILINE)


class CuratedError(ValueError):
    pass


def is_curated(candidate: Candidate) -> bool:
    return candidate.crate.startswith(CURATED_PREFIX + "/")


def load_curated(folder: Path = CURATED_DIR) -> list[Candidate]:
    return [curated_candidate(path) for path in sorted(folder.glob("*.rs"))]


def curated_candidate(path: Path) -> Candidate:
    source = path.read_text(encoding="utf-8")
    header = dict(_HEADER.findall(source))
    if "category" not in header or "focal" not in header:
        raise CuratedError(f"{path.name}: needs `//! category: ...` and `//! focal: ...` lines")
    module = find_test_module(source)
    if module is None:
        raise CuratedError(f"{path.name}: no #[cfg(test)] mod tests")
    data = source.encode("utf-8")
    code = "\n".join(line for line in data[:module.start_byte].decode().split("\n")
                     if not line.startswith("//!")).strip("\n") + "\n"
    body = textwrap.dedent(data[module.body_start_byte:module.body_end_byte].decode())
    tests = re.sub(r"^\s*use super::\*;\n", "", body.strip("\n") + "\n", count=1).strip("\n") + "\n"
    focal = next((f for f in functions(code) if f.name == header["focal"] and not f.in_test_code), None)
    if focal is None:
        raise CuratedError(f"{path.name}: no fn `{header['focal']}` in the code")
    test_fns = [f for f in functions(tests) if f.is_test]
    macro_tests = macro_test_functions(tests)
    kinds = {"unit"} if test_fns else set()
    kinds |= {m.macro_name for m in macro_tests}
    property_blocks = [m.group(0) for m in re.finditer(r"(?ms)^(proptest!|quickcheck!|quickcheck::quickcheck!)\s*\{.*?^\}",
                                                         tests)]
    unit = [tests.encode()[f.start_byte:f.end_byte].decode() for f in test_fns]
    return Candidate(
        id=f"{CURATED_PREFIX}/{path.stem}",
        crate=f"{CURATED_PREFIX}/{path.stem}",
        crate_version="0",
        file=f"curated/{path.name}",
        function=focal.qualified_name,
        function_code=code.encode()[focal.start_byte:focal.end_byte].decode().strip("\n") + "\n",
        input=code,
        output=tests,
        unit_tests=tuple(unit),
        property_tests=tuple(property_blocks),
        test_kinds=tuple(sorted(kinds & ({"unit"} | PROPERTY_KINDS))),
        test_names=tuple([f.name for f in test_fns] + [m.name for m in macro_tests]),
        link=("curated",) * (len(test_fns) + len(macro_tests)),
        complexity=focal.complexity,
        has_generics=focal.has_generics,
        has_lifetimes=focal.has_lifetimes,
        is_async=focal.is_async,
        has_unsafe=focal.is_unsafe,
        has_macros=focal.has_macros,
        category=header["category"],
        lines=focal.end_line - focal.start_line + 1,
        license="Apache-2.0",
    )
