"""How results are stratified: the language-feature categories of the code under test (checklist g1-g5), its
complexity bucket, and the kinds of tests written; plus the input names of property tests (checklist d3)."""
from __future__ import annotations

import re

from rtg_core.rust_source import functions, macro_test_functions
from rtg_eval.checklist import CATEGORIES

# Macros of the standard library and of the test frameworks: calling them does not make a function "macro" code.
STD_MACROS = frozenset({
    "assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "debug_assert_ne", "panic", "unreachable",
    "unimplemented", "todo", "vec", "format", "format_args", "print", "println", "eprint", "eprintln", "write",
    "writeln", "matches", "dbg", "concat", "stringify", "include_str", "include_bytes", "env", "option_env", "line",
    "file", "column", "cfg", "thread_local", "compile_error", "module_path", "try", "select", "join", "pin",
})
COMPLEXITY_BUCKETS = ((1, "1"), (4, "2-4"), (9, "5-9"), (10**9, "10+"))  # cyclomatic complexity, upper bounds
_LIFETIME = re.compile(r"'[A-Za-z_]\w*")
_PARAMETER = re.compile(r"\s*(?:mut\s+)?([A-Za-z_]\w*)\s*:")
_PROPERTY_INPUT = re.compile(r"(?:^|,)\s*(?:mut\s+|ref\s+)?([A-Za-z_]\w*)\s+in\b")


def categories_of(code: str) -> list[str]:
    """The g-categories of the code under test: generic type parameters, lifetimes, async fns, unsafe code, and
    macros (a `macro_rules!` definition or a call to a macro outside the standard library's)."""
    found = set()
    for function in functions(code):
        if function.in_test_code:
            continue
        if function.generics and re.search(r"[A-Za-z_]", _LIFETIME.sub("", function.generics)):
            found.add("generics")
        if function.has_lifetimes:
            found.add("lifetimes")
        if function.is_async:
            found.add("async")
        if function.is_unsafe:
            found.add("unsafe")
        if set(function.macro_names) - STD_MACROS:
            found.add("macros")
    if "macro_rules!" in code:
        found.add("macros")
    if re.search(r"\bunsafe\s+(impl|trait)\b", code):
        found.add("unsafe")
    return [c for c in CATEGORIES if c in found]


def complexity_bucket(code: str) -> str:
    """The bucket of the most complex non-test fn in the code under test."""
    complexity = max((f.complexity for f in functions(code) if not f.in_test_code), default=1)
    return next(label for bound, label in COMPLEXITY_BUCKETS if complexity <= bound)


def test_kinds(tests: str) -> list[str]:
    """Which kinds of tests the code holds: unit (#[test], #[tokio::test]), proptest, quickcheck."""
    kinds = set()
    for function in functions(tests):
        if function.is_test:
            kinds.add("quickcheck" if any("quickcheck" in a for a in function.attributes) else "unit")
    for macro_test in macro_test_functions(tests):
        kinds.add(macro_test.macro_name)
    return sorted(kinds)


def property_inputs(tests: str) -> list[str] | None:
    """The names bound by `name in strategy` in the tests' proptest! fns; None when there are none."""
    properties = [t for t in macro_test_functions(tests) if t.macro_name == "proptest"]
    if not properties:
        return None
    return [name for t in properties for name in _PROPERTY_INPUT.findall(t.params)]


def parameter_names(code: str) -> list[str]:
    """The parameter names of the code under test's fns (`mut a: u64` gives `a`; `self` is left out)."""
    names = []
    for function in functions(code):
        for param in function.params:
            match = _PARAMETER.match(param)
            if match and match.group(1) != "self":
                names.append(match.group(1))
    return sorted(set(names))
