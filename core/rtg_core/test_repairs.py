"""Certain repairs of generated test items, before anything judges them: each rule fixes a mistake the real model
makes whose fix cannot change what a test asserts.

- `rename_shadowing_tests`: a test fn named like the function under test (or like any item of the code under
  test) shadows it inside the test module, so every call to it then has the wrong arity; a second test with the
  name of an earlier one does not compile. Both are renamed.
- `drop_pasted_copies`: a copy of the function under test (or of a type it uses) pasted into the tests shadows the
  real one, so the tests would test the copy. The copy is removed.
- `mark_unmarked_tests`: a fn of the tests with no parameters and no return type, holding an assertion and called
  by nothing else, was meant as a test but lacks `#[test]` (the real model writes `fn test_below_zero() { assert…`
  inside `mod tests`): it gets the attribute, and then runs.
- `await_async_calls`: where the code under test runs on tokio, a test that calls one of its `async fn`s and
  uses the value without `.await` (`assert_eq!(run_limited(3, 2), 2)`: a future compared with a number), or
  that is an `async fn` under plain `#[test]`, never compiles. The value is awaited and the test becomes a
  `#[tokio::test] async fn`. A call handed to another call (`tokio::spawn(run())`), made in a closure or bound to
  a name that is awaited later is the test's own business and stays as written.

Assertions, test bodies and the order of items are never touched. Each repair is reported, so a reader can see
what was changed and why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from rtg_core.prompt import IM_END, parse_answer
from rtg_core.rust_source import ancestors, functions, node_text, parse_rust, walk
from rtg_core.test_items import ASSERTION, TestItem, close_cut_test, split_items

_DEFINITIONS = ("function_item", "struct_item", "enum_item", "trait_item", "type_item", "union_item",
                "const_item", "static_item")


@dataclass(frozen=True)
class Repair:
    rule: str
    detail: str


def repair_items(items: list[TestItem], code_under_test: str) -> tuple[list[TestItem], list[Repair]]:
    """Every rule, in order; the repaired items and what each rule did."""
    defined = defined_names(code_under_test)
    items, dropped = drop_pasted_copies(items, defined)
    items, marked = mark_unmarked_tests(items)
    items, awaited = await_async_calls(items, code_under_test)
    items, renamed = rename_shadowing_tests(items, defined)
    return items, dropped + marked + awaited + renamed


def defined_names(code: str) -> set[str]:
    """Names the code under test defines at its top level (a method is called through its type: no clash)."""
    names: set[str] = set()
    for node in parse_rust(code).root_node.named_children:
        name = node.child_by_field_name("name")
        if node.type in _DEFINITIONS and name is not None:
            names.add(node_text(name))
    return names


def drop_pasted_copies(items: list[TestItem], defined: set[str]) -> tuple[list[TestItem], list[Repair]]:
    kept, repairs = [], []
    for item in items:
        name = _definition_name(item)
        if not item.names and name in defined:
            repairs.append(Repair("drop_pasted_copies", f"removed a copy of `{name}` pasted into the tests"))
            continue
        kept.append(item)
    return kept, repairs


def mark_unmarked_tests(items: list[TestItem]) -> tuple[list[TestItem], list[Repair]]:
    marked, repairs = [], []
    for item in items:
        name = _unmarked_test_name(item)
        others = [other.text for other in items if other is not item]
        if name is None or any(re.search(rf"\b{re.escape(name)}\b", text) for text in others):
            marked.append(item)
            continue
        indent = re.match(r"[ \t]*", item.text.lstrip("\n")).group(0)
        marked.append(TestItem(f"{indent}#[test]\n{item.text.lstrip(chr(10))}", (name,)))
        repairs.append(Repair("mark_unmarked_tests", f"marked `{name}` as a test: it asserts, takes nothing and "
                                                     "nothing calls it"))
    return marked, repairs


def _unmarked_test_name(item: TestItem) -> str | None:
    """The name of a shared fn that can only be a test without its attribute."""
    if item.names:
        return None
    nodes = parse_rust(item.text).root_node.named_children
    function = next((n for n in nodes if n.type == "function_item"), None)
    if function is None or function.child_by_field_name("return_type") is not None:
        return None
    parameters = function.child_by_field_name("parameters")
    if parameters is None or parameters.named_children or not ASSERTION.search(item.text):
        return None
    if any(n.type == "attribute_item" for n in nodes) or function.child_by_field_name("type_parameters"):
        return None
    return node_text(function.child_by_field_name("name"))


# Macros whose arguments are values: a future there is a mistake, not something the macro runs (`join!` would).
_VALUE_MACROS = frozenset({"assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "debug_assert_ne",
                           "vec", "format", "print", "println", "eprint", "eprintln", "dbg", "matches"})


def await_async_calls(items: list[TestItem], code_under_test: str) -> tuple[list[TestItem], list[Repair]]:
    if not re.search(r"\btokio\b", code_under_test):
        return items, []  # no runtime the tests could run on
    defined = functions(code_under_test)
    asynchronous = {f.name for f in defined if f.is_async} - {f.name for f in defined if not f.is_async}
    awaited, repairs = [], []
    for item in items:
        text, calls = _run_on_tokio(item, asynchronous)
        if text != item.text:
            what = f" and awaited {calls} call{'s' * (calls != 1)} of async fns" if calls else ""
            repairs.append(Repair("await_async_calls", f"made `{item.names[0]}` a #[tokio::test] async fn{what}"))
        awaited.append(TestItem(text, item.names))
    return awaited, repairs


def _run_on_tokio(item: TestItem, asynchronous: set[str]) -> tuple[str, int]:
    """The item as a tokio test with its async calls awaited, and how many it awaited; unchanged if not needed."""
    if not asynchronous or len(item.names) != 1:
        return item.text, 0
    # `await run(…)`, JavaScript's prefix form, never compiles; the call is then awaited as Rust writes it
    names = "|".join(map(re.escape, sorted(asynchronous)))
    data = re.sub(rf"(?<![\w.])await\s+(?=[\w:.]*\b(?:{names})\s*\()", "", item.text).encode("utf-8")
    nodes = parse_rust(data).root_node.named_children
    function = next((n for n in nodes if n.type == "function_item"), None)
    attribute = next((n for n in nodes if n.type == "attribute_item"
                      and "".join(node_text(n).split()).startswith(("#[test]", "#[tokio::test"))), None)
    body = function.child_by_field_name("body") if function is not None else None
    if body is None or attribute is None:
        return item.text, 0
    body_text = node_text(body)
    ends = sorted({end for node in walk(body) if (end := _unawaited_call_end(node, asynchronous, body_text))})
    is_async = "async" in {c.type for m in function.children if m.type == "function_modifiers" for c in m.children}
    if not ends and not is_async and ".await" not in body_text:
        return item.text, 0
    edits = [(end, end, b".await") for end in ends]
    if not is_async:
        fn = next(c for c in function.children if c.type in ("function_modifiers", "fn"))
        edits.append((fn.start_byte, fn.start_byte, b"async "))
    if "".join(node_text(attribute).split()) == "#[test]":
        edits.append((attribute.start_byte, attribute.end_byte, b"#[tokio::test]"))
    for start, end, insert in sorted(edits, reverse=True):
        data = data[:start] + insert + data[end:]
    return data.decode("utf-8"), len(ends)


def _unawaited_call_end(node: Node, asynchronous: set[str], body_text: str) -> int | None:
    """Where `.await` goes after a call of an async fn whose value the test uses directly; None for anything else."""
    if node.type not in ("identifier", "field_identifier") or node_text(node) not in asynchronous:
        return None
    if any(a.type == "closure_expression" for a in ancestors(node)):
        return None
    if node.parent is not None and node.parent.type == "token_tree":  # inside a macro call: tokens, not a tree
        arguments = node.next_sibling
        if arguments is None or arguments.type != "token_tree" or node_text(arguments)[:1] != "(":
            return None
        following = arguments.next_sibling
        if following is not None and following.type == "." and following.next_sibling is not None \
                and following.next_sibling.type == "await":
            return None
        return arguments.end_byte if _macro_name(node.parent) in _VALUE_MACROS else None
    call = _call_of(node)
    if call is None or call.parent is None or call.parent.type in ("await_expression", "arguments"):
        return None
    if call.parent.type == "let_declaration":
        pattern = call.parent.child_by_field_name("pattern")
        if pattern is not None and re.search(rf"\b{re.escape(node_text(pattern))}\s*\.await\b", body_text):
            return None  # the test awaits the future itself, later
    return call.end_byte


def _call_of(name: Node) -> Node | None:
    """The call expression whose callee `name` is: `run(…)`, `Cache::load(…)` or `cache.get(…)`."""
    callee = name.parent if name.parent is not None and name.parent.type in ("scoped_identifier",
                                                                             "field_expression") else name
    if callee is not name and callee.child_by_field_name("name" if callee.type == "scoped_identifier"
                                                         else "field") != name:
        return None
    call = callee.parent
    if call is None or call.type != "call_expression" or call.child_by_field_name("function") != callee:
        return None
    return call


def _macro_name(token_tree: Node) -> str | None:
    """The macro whose own arguments `token_tree` is (`assert_eq!(…)`, or `vec![…]` written inside another)."""
    if token_tree.parent is not None and token_tree.parent.type == "macro_invocation":
        return node_text(token_tree.parent.child_by_field_name("macro")).rsplit("::", 1)[-1]
    bang = token_tree.prev_sibling
    if bang is not None and bang.type == "!" and bang.prev_sibling is not None:
        return node_text(bang.prev_sibling)
    return None


def rename_shadowing_tests(items: list[TestItem], defined: set[str]) -> tuple[list[TestItem], list[Repair]]:
    taken = set(defined) | {_definition_name(i) for i in items if not i.names} - {None}
    seen: set[str] = set()
    renamed, repairs = [], []
    for item in items:
        text, names = item.text, list(item.names)
        for index, name in enumerate(item.names):
            if name not in taken and name not in seen:
                seen.add(name)
                continue
            new = _fresh(f"test_{name}" if name in taken and not name.startswith("test_") else name, taken | seen)
            text = _rename_fn(text, name, new, names[:index].count(name))
            why = "shadowed an item of the code under test" if name in taken else "repeated an earlier test's name"
            repairs.append(Repair("rename_shadowing_tests", f"renamed test `{name}` to `{new}`: it {why}"))
            names[index] = new
            seen.add(new)
        renamed.append(TestItem(text, tuple(names)))
    return renamed, repairs


def _definition_name(item: TestItem) -> str | None:
    for node in parse_rust(item.text).root_node.named_children:
        name = node.child_by_field_name("name")
        if node.type in _DEFINITIONS and name is not None:
            return node_text(name)
    return None


def _fresh(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def _rename_fn(text: str, old: str, new: str, occurrence: int) -> str:
    """The `occurrence`-th `fn old(` header renamed (a proptest! block holds several); calls of `old` inside the
    test (the function under test) stay."""
    headers = list(re.finditer(rf"\bfn\s+{re.escape(old)}\s*\(", text))
    if occurrence >= len(headers):
        return text
    header = headers[occurrence]
    return text[:header.start()] + f"fn {new}(" + text[header.end():]


@dataclass(frozen=True)
class ReadReply:
    code: str  # the reply's Rust code as written (fenced code, end of turn cut): what a repair prompt shows back
    items: list[TestItem]  # its complete items after the repairs (empty without salvage)
    repairs: list[Repair]
    tests: str  # what is judged: the items, one blank line apart; the code as written without salvage


def read_reply(reply: str, code_under_test: str, salvage: bool = True, repairs: bool = True) -> ReadReply:
    """A model's raw reply as the test code to judge: fenced code, its complete items (salvage; and, when the budget
    cut the reply, its last test closed after its last complete statement) after the certain repairs. With `salvage` off the parsed reply is taken whole and nothing is repaired (the ablation baseline)."""
    code = parse_answer(reply)
    if not salvage:
        return ReadReply(code, [], [], code)
    items = split_items(code)
    cut = close_cut_test(code) if IM_END not in reply else None
    if cut is not None and cut.text.strip() not in {item.text.strip() for item in items}:
        items.append(cut)
    items, done = repair_items(items, code_under_test) if repairs else (items, [])
    return ReadReply(code, items, done, "\n\n".join(item.text.strip("\n") for item in items))
