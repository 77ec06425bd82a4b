"""Rust source analysis on tree-sitter.

tree-sitter is a fast, error-tolerant parser, not a compiler: it flags some valid Rust (e.g. `try!`) as errors,
so rustc has the last word on validity.

Everything here takes source text and returns plain dataclasses; byte offsets are UTF-8 offsets into
`source.encode()`, lines are 1-based.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Tree

RUST = Language(tree_sitter_rust.language())

_COMMENTS = frozenset({"line_comment", "block_comment"})
_STRINGS = frozenset({"string_literal", "raw_string_literal"})
# Last path segment of an attribute that makes a fn a test: #[test], #[tokio::test(...)], #[quickcheck], ...
_TEST_ATTRIBUTES = frozenset({"test", "quickcheck", "proptest", "rstest", "test_case"})
_TEST_MACROS = frozenset({"proptest", "quickcheck"})
_BRANCHES = frozenset({"if_expression", "while_expression", "for_expression", "loop_expression", "try_expression"})
_NEW_TEST_MODULE = "#[cfg(test)]\nmod tests {{\n    use super::*;\n\n{items}\n}}\n"


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(RUST)


def parse_rust(source: str | bytes) -> Tree:
    data = source.encode("utf-8") if isinstance(source, str) else source
    return _parser().parse(data)


def node_text(node: Node) -> str:
    return node.text.decode("utf-8", errors="replace") if node.text is not None else ""


@dataclass(frozen=True)
class RustFunction:
    """One fn with a body; `start_byte`/`start_line` cover its attributes and doc comment, the `body_*` range
    covers the block including its braces."""

    name: str
    qualified_name: str
    signature: str
    doc_comment: str | None
    attributes: tuple[str, ...]
    params: tuple[str, ...]
    return_type: str | None
    generics: str | None
    has_generics: bool
    has_lifetimes: bool
    is_async: bool
    is_unsafe: bool
    is_const: bool
    is_pub: bool
    has_macros: bool
    macro_names: tuple[str, ...]
    complexity: int
    impl_type: str | None
    trait_name: str | None
    start_byte: int
    end_byte: int
    body_start_byte: int
    body_end_byte: int
    start_line: int
    end_line: int
    in_test_code: bool
    is_test: bool


@dataclass(frozen=True)
class TestModule:
    """A top-level `#[cfg(test)] mod NAME { ... }`; `start_byte` covers its attributes, the `body_*` range is
    the text between its braces and `indent` is the indentation of its items."""

    name: str
    start_byte: int
    end_byte: int
    body_start_byte: int
    body_end_byte: int
    indent: str


@dataclass(frozen=True)
class MacroTest:
    """A `fn` written inside a `proptest! { }` or `quickcheck! { }` block, which tree-sitter leaves as tokens.

    `start_byte` covers the fn's attributes; `body` is the text between the body's braces and the `body_*` range
    covers the braces too.
    """

    name: str
    macro_name: str
    params: str
    return_type: str | None
    body: str
    start_byte: int
    end_byte: int
    body_start_byte: int
    body_end_byte: int


@dataclass(frozen=True)
class MacroCall:
    """A macro invocation, also one nested in another macro's tokens (`assert_eq!(v, vec![1])` holds `vec!`)."""

    name: str
    args: Node
    text: str


# --- tree walking -------------------------------------------------------------------------------------------


def walk(node: Node, descend: Callable[[Node], bool] = lambda _: True) -> Iterator[Node]:
    """Pre-order (source order) walk; `descend` says whether to enter a node's children. Iterative, so deep
    expressions do not hit Python's recursion limit."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is node or descend(current):
            stack.extend(reversed(current.children))


def _own_code(node: Node) -> Iterator[Node]:
    """The nodes of `node` without those of fns nested in it: their branches and macros are theirs."""
    return walk(node, lambda n: n.type != "function_item")


def _last_segment(path: str) -> str:
    return path.rsplit("::", 1)[-1].strip()


def macro_calls(node: Node) -> list[MacroCall]:
    """The macros invoked in `node`'s own code (not in nested fns), in source order, with their argument tokens."""
    calls = []
    for current in _own_code(node):
        if current.type == "macro_invocation":
            macro = current.child_by_field_name("macro")
            args = current.named_children[-1]
            if macro is not None and args.type == "token_tree":
                calls.append(MacroCall(node_text(macro), args, node_text(current)))
        elif current.type == "token_tree":
            calls.extend(_macros_in_tokens(current))
    return calls


