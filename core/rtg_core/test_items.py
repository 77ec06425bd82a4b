"""Generated test code as items: tests (a `#[test]` fn, a `proptest!`/`quickcheck!` block) and what they share
(`use`s, helper fns, structs), so each test can be judged, kept or dropped on its own.

Replies from a real model are often cut by the token budget or broken in one place; `split_items` salvages them:
every complete item that parses is kept, whatever surrounds it. A `#[cfg(test)] mod` is opened (closed or not,
its `use super::*` dropped: the judge's wrapper brings its own), a cut or broken item is dropped with the tokens
around it, and prose outside code fences never reaches here (`rtg_core.prompt.parse_answer`).

`close_cut_test` keeps more of a reply the budget cut: its last test, cut mid-way, ended after its last complete
statement, if an assertion is among those (the real 0.5B often writes one long test of many assertions: 56 of 256
replies to HumanEvalPack-Rust were nothing else). The cut statement is dropped whole; no assertion is changed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rtg_core.rust_source import dedented_item, macro_test_functions, node_text, parse_rust

_COMMENTS = ("line_comment", "block_comment")
_TEST_ATTRIBUTES = ("test", "tokio::test", "quickcheck", "proptest", "rstest")
# What can stand at the top of test code. Anything else there is an error-recovery fragment: a statement left
# over from a cut test body, or prose outside a fence.
_ITEMS = ("function_item", "use_declaration", "struct_item", "enum_item", "impl_item", "const_item", "static_item",
          "type_item", "trait_item", "macro_definition", "extern_crate_declaration", "mod_item")
_TEST_MACROS = ("proptest!", "quickcheck!")  # the only macro calls kept: a loose `assert_eq!(…);` is a fragment
ASSERTION = re.compile(r"\b(?:prop_)?(?:debug_)?assert(?:_eq|_ne)?!\s*[(\[{]")
# Where the last test of a reply starts: its test attribute, or (unmarked) a `fn test_…()` header.
_TEST_START = re.compile(r"^[ \t]*#\[(?:test|tokio::test)\]|^[ \t]*(?:pub\s+)?fn\s+test_\w*\s*\(\s*\)", re.MULTILINE)


@dataclass(frozen=True)
class TestItem:
    text: str  # the item with its attributes and the comments just above it
    names: tuple[str, ...]  # the tests it defines; () for a shared item


def split_items(code: str) -> list[TestItem]:
    """The complete top-level items of test code, in order, with any test module opened."""
    data = code.encode("utf-8")
    items: list[TestItem] = []
    _collect(parse_rust(data).root_node, data, items)
    return items


def close_cut_test(code: str) -> TestItem | None:
    """The reply's last test, if the budget cut it, ended after its last complete statement and closed; None when
    it is whole already, or when no complete assertion comes before the cut."""
    starts = list(_TEST_START.finditer(code))
    if not starts:
        return None
    start = starts[-1].start()
    if len(starts) > 1 and not code[starts[-2].end():start].strip():  # `#[test]` right above `fn test_…()`
        start = starts[-2].start()
    tail = code[start:]
    if not parse_rust(tail).root_node.has_error:
        return None  # complete: split_items has it
    lines = tail.splitlines(keepends=True)
    indent = re.match(r"[ \t]*", lines[0]).group(0)
    for end in range(len(lines) - 1, 0, -1):
        text = "".join(lines[:end]).rstrip() + "\n" + indent + "}"
        if not ASSERTION.search(text):
            return None
        items = split_items(text)
        if len(items) == 1 and items[0].text.split() == text.split():  # the whole text, if dedented
            return items[0]
    return None


def salvage(code: str) -> str:
    """The test code reduced to its complete items (what `split_items` keeps), one blank line apart."""
    return "\n\n".join(item.text.strip("\n") for item in split_items(code))


def _collect(container, data: bytes, items: list[TestItem]) -> None:
    start = None  # where the pending item's comments and attributes begin
    attributes: list = []
    for node in container.children:
        if node.type in _COMMENTS:
            start = node.start_byte if start is None else start
            continue
        if node.type == "attribute_item":
            start = node.start_byte if start is None else start
            attributes.append(node)
            continue
        pending_start, pending, start, attributes = start, attributes, None, []
        if node.type == "ERROR" or (node.type == "mod_item" and _is_test_mod(node, pending)):
            body = node.child_by_field_name("body") if node.type == "mod_item" else node
            _collect(body if body is not None else node, data, items)
            continue
        if node.type == "declaration_list":  # the body of a module whose `mod` header was torn off
            _collect(node, data, items)
            continue
        is_test_macro = node.type in ("macro_invocation", "expression_statement") and node_text(node).startswith(
            _TEST_MACROS)
        if (node.type not in _ITEMS and not is_test_macro) or node.has_error or any(a.has_error for a in pending):
            continue
        if node.type == "use_declaration" and node_text(node).replace(" ", "") == "usesuper::*;":
            continue
        begin = pending_start if pending_start is not None else node.start_byte
        items.append(TestItem(dedented_item(data, begin, node.end_byte), _test_names(node, pending)))


def _is_test_mod(node, attributes) -> bool:
    """A module of tests, opened: `#[cfg(test)]`, named like one (`mod tests`), cut, or holding a `#[test]`. Any
    other module (a helper module of the tests) stays one shared item."""
    named = node.child_by_field_name("name")
    cfg_test = any(node_text(a).replace(" ", "") == "#[cfg(test)]" for a in attributes)
    body = node.child_by_field_name("body")
    holds_tests = body is not None and any(
        child.type == "attribute_item" and node_text(child).replace(" ", "") == "#[test]" for child in body.children)
    return cfg_test or holds_tests or node.has_error or (named is not None and node_text(named) in ("tests", "test"))


def _test_names(node, attributes) -> tuple[str, ...]:
    if node.type == "function_item":
        paths = [node_text(a).removeprefix("#[").split("(")[0].split("]")[0].strip() for a in attributes]
        if any(path in _TEST_ATTRIBUTES for path in paths):
            return (node_text(node.child_by_field_name("name")),)
        return ()
    if node.type in ("macro_invocation", "expression_statement") and node_text(node).startswith(
            ("proptest!", "quickcheck!")):
        return tuple(t.name for t in macro_test_functions(node_text(node)))
    return ()
