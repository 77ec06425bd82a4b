"""Generated test code as items: tests (a `#[test]` fn, a `proptest!`/`quickcheck!` block) and what they share
(`use`s, helper fns, structs), so each test can be judged, kept or dropped on its own."""
from __future__ import annotations

from dataclasses import dataclass

from rtg_core.rust_source import find_test_module, is_test_module, macro_test_functions, node_text, parse_rust

_COMMENTS = ("line_comment", "block_comment")
_TEST_ATTRIBUTES = ("test", "tokio::test", "quickcheck", "proptest", "rstest")


@dataclass(frozen=True)
class TestItem:
    text: str  # the item with its attributes and the comments just above it
    names: tuple[str, ...]  # the tests it defines; () for a shared item


def split_items(code: str) -> list[TestItem]:
    """The top-level items of test code, in order; a whole `#[cfg(test)] mod` is opened and its `use super::*`
    dropped (the judge's wrapper brings its own)."""
    data = code.encode("utf-8")
    if is_test_module(code):
        module = find_test_module(code)
        data = data[module.body_start_byte:module.body_end_byte]
    items: list[TestItem] = []
    start = None
    attributes: list[str] = []
    for node in parse_rust(data).root_node.named_children:
        start = node.start_byte if start is None else start
        if node.type == "attribute_item":
            attributes.append(node_text(node))
            continue
        if node.type in _COMMENTS:
            continue
        text = data[start:node.end_byte].decode("utf-8", errors="replace")
        start, item_attributes, attributes = None, attributes, []
        if node.type == "use_declaration" and node_text(node).replace(" ", "") == "usesuper::*;":
            continue
        items.append(TestItem(text, _test_names(node, item_attributes)))
    return items


def _test_names(node, attributes: list[str]) -> tuple[str, ...]:
    if node.type == "function_item":
        paths = [a.removeprefix("#[").split("(")[0].split("]")[0].strip() for a in attributes]
        if any(path in _TEST_ATTRIBUTES for path in paths):
            return (node_text(node.child_by_field_name("name")),)
        return ()
    if node.type in ("macro_invocation", "expression_statement") and node_text(node).startswith(
            ("proptest!", "quickcheck!")):
        return tuple(t.name for t in macro_test_functions(node_text(node)))
    return ()