def _macros_in_tokens(token_tree: Node) -> Iterator[MacroCall]:
    """`name ! (...)` sequences among a token tree's direct children; deeper trees are visited by the walk."""
    tokens = token_tree.children
    for name, bang, args in zip(tokens, tokens[1:], tokens[2:]):
        if name.type == "identifier" and bang.type == "!" and args.type == "token_tree":
            text = token_tree.text[name.start_byte - token_tree.start_byte: args.end_byte - token_tree.start_byte]
            yield MacroCall(node_text(name), args, text.decode("utf-8", errors="replace"))


# --- attributes and doc comments ----------------------------------------------------------------------------


def is_doc_comment(node: Node) -> bool:
    return node.type in _COMMENTS and any(c.type == "outer_doc_comment_marker" for c in node.children)


def leading_items(item: Node) -> list[Node]:
    """The attributes and doc comments written before `item`, in source order.

    Plain comments may sit between them (`#[test]\\n// why\\nfn ...`) but do not start the item.
    """
    leading = []
    sibling = item.prev_named_sibling
    while sibling is not None and (sibling.type == "attribute_item" or sibling.type in _COMMENTS):
        leading.append(sibling)
        sibling = sibling.prev_named_sibling
    while leading and leading[-1].type in _COMMENTS and not is_doc_comment(leading[-1]):
        leading.pop()
    return leading[::-1]


def _attribute_path(attribute_item: Node) -> str:
    attribute = attribute_item.named_children[0] if attribute_item.named_children else None
    return node_text(attribute.named_children[0]) if attribute and attribute.named_children else ""


def _is_test_attribute(attribute_item: Node) -> bool:
    return _last_segment(_attribute_path(attribute_item)) in _TEST_ATTRIBUTES


def _is_cfg_test(attribute_item: Node) -> bool:
    return "".join(node_text(attribute_item).split()) == "#[cfg(test)]"


def _doc_text(comment: Node) -> str:
    """A doc comment's text without `///`, `/**`, `*/` or a leading ` * `; one leading space per line removed."""
    content = next((c for c in comment.children if c.type == "doc_comment"), None)
    lines = node_text(content).rstrip("\n").split("\n") if content is not None else [""]
    if comment.type == "block_comment":
        lines = [line.strip().removeprefix("*") for line in lines]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
    return "\n".join(line.removeprefix(" ") for line in lines)


# --- functions ----------------------------------------------------------------------------------------------


def _type_name(type_node: Node | None) -> str | None:
    """`Point` for `Point<T>`; other types (references, paths) as written."""
    if type_node is None:
        return None
    if type_node.type == "generic_type":
        type_node = type_node.child_by_field_name("type") or type_node
    return node_text(type_node)


def _container(function: Node) -> Node | None:
    """The impl or trait that `function` is a direct member of."""
    parent = function.parent
    if parent is not None and parent.type == "declaration_list" and parent.parent is not None:
        if parent.parent.type in ("impl_item", "trait_item"):
            return parent.parent
    return None


def _impl_and_trait(container: Node | None) -> tuple[str | None, str | None]:
    if container is None:
        return None, None
    if container.type == "trait_item":
        return None, _type_name(container.child_by_field_name("name"))
    return _type_name(container.child_by_field_name("type")), _type_name(container.child_by_field_name("trait"))


def _ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _module_path(function: Node) -> list[str]:
    modules = [a for a in _ancestors(function) if a.type == "mod_item"]
    return [node_text(m.child_by_field_name("name")) for m in reversed(modules)]


def _is_test_item(item: Node) -> bool:
    """A `#[cfg(test)]` module or a fn carrying a test attribute."""
    attributes = [n for n in leading_items(item) if n.type == "attribute_item"]
    if item.type == "mod_item":
        return any(_is_cfg_test(a) for a in attributes)
    return item.type == "function_item" and any(_is_test_attribute(a) for a in attributes)


def _complexity(body: Node) -> int:
    """Cyclomatic complexity: 1, plus 1 per `if` (so per `else if`), `while`, `for`, `loop`, `?`, `&&` and `||`,
    plus each match arm beyond a match's first. Code inside macro arguments and nested fns is not counted."""
    complexity = 1
    for node in _own_code(body):
        if node.type in _BRANCHES:
            complexity += 1
        elif node.type == "match_block":
            complexity += max(0, sum(1 for c in node.named_children if c.type == "match_arm") - 1)
        elif node.type in ("&&", "||") and node.parent is not None:
            complexity += node.parent.type in ("binary_expression", "let_chain")
    return complexity


