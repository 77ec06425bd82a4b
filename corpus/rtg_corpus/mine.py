"""Mining one crate: its files scanned, tests linked to focal fns, and each linked fn made a candidate pair."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rtg_core.rust_source import syntax_errors
from rtg_corpus.assemble import CrateIndex, TooLarge, build_input, build_output, localize
from rtg_corpus.crates import CrateSource
from rtg_corpus.extract import (FileContents, Focal, TestFn, doc_blocks, doctest_item, looks_generated, scan_file,
                                strip_doc_examples)
from rtg_corpus.link import Link, link_tests

MAX_FILE_BYTES = 400_000  # larger files are generated tables or bundled sources
MAX_FOCAL_LINES = 120  # "huge" functions: not what a test-writing model should learn from
MAX_TESTS_PER_PAIR = 8
PROPERTY_KINDS = frozenset({"proptest", "quickcheck"})
STD_TYPES = frozenset({
    "String", "Vec", "HashMap", "HashSet", "BTreeMap", "BTreeSet", "VecDeque", "BinaryHeap", "Box", "Rc", "Arc",
    "Cow", "Option", "Result", "Ordering", "Duration", "Path", "PathBuf", "OsStr", "OsString", "Range", "Cell",
    "RefCell", "Mutex", "RwLock", "Some", "None", "Ok", "Err", "Iterator", "Fn", "FnMut", "FnOnce",
})
CATEGORIES = ("stdlib", "async", "generics_lifetimes", "error_handling", "other")


@dataclass(frozen=True)
class Candidate:
    id: str
    crate: str
    crate_version: str
    file: str
    function: str
    function_code: str
    input: str
    output: str
    unit_tests: tuple[str, ...]
    property_tests: tuple[str, ...]
    test_kinds: tuple[str, ...]
    test_names: tuple[str, ...]
    link: tuple[str, ...]  # how each test was linked: name | only-call | doc
    complexity: int
    has_generics: bool
    has_lifetimes: bool
    is_async: bool
    has_unsafe: bool
    has_macros: bool
    category: str
    lines: int
    license: str | None
    bare_input: str | None = None  # the whole closure without comments, where `input` carries only part of it


_TEST_MODULE_DECLARATION = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")


def rust_files(crate: CrateSource) -> list[tuple[str, bool, bool]]:
    """(path relative to the crate, all test code?, integration tests?) for src/ and tests/, sorted. A src file
    is all test code when named like one (tests.rs, test_x.rs, x_tests.rs, under a tests/ dir) or declared by a
    `#[cfg(test)] mod x;`."""
    src = sorted((crate.root / "src").rglob("*.rs")) if (crate.root / "src").is_dir() else []
    test_modules = set()
    for path in src:
        try:
            test_modules |= set(_TEST_MODULE_DECLARATION.findall(path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    files = []
    for path in src:
        rel = path.relative_to(crate.root).as_posix()
        module = path.parent.name if path.stem == "mod" else path.stem
        test_file = (module in ("tests", "test") or module.startswith("test_") or module.endswith(("_test", "_tests"))
                     or "/tests/" in rel[len("src"):] or module in test_modules)
        files.append((rel, test_file, False))
    tests_dir = crate.root / "tests"
    if tests_dir.is_dir():
        files += [(p.relative_to(crate.root).as_posix(), True, True) for p in sorted(tests_dir.rglob("*.rs"))]
    return files


def mine_crate(crate: CrateSource, max_chars: int = 6_000) -> tuple[list[Candidate], list[str]]:
    """The crate's candidate pairs, and notes on what was skipped and why. A pair whose input and output pass
    `max_chars` loses its least telling tests until it fits (or is left out); the token budget is checked later,
    on what is left."""
    notes: list[str] = []
    index = CrateIndex(crate.lib_name)
    focals: list[Focal] = []
    tests: list[TestFn] = []
    for rel, test_file, integration in rust_files(crate):
        path = crate.root / rel
        try:
            raw = path.read_bytes()
        except OSError as exc:
            notes.append(f"{rel}: unreadable ({exc})")
            continue
        if len(raw) > MAX_FILE_BYTES:
            notes.append(f"{rel}: skipped, {len(raw)} bytes (over {MAX_FILE_BYTES})")
            continue
        source = raw.decode("utf-8", errors="replace")
        if looks_generated(source):
            notes.append(f"{rel}: skipped, generated code")
            continue
        contents = scan_file(source, rel, test_file=test_file, integration=integration)
        if contents.has_errors:
            _drop_broken(contents, {line for line, _ in syntax_errors(source)}, source)
        for item in contents.items:
            index.add(item)
        focals += contents.focals
        tests += contents.tests
    if not focals:
        return [], notes + ["no functions found"]
    links = link_tests(focals, tests)
    candidates = []
    oversized = 0
    for focal in focals:
        try:
            candidate = _candidate(crate, focal, links.get(focal.key, []), index, max_chars)
        except TooLarge:
            oversized += 1
            continue
        if candidate is not None:
            candidates.append(candidate)
    if oversized:
        notes.append(f"{oversized} pairs over {max_chars} chars left out")
    return _unique_ids(candidates), notes


def _drop_broken(contents: FileContents, broken_lines: set[int], source: str) -> None:
    """Leave out fns and tests that hold a line tree-sitter could not parse."""
    if not broken_lines:
        return
    contents.focals[:] = [f for f in contents.focals
                          if not any(f.function.start_line <= line <= f.function.end_line for line in broken_lines)]
    data = source.encode("utf-8")
    line_of = lambda byte: data.count(b"\n", 0, byte) + 1
    contents.tests[:] = [t for t in contents.tests
                         if not any(line_of(t.start) <= line <= line_of(t.start) + t.text.count("\n")
                                    for line in broken_lines)]


def _candidate(crate: CrateSource, focal: Focal, links: list[Link], index: CrateIndex,
               max_chars: int) -> Candidate | None:
    function = focal.function
    if function.end_line - function.start_line + 1 > MAX_FOCAL_LINES:
        return None
    blocks = doc_blocks(function.doc_comment or "")
    doc_tests = [
        TestFn(f"doctest_{function.name}_{i}", "doctest", doctest_item(block, f"doctest_{function.name}_{i}"),
               focal.file, function.start_byte + i, ("<doc>",), frozenset(), frozenset(), _refs(block.code))
        for i, block in enumerate(blocks, start=1)
    ]
    # Most telling first: tests named after the fn (property tests ahead), doc tests, then the only-call ones.
    ranked = sorted(
        [(0 if l.how == "name" else 2, l.test.kind not in PROPERTY_KINDS, l.test.file, l.test.start, l.test, l.how)
         for l in links]
        + [(1, True, t.file, t.start, t, "doc") for t in doc_tests],
        key=lambda r: r[:4],
    )[:MAX_TESTS_PER_PAIR]
    while ranked:
        kept = sorted(ranked, key=lambda r: (r[5] == "doc", r[2], r[3]))
        tests, hows = [r[4] for r in kept], tuple(r[5] for r in kept)
        used_blocks = [blocks[int(t.name.rsplit("_", 1)[1]) - 1] for t in tests if t.kind == "doctest"]
        focal_text = strip_doc_examples(focal.text, used_blocks)
        try:
            input_text, bare_text, output_text, tests = _render(focal, focal_text, tests, index, max_chars)
        except TooLarge:
            if len(ranked) == 1:
                raise
            ranked = ranked[:-1]
            continue
        break
    else:
        return None
    rendered = [localize(t.text, crate.lib_name).strip("\n") for t in tests]
    kinds = tuple(sorted({t.kind for t in tests}))
    return Candidate(
        id=f"{crate.name}-{crate.version}/{focal.file}:{function.start_line}:{function.qualified_name}",
        crate=crate.name,
        crate_version=crate.version,
        file=focal.file,
        function=function.qualified_name,
        function_code=localize(focal_text, crate.lib_name).strip("\n") + "\n",
        input=input_text,
        bare_input=bare_text,
        output=output_text,
        unit_tests=tuple(r for r, t in zip(rendered, tests) if t.kind not in PROPERTY_KINDS),
        property_tests=tuple(r for r, t in zip(rendered, tests) if t.kind in PROPERTY_KINDS),
        test_kinds=kinds,
        test_names=tuple(t.name for t in tests),
        link=hows,
        complexity=function.complexity,
        has_generics=function.has_generics or focal.impl_generic,
        has_lifetimes=function.has_lifetimes,
        is_async=function.is_async,
        has_unsafe=function.is_unsafe,
        has_macros=function.has_macros,
        category=category(focal, output_text),
        lines=function.end_line - function.start_line + 1,
        license=crate.license,
    )


_DEFINED = re.compile(r"\b(?:fn|struct|enum|union|trait|type|const|static)\s+([A-Za-z_]\w*)")


def _renamed_clashes(tests: list[TestFn], *names: str) -> list[TestFn]:
    """A test named like an item of `input` would shadow it under `use super::*` once `super::f` is written `f`:
    such a test becomes `test_f`."""
    renamed = []
    for test in tests:
        if test.name in names:
            new_name = f"test_{test.name}"
            text = re.sub(rf"\bfn\s+{re.escape(test.name)}\b", f"fn {new_name}", test.text, count=1)
            test = TestFn(new_name, test.kind, text, test.file, test.start, test.scope, test.calls,
                          test.typed_calls, test.refs, test.is_async)
        renamed.append(test)
    return renamed


def _render(focal: Focal, focal_text: str, tests: list[TestFn], index: CrateIndex,
            max_chars: int) -> tuple[str, str | None, str, list[TestFn]]:
    """(input, bare input or None, output, tests renamed where they clash with `input`); TooLarge when input and
    output pass `max_chars`. A bare input is dropped where it does not fit with the output or defines a test's
    name: the output is the input's."""
    tests = _renamed_clashes(tests, focal.function.name)
    output_text, wanted = build_output(tests, index)
    if len(output_text) >= max_chars:
        raise TooLarge(f"output of {len(output_text)} chars")
    input_text, bare_text = build_input(focal, focal_text, wanted, index, max_chars - len(output_text))
    defined = set(_DEFINED.findall(input_text))
    if any(t.name in defined for t in tests):
        tests = _renamed_clashes(tests, *defined)
        output_text, _ = build_output(tests, index)
    if len(input_text) + len(output_text) > max_chars:
        raise TooLarge(f"{len(input_text) + len(output_text)} chars")
    if bare_text is not None and (len(bare_text) + len(output_text) > max_chars
                                  or {t.name for t in tests} & set(_DEFINED.findall(bare_text))):
        bare_text = None
    return input_text, bare_text, output_text, tests


def _refs(code: str) -> frozenset[str]:
    return frozenset(re.findall(r"[A-Za-z_]\w*", code))


def category(focal: Focal, output_text: str) -> str:
    """One of CATEGORIES, first match wins: async, generics_lifetimes, error_handling, stdlib, other."""
    function = focal.function
    signature = function.signature
    if function.is_async or ".await" in focal.text or "Future" in signature or "tokio::" in output_text:
        return "async"
    if function.has_generics or function.has_lifetimes or focal.impl_generic or re.search(r"\bimpl\s", signature):
        return "generics_lifetimes"
    if re.search(r"\b(Result|Option)\b", function.return_type or "") or focal.body_has_try:
        return "error_handling"
    types = set(re.findall(r"\b[A-Z]\w*", signature))
    if function.impl_type is None and types <= STD_TYPES:
        return "stdlib"
    return "other"


def _unique_ids(candidates: list[Candidate]) -> list[Candidate]:
    seen: dict[str, int] = {}
    unique = []
    for candidate in candidates:
        count = seen.get(candidate.id, 0)
        seen[candidate.id] = count + 1
        if count:
            candidate = Candidate(**{**candidate.__dict__, "id": f"{candidate.id}#{count + 1}"})
        unique.append(candidate)
    return unique
