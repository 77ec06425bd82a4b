"""Certain repairs of generated test items, before anything judges them: each rule fixes a mistake the real model
makes that keeps a test from compiling or from running, and changes no value an assertion compares.

- `rename_shadowing_tests`: a test fn named like the function under test (or like any item of the code under
  test) shadows it inside the test module, so every call to it then has the wrong arity; a second test with the
  name of an earlier one does not compile. Both are renamed.
- `drop_pasted_copies`: a copy of the function under test (or of a type it uses) pasted into the tests shadows the
  real one, so the tests would test the copy. The copy is removed.
- `mark_unmarked_tests`: a fn of the tests with no parameters and no return type, holding an assertion and called
  by nothing else, was meant as a test but lacks `#[test]` (the real model writes `fn test_below_zero() { assert…`
  inside `mod tests`): it gets the attribute, and then runs.
- `await_async_calls`: where the code under test runs on tokio, a test that uses the output of one of its
  `async fn`s without `.await` (`assert_eq!(run_limited(3, 2), 2)` compares a future with a number; JavaScript's
  `await run(…)`), or that awaits, or is an `async fn`, under plain `#[test]`, never compiles. Such a call is
  awaited and the test becomes a `#[tokio::test] async fn`. Only where the future cannot be what the test meant:
  compared, `?`-ed, indexed, a method called on it, an argument of `assert_eq!` and kin, or bound to a name used
  only so; a method only on a receiver the test made from the method's type. A future handed to a call
  (`tokio::spawn(run())`, `timeout(d, fut)`), put in a tuple or `vec!`, written in a closure, an async block or
  a nested fn, or standing as a statement of its own stays as written. A property cannot be async: an async fn's
  output it compares in `prop_assert_eq!` and kin is computed on a runtime of its own (`block_on`).
- `rust_escapes`: `\\v`, `\\b`, `\\f`, `\\a`, `\\e` (C's escapes) and `\\/`, `\\u0041` (JSON's) are no escapes in
  Rust, so a string or char literal holding one never compiles; each becomes the Rust escape of the character it
  means there (`\\x0b`, `\\u{0041}`). Raw strings have no escapes and are left alone.

Each repair is reported, so a reader can see what was changed and why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from rtg_core.prompt import IM_END, parse_answer
from rtg_core.rust_source import functions, node_text, parse_rust, walk
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
    items, escaped = rust_escapes(items)
    items, renamed = rename_shadowing_tests(items, defined)
    return items, dropped + marked + awaited + escaped + renamed


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
                           "format", "print", "println", "eprint", "eprintln", "dbg", "matches"})
# Where a call's value can only be meant as its output: compared, `?`-ed, indexed, or a method called on it. Anywhere
# else (an argument, a tuple, a statement of its own) the test may mean the future itself, so it stays as written.
_VALUE_USES = frozenset({"binary_expression", "field_expression", "try_expression", "index_expression"})
_PROPERTY_ASSERTIONS = frozenset({"prop_assert", "prop_assert_eq", "prop_assert_ne"})
# A runtime with only tokio's "rt" feature (and time, io where the crate has them), for one call in a property.
_BLOCK_ON = b"tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on("
# Not the test fn's own async context: what is written inside these is left alone.
_OTHER_CONTEXTS = frozenset({"function_item", "closure_expression", "async_block"})


@dataclass(frozen=True)
class AsyncApi:
    """The async fns of the code under test, by name: free fns, and methods or associated fns with the types that
    have them (a name the code under test also gives a sync fn is ambiguous and left out); and the type each free
    fn returns, so that `let guard = spawn_guarded(…)` is known to make a `TaskGuard`."""

    free: frozenset[str]
    members: dict[str, frozenset[str]]
    returns: dict[str, str]

    @classmethod
    def of(cls, code: str) -> "AsyncApi":
        defined = functions(code)
        sync = {f.name for f in defined if not f.is_async}
        members: dict[str, set[str]] = {}
        for f in defined:
            if f.is_async and f.impl_type and f.name not in sync:
                members.setdefault(f.name, set()).add(_type_name(f.impl_type))
        returns = {f.name: _type_name(f.return_type) for f in defined if not f.impl_type and f.return_type}
        return cls(frozenset(f.name for f in defined if f.is_async and not f.impl_type and f.name not in sync),
                   {name: frozenset(types) for name, types in members.items()}, returns)


def await_async_calls(items: list[TestItem], code_under_test: str) -> tuple[list[TestItem], list[Repair]]:
    """Only where the code under test uses tokio: the runtime `#[tokio::test]` needs, which the crate then has."""
    if not re.search(r"\btokio\b", code_under_test):
        return items, []
    api = AsyncApi.of(code_under_test)
    repaired, repairs = [], []
    for item in items:
        if item.text.lstrip().startswith("proptest!"):
            text, blocked = _block_on_in_properties(item, api)
            if blocked:
                repairs.append(Repair("await_async_calls", f"ran {blocked} call{'s' * (blocked != 1)} of async fns "
                                                           f"in `{item.names[0]}` on a runtime of their own"))
            repaired.append(TestItem(text, item.names))
            continue
        text, awaited, made_async = _run_on_tokio(item, api) if len(item.names) == 1 else (item.text, 0, False)
        calls = f"awaited {awaited} call{'s' * (awaited != 1)} of async fns"
        if made_async:
            detail = f"made `{item.names[0]}` a #[tokio::test] async fn" + (f" and {calls}" if awaited else "")
            repairs.append(Repair("await_async_calls", detail))
        elif awaited:
            repairs.append(Repair("await_async_calls", f"{calls} in `{item.names[0]}`"))
        repaired.append(TestItem(text, item.names))
    return repaired, repairs


def _run_on_tokio(item: TestItem, api: AsyncApi) -> tuple[str, int, bool]:
    """The test with its async calls awaited and, where it then awaits, as a `#[tokio::test] async fn`; how many
    calls it awaited, and whether it became a tokio test."""
    data = item.text.encode("utf-8")
    nodes = parse_rust(data).root_node.named_children
    function = next((n for n in nodes if n.type == "function_item"), None)
    attribute = next((n for n in nodes if n.type == "attribute_item"
                      and _compact(n).startswith(("#[test]", "#[tokio::test"))), None)
    body = function.child_by_field_name("body") if function is not None else None
    if body is None or attribute is None:
        return item.text, 0, False
    own = list(walk(body, lambda n: n.type not in _OTHER_CONTEXTS))
    edits = [edit for node in own for edit in _await_edits(node, api, own)]
    awaited = sum(1 for _, _, insert in edits if insert)
    is_async = any(c.type == "async" for m in function.children if m.type == "function_modifiers"
                   for c in m.children)
    awaits = awaited or any(n.type == "await_expression" or (n.type == "await" and _awaits_a_value(n)) for n in own)
    make_async = _compact(attribute) == "#[test]" and (is_async or awaits)
    if not edits and not make_async:
        return item.text, 0, False
    if make_async:
        edits.append((attribute.start_byte, attribute.end_byte, b"#[tokio::test]"))
        if not is_async:
            fn = next(c for c in function.children if c.type in ("function_modifiers", "fn"))
            edits.append((fn.start_byte, fn.start_byte, b"async "))
    for start, end, insert in sorted(edits, reverse=True):
        data = data[:start] + insert + data[end:]
    return data.decode("utf-8"), awaited, make_async


def _block_on_in_properties(item: TestItem, api: AsyncApi) -> tuple[str, int]:
    data = item.text.encode("utf-8")
    edits = []
    for name in walk(parse_rust(data).root_node):
        if name.type != "identifier" or node_text(name) not in api.free or name.parent.type != "token_tree":
            continue
        arguments, before = name.next_sibling, name.prev_sibling
        if arguments is None or arguments.type != "token_tree" or node_text(arguments)[:1] != "(" \
                or before is not None and before.type in (".", "::", "fn", "await") or _awaited_token(arguments):
            continue
        if _macro_name(name.parent) in _VALUE_MACROS | _PROPERTY_ASSERTIONS:
            edits += [(name.start_byte, _BLOCK_ON), (arguments.end_byte, b")")]
    for at, insert in sorted(edits, reverse=True):
        data = data[:at] + insert + data[at:]
    return data.decode("utf-8"), len(edits) // 2


def _await_edits(name: Node, api: AsyncApi, own: list[Node]) -> list[tuple[int, int, bytes]]:
    """For a call of an async fn of the code under test whose output the test uses: `.await` after it, and a
    prefix `await ` before it (JavaScript's form, which never compiles) removed. Nothing for anything else."""
    if name.type not in ("identifier", "field_identifier"):
        return []
    if name.parent is not None and name.parent.type == "token_tree":
        return _await_edits_in_macro(name, api, own)
    call = _call_of(name)
    if call is None or not _is_async_callee(call.child_by_field_name("function"), name, api, own):
        return []
    use = call.parent
    if use is None or not (use.type in _VALUE_USES and use.children and use.children[0] == call
                           or use.type == "binary_expression"
                           or use.type == "let_declaration" and _only_values_later(use, own)):
        return []
    return [(call.end_byte, call.end_byte, b".await")]


def _await_edits_in_macro(name: Node, api: AsyncApi, own: list[Node]) -> list[tuple[int, int, bytes]]:
    """The same inside a macro's arguments, which tree-sitter leaves as tokens: `assert_eq!(run(3, 2), 2)`."""
    arguments, before = name.next_sibling, name.prev_sibling
    if arguments is None or arguments.type != "token_tree" or node_text(arguments)[:1] != "(":
        return []
    if _macro_name(name.parent) not in _VALUE_MACROS or _awaited_token(arguments):
        return []
    text = node_text(name)
    if before is not None and before.type == ".":  # receiver.method(…): the receiver must be of the method's type
        start, ok = _receiver_of_type(before.prev_sibling, name, own, api, api.members.get(text, frozenset()))
    elif before is not None and before.type == "::":
        start = before.prev_sibling
        ok = start is not None and node_text(start) in api.members.get(text, frozenset())
    else:
        start, ok = name, text in api.free
    if not ok:
        return []
    edits = [(arguments.end_byte, arguments.end_byte, b".await")]
    prefix = start.prev_sibling
    if prefix is not None and prefix.type == "await":
        edits.append((prefix.start_byte, start.start_byte, b""))
    return edits


def _receiver_of_type(last: Node | None, name: Node, own: list[Node], api: AsyncApi, types: frozenset[str]
                      ) -> tuple[Node | None, bool]:
    """Among a macro's tokens, the receiver before `.method(…)` (a variable, or `Type::new(…)`) and whether it is of
    one of `types`."""
    if last is not None and last.type == "identifier":
        return last, _bound_to(node_text(last), name, own, api, types)
    tokens = []  # `Type :: constructor (…)`, read backwards
    while last is not None and len(tokens) < 4:
        tokens.append(last)
        last = last.prev_sibling
    shape = [t.type for t in tokens]
    if shape == ["token_tree", "identifier", "::", "identifier"] and node_text(tokens[3]) in types:
        return tokens[3], True
    return None, False


def _is_async_callee(callee: Node, name: Node, api: AsyncApi, own: list[Node]) -> bool:
    text = node_text(name)
    if callee.type == "identifier":
        return text in api.free
    types = api.members.get(text, frozenset())
    if callee.type == "scoped_identifier":
        path = callee.child_by_field_name("path")
        return path is not None and node_text(path) in types
    receiver = callee.child_by_field_name("value")
    return receiver is not None and (_is_value_of(node_text(receiver), api, types) or receiver.type == "identifier"
                                     and _bound_to(node_text(receiver), name, own, api, types))


def _bound_to(variable: str, at: Node, own: list[Node], api: AsyncApi, types: frozenset[str]) -> bool:
    """Whether the test's last `let variable = …` before `at` makes a value of one of `types`."""
    lets = [n for n in own if n.type == "let_declaration" and n.end_byte <= at.start_byte
            and (p := n.child_by_field_name("pattern")) is not None and node_text(p) == variable]
    value = lets[-1].child_by_field_name("value") if lets else None
    return value is not None and _is_value_of(node_text(value), api, types)


def _is_value_of(expression: str, api: AsyncApi, types: frozenset[str]) -> bool:
    """`Cache::new(…)`, `Cache { … }`, `Arc::new(Cache::default())`, `make_cache(…)`: an expression that makes one
    of `types`."""
    made = re.match(r"(?:(?:Arc|Rc|Box)::new\(\s*)?(\w+)\s*(::|\{|\()", expression)
    if made is None:
        return False
    name, after = made.groups()
    return name in types and after != "(" or after == "(" and api.returns.get(name) in types


def _type_name(written: str) -> str:
    """`TaskGuard<T>` -> `TaskGuard`."""
    return re.split(r"[<\s]", written.strip(), maxsplit=1)[0]


def _only_values_later(let: Node, own: list[Node]) -> bool:
    """Whether a `let x = call(…)` binds a value the test only uses as one (compared, printed, a method called):
    then it wanted the output. A future the test hands on, awaits itself or never uses stays a future."""
    pattern = let.child_by_field_name("pattern")
    if pattern is None or pattern.type != "identifier":
        return False
    uses = [n for n in own if n.type == "identifier" and n.start_byte >= let.end_byte
            and node_text(n) == node_text(pattern)]
    return bool(uses) and all(_is_value_use(n) for n in uses)


def _is_value_use(variable: Node) -> bool:
    use = variable.parent
    if use is not None and use.type == "token_tree":
        return _macro_name(use) in _VALUE_MACROS and not _awaited_token(variable)
    return use is not None and use.type in _VALUE_USES


def _awaited_token(token: Node) -> bool:
    """Whether `.await` follows `token` among a macro's tokens."""
    dot = token.next_sibling
    return dot is not None and dot.type == "." and dot.next_sibling is not None and dot.next_sibling.type == "await"


def _awaits_a_value(await_token: Node) -> bool:
    """A `.await` among a value macro's own tokens (`assert_eq!(run().await, 1)`): the test must be async."""
    dot = await_token.prev_sibling
    return dot is not None and dot.type == "." and _macro_name(await_token.parent) in _VALUE_MACROS


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


def _macro_name(token_tree: Node | None) -> str | None:
    """The macro whose own arguments `token_tree` is (`assert_eq!(…)`, or `vec![…]` written inside another)."""
    if token_tree is None or token_tree.type != "token_tree":
        return None
    if token_tree.parent is not None and token_tree.parent.type == "macro_invocation":
        return node_text(token_tree.parent.child_by_field_name("macro")).rsplit("::", 1)[-1]
    bang = token_tree.prev_sibling
    if bang is not None and bang.type == "!" and bang.prev_sibling is not None:
        return node_text(bang.prev_sibling)
    return None


def _compact(node: Node) -> str:
    return "".join(node_text(node).split())


# Escapes of C and JSON that Rust lacks, as Rust writes the characters they mean.
_FOREIGN_ESCAPES = {"a": r"\x07", "b": r"\x08", "f": r"\x0c", "v": r"\x0b", "e": r"\x1b", "/": "/"}
_FOREIGN_ESCAPE = re.compile(r"\\(?:([abfve/])|u([0-9A-Fa-f]{4}))")


def rust_escapes(items: list[TestItem]) -> tuple[list[TestItem], list[Repair]]:
    rewritten, repairs = [], []
    for item in items:
        data = item.text.encode("utf-8")
        edits, foreign = [], set()
        for node in walk(parse_rust(data).root_node):
            escape = node_text(node)
            if node.type == "char_literal":
                escape = escape.lstrip("b")[1:-1]
            elif node.type != "escape_sequence":
                continue
            found = _FOREIGN_ESCAPE.fullmatch(escape)
            if found is not None:
                letter, code = found.groups()
                start = node.start_byte + node_text(node).index("\\")
                edits.append((start, start + len(escape), _FOREIGN_ESCAPES[letter] if letter else f"\\u{{{code}}}"))
                foreign.add(escape)
        for start, end, rust in sorted(edits, reverse=True):
            data = data[:start] + rust.encode("utf-8") + data[end:]
        if edits:
            where = f"`{item.names[0]}`" if item.names else "a shared item"
            repairs.append(Repair("rust_escapes", f"wrote {', '.join(sorted(foreign))} as Rust escapes in {where}"))
        rewritten.append(TestItem(data.decode("utf-8"), item.names))
    return rewritten, repairs


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