def _modifiers(function: Node) -> set[str]:
    modifiers = next((c for c in function.children if c.type == "function_modifiers"), None)
    return {c.type for c in modifiers.children} if modifiers is not None else set()


def _rust_function(function: Node, body: Node, data: bytes) -> RustFunction:
    leading = leading_items(function)
    start = leading[0] if leading else function
    impl_type, trait_name = _impl_and_trait(_container(function))
    name = node_text(function.child_by_field_name("name"))
    owner = impl_type or trait_name
    parameters = function.child_by_field_name("parameters")
    return_type = function.child_by_field_name("return_type")
    generics = function.child_by_field_name("type_parameters")
    docs = [_doc_text(n) for n in leading if is_doc_comment(n)]
    signature_nodes = [c for c in function.children if c.end_byte <= body.start_byte]
    macro_names = tuple(sorted({_last_segment(call.name) for call in macro_calls(body)}))
    modifiers = _modifiers(function)
    return RustFunction(
        name=name,
        qualified_name="::".join([*_module_path(function), *([owner] if owner else []), name]),
        signature=data[function.start_byte:body.start_byte].decode("utf-8", errors="replace").strip(),
        doc_comment="\n".join(docs) if docs else None,
        attributes=tuple(node_text(n) for n in leading if n.type == "attribute_item"),
        params=tuple(
            node_text(p) for p in (parameters.named_children if parameters else [])
            if p.type not in _COMMENTS and p.type != "attribute_item"
        ),
        return_type=node_text(return_type) if return_type is not None else None,
        generics=node_text(generics) if generics is not None else None,
        has_generics=generics is not None,
        has_lifetimes=any(n.type == "lifetime" for s in signature_nodes for n in walk(s)),
        is_async="async" in modifiers,
        is_unsafe="unsafe" in modifiers or any(n.type == "unsafe_block" for n in _own_code(body)),
        is_const="const" in modifiers,
        is_pub=any(c.type == "visibility_modifier" for c in function.children),
        has_macros=bool(macro_names),
        macro_names=macro_names,
        complexity=_complexity(body),
        impl_type=impl_type,
        trait_name=trait_name,
        start_byte=start.start_byte,
        end_byte=function.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
        start_line=start.start_point.row + 1,
        end_line=function.end_point.row + 1,
        in_test_code=_is_test_item(function) or any(_is_test_item(a) for a in _ancestors(function)),
        is_test=_is_test_item(function),
    )


def functions(source: str) -> list[RustFunction]:
    """Every fn with a body (free fns, impl and trait-default methods, fns in inline modules), in source order."""
    data = source.encode("utf-8")
    found = []
    for node in walk(parse_rust(data).root_node):
        body = node.child_by_field_name("body") if node.type == "function_item" else None
        if body is not None:
            found.append(_rust_function(node, body, data))
    return found


def function_at(source: str, byte_offset: int) -> RustFunction | None:
    """The innermost fn whose item (attributes and doc comment included) contains `byte_offset`.

    Climbs from the node at the offset instead of analysing every fn: the editor asks on every cursor move.
    """
    data = source.encode("utf-8")
    node: Node | None = parse_rust(data).root_node.descendant_for_byte_range(byte_offset, byte_offset)
    while node is not None:
        if node.type == "function_item" and node.child_by_field_name("body") is not None:
            return _rust_function(node, node.child_by_field_name("body"), data)
        if node.type == "attribute_item" or node.type in _COMMENTS:
            item = node.next_named_sibling
            while item is not None and (item.type == "attribute_item" or item.type in _COMMENTS):
                item = item.next_named_sibling
            if item is not None and item.type == "function_item" and item.child_by_field_name("body") is not None \
                    and any(lead.id == node.id for lead in leading_items(item)):
                return _rust_function(item, item.child_by_field_name("body"), data)
        node = node.parent
    return None


# --- shortening code -----------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)  # the corpus puts the same context items into many pairs of a crate
def without_comments(text: str) -> str:
    """`text` without its comments, doc comments included, and without the lines only they filled; unchanged when
    it does not parse (a recovering parser can read `//` in a string as a comment). Context items' docs are what
    a prompt can best spare."""
    return comments_removed(text)[0]


def comments_removed(text: str, keep: tuple[int, int] | None = None) -> tuple[str, tuple[int, int] | None]:
    """`without_comments`, sparing the comments within the byte span `keep`; with where that span lies in the
    result."""
    data = text.encode()
    tree = parse_rust(data)
    if tree.root_node.has_error:
        return text, keep
    kept, position, shift = [], 0, 0
    for node in walk(tree.root_node, lambda n: n.type not in _COMMENTS):
        if node.type not in _COMMENTS or (keep and keep[0] <= node.start_byte and node.end_byte <= keep[1]):
            continue
        start, end = node.start_byte, node.end_byte
        while end > start and data[end - 1] in b"\r\n":
            end -= 1  # a line comment's node may hold its line end
        lead = start
        while lead > position and data[lead - 1] in b" \t":
            lead -= 1
        while end < len(data) and data[end] in b" \t":
            end += 1
        first_on_line = lead == 0 or data[lead - 1] == 10
        last_on_line = end == len(data) or data[end:end + 1] == b"\n" or data[end:end + 2] == b"\r\n"
        if first_on_line and last_on_line:
            start = lead  # the whole line goes, its line end too
            end = data.find(b"\n", end) + 1 or len(data)
        elif not first_on_line:
            start = lead  # else code follows on the line and keeps its indentation
        kept.append(data[position:start])
        if not first_on_line and not last_on_line:
            kept.append(b" ")  # `a/* x */b` must not become `ab`
        if keep and end <= keep[0]:
            shift += end - start - (not first_on_line and not last_on_line)
        position = end
    kept.append(data[position:])
    return b"".join(kept).decode(), (keep[0] - shift, keep[1] - shift) if keep else None


# --- test modules -------------------------------------------------------------------------------------------


def _line_indent(data: bytes, byte_offset: int) -> str:
    line_start = data.rfind(b"\n", 0, byte_offset) + 1
    line = data[line_start:byte_offset].decode("utf-8", errors="replace")
    return line[: len(line) - len(line.lstrip())]


def _item_indent(module: Node, items: Node, data: bytes) -> str:
    """The indentation of the module's first item that starts a line; one level (4 spaces) deeper than the
    module when it has none."""
    for item in items.named_children:
        if not data[data.rfind(b"\n", 0, item.start_byte) + 1:item.start_byte].strip():
            return _line_indent(data, item.start_byte)
    return _line_indent(data, module.start_byte) + "    "


def find_test_module(source: str) -> TestModule | None:
    """The first top-level `#[cfg(test)]` module written inline (`mod tests;` has no body to extend)."""
    data = source.encode("utf-8")
    for module in parse_rust(data).root_node.named_children:
        items = module.child_by_field_name("body") if module.type == "mod_item" else None
        if items is None or not _is_test_item(module):
            continue
        leading = leading_items(module)
        return TestModule(
            name=node_text(module.child_by_field_name("name")),
            start_byte=(leading[0] if leading else module).start_byte,
            end_byte=module.end_byte,
            body_start_byte=items.start_byte + 1,
            body_end_byte=items.end_byte - 1,
            indent=_item_indent(module, items, data),
        )
    return None


def _string_continuation_rows(code: str) -> set[int]:
    """0-based rows that start inside a multi-line string literal: their leading whitespace is string content."""
    rows: set[int] = set()
    if '"' not in code:
        return rows
    spans_rows = lambda node: node.end_point.row > node.start_point.row  # only those can hold such a string
    for node in walk(parse_rust(code).root_node, spans_rows):
        if node.type in _STRINGS:
            rows.update(range(node.start_point.row + 1, node.end_point.row + 1))
    return rows


@lru_cache(maxsize=8192)  # mining renders the same impl members for many focal fns of a crate
def reindent(code: str, indent: str) -> str:
    """`code` dedented to its least indented line, then indented by `indent`, keeping relative indentation.
    Continuation lines of multi-line strings are left as they are; blank lines become empty; outer blank lines
    are dropped."""
    lines = code.split("\n")
    frozen = _string_continuation_rows(code)
    movable = [i for i, line in enumerate(lines) if i not in frozen and line.strip()]
    common = os.path.commonprefix([lines[i][: len(lines[i]) - len(lines[i].lstrip())] for i in movable])
    for i, line in enumerate(lines):
        if i in frozen:
            continue
        lines[i] = indent + line[len(common):] if line.strip() else ""
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def dedented_item(data: bytes, start: int, end: int) -> str:
    """The text of `data[start:end]`, an item (with its attributes), as if it stood at column 0: a member of an impl or
    a test module loses the indentation its first line had, the rest of its lines stay aligned with it."""
    text = data[start:end].decode("utf-8", errors="replace")
    lead = data[data.rfind(b"\n", 0, start) + 1:start].decode("utf-8", errors="replace")
    return text if lead.strip() else reindent(lead + text, "")


def insert_tests(source: str, test_items: str) -> str:
    """`source` with `test_items` appended to its `#[cfg(test)]` module, or to a new `mod tests` at the end."""
    module = find_test_module(source)
    if module is None:
        head = source.rstrip("\n")
        return (head + "\n\n" if head else "") + _NEW_TEST_MODULE.format(items=reindent(test_items, "    "))
    data = source.encode("utf-8")
    head = data[:module.body_end_byte].rstrip()
    separator = b"\n" if head.endswith(b"{") else b"\n\n"
    items = reindent(test_items, module.indent).encode("utf-8")
    closing_indent = _line_indent(data, module.start_byte).encode("utf-8")
    return (head + separator + items + b"\n" + closing_indent + data[module.body_end_byte:]).decode("utf-8")


def is_test_module(code: str) -> bool:
    """Whether `code` is exactly one item: an inline `mod` carrying `#[cfg(test)]`."""
    root = parse_rust(code.strip()).root_node
    items = [n for n in root.named_children if n.type not in _COMMENTS]
    if root.has_error or not items or items[-1].type != "mod_item":
        return False
    module = items[-1]
    attributes = [n for n in leading_items(module) if n.type == "attribute_item"]
    return (
        module.child_by_field_name("body") is not None
        and len(items) == len(attributes) + 1
        and any(_is_cfg_test(a) for a in attributes)
    )


def syntax_errors(source: str) -> list[tuple[int, int]]:
    """(line, column), both 1-based and the column in bytes, of each ERROR or MISSING node tree-sitter reports.

    tree-sitter flags some valid Rust (e.g. `try!`), so an error here is a hint; rustc has the last word.
    """
    root = parse_rust(source).root_node
    if not root.has_error:
        return []
    broken = [n for n in walk(root, lambda n: n.has_error and not n.is_error) if n.is_error or n.is_missing]
    return sorted({(n.start_point.row + 1, n.start_point.column + 1) for n in broken})


# --- tests written inside macros ----------------------------------------------------------------------------


def _is_delimited(node: Node, opening: str) -> bool:
    return node.type == "token_tree" and bool(node.children) and node.children[0].type == opening


def _fns_in_tokens(tokens: list[Node], macro_name: str, data: bytes) -> Iterator[MacroTest]:
    """`#[attr]* fn NAME (...) [-> T] {...}` sequences; inner attributes (`#![proptest_config(..)]`) are skipped."""
    attributes_start: int | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1:i + 4]
        if token.type == "#" and following and following[0].type == "!":
            i += 3
        elif token.type == "#" and following and following[0].type == "token_tree":
            attributes_start = token.start_byte if attributes_start is None else attributes_start
            i += 2
        elif (token.type == "fn" and len(following) == 3 and following[0].type == "identifier"
              and _is_delimited(following[1], "(")):
            body_at = next((j for j in range(i + 3, len(tokens)) if _is_delimited(tokens[j], "{")), None)
            if body_at is None:
                return
            yield _macro_test(tokens[i:body_at + 1], macro_name, attributes_start, data)
            attributes_start = None
            i = body_at + 1
        else:
            attributes_start = attributes_start if token.type in _COMMENTS else None
            i += 1


def _macro_test(tokens: list[Node], macro_name: str, attributes_start: int | None, data: bytes) -> MacroTest:
    """A MacroTest from the tokens `fn NAME (...) ... {...}`."""
    name, params, body = tokens[1], tokens[2], tokens[-1]
    between = data[params.end_byte:body.start_byte].decode("utf-8", errors="replace").strip()
    return MacroTest(
        name=node_text(name),
        macro_name=macro_name,
        params=data[params.start_byte + 1:params.end_byte - 1].decode("utf-8", errors="replace").strip(),
        return_type=between.removeprefix("->").strip() or None,
        body=data[body.start_byte + 1:body.end_byte - 1].decode("utf-8", errors="replace"),
        start_byte=tokens[0].start_byte if attributes_start is None else attributes_start,
        end_byte=body.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
    )


def macro_test_functions(source: str) -> list[MacroTest]:
    """The fns inside `proptest! { }` and `quickcheck! { }` blocks, in source order."""
    data = source.encode("utf-8")
    found = []
    for node in walk(parse_rust(data).root_node):
        macro = node.child_by_field_name("macro") if node.type == "macro_invocation" else None
        macro_name = _last_segment(node_text(macro)) if macro is not None else ""
        block = node.named_children[-1] if macro_name in _TEST_MACROS else None
        if block is not None and _is_delimited(block, "{"):
            found.extend(_fns_in_tokens(block.children[1:-1], macro_name, data))
    return found
