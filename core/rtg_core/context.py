"""What the prompt shows besides the function: what a test needs to call it.

The corpus's `input` (rtg_corpus.assemble) and the server's prompt share one shape, so the model is asked at
serving time what it learnt from: the `use`s the code names, the types and helper fns it uses, and for a method its
type's definition and an `impl` block holding the constructors and other public methods before the method itself.

    function_context(source, function) -> the prompt's code, from the function's own file
    render_impl(header, members) -> `impl … { member; member }`, members indented (the corpus renders with it too)
    shorter_views(code, function_code) -> the same code shorter, for a training sample over the length limit
"""
from __future__ import annotations

from tree_sitter import Node

from rtg_core.rust_source import (RustFunction, comments_removed, dedented_item, leading_items, node_text, parse_rust,
                                  reindent, walk)

CONTEXT_BUDGET_CHARS = 6000  # past this, other members of the impl keep their signatures only
ELIDED_BODY = "{ /* … */ }"
_TYPES = ("struct_item", "enum_item", "union_item", "type_item", "trait_item")
_NAMED = _TYPES + ("function_item", "const_item", "static_item")


def render_impl(header: str, members: list[str]) -> str:
    """An impl block: its header (as written up to the `{`), its members one blank line apart, indented."""
    body = "\n\n".join(reindent(m, "    ") for m in members)
    return f"{header.strip()} {{\n{body}\n}}"


def function_context(source: str, function: RustFunction, budget: int = CONTEXT_BUDGET_CHARS) -> str:
    """`function` with the items of its file a test needs to call it, in the corpus's order: uses, types and
    helpers, then the function (inside its impl block, for a method)."""
    data = source.encode("utf-8")
    root = parse_rust(data).root_node
    focal = _focal_node(root, function)
    focal_text = dedented_item(data, function.start_byte, function.end_byte)
    if focal is None:
        return focal_text
    impl = focal.parent.parent if focal.parent is not None and focal.parent.type == "declaration_list" else None
    impl = impl if impl is not None and impl.type == "impl_item" else None
    named = _names(focal)
    if impl is not None:
        named |= _names(impl.child_by_field_name("type"))
    items = _top_level(root, focal, impl)
    parts: list[str] = []
    wanted = {name for name in named if name in items}
    done: set[str] = set()
    while wanted - done:  # the types and helpers the function names, and what those name in turn
        name = sorted(wanted - done)[0]
        done.add(name)
        for node in items[name]:
            wanted |= {n for n in _names(node) if n in items}
    for node in _in_order(items, done):
        parts.append(_item_text(node, data))
    if impl is not None:
        members = _impl_members(impl, focal, data, budget - sum(map(len, parts)) - len(focal_text))
        header = data[_start(impl):impl.child_by_field_name("body").start_byte].decode("utf-8", errors="replace")
        parts.append(render_impl(header, members + [focal_text]))
    else:
        parts.append(focal_text.strip("\n"))
    text = "\n\n".join(part.strip("\n") for part in parts)
    uses = [_item_text(node, data) for node in root.named_children
            if node.type == "use_declaration" and _names(node) & _words(text)]
    return "\n".join(uses) + ("\n\n" if uses else "") + text + "\n"


def _focal_node(root: Node, function: RustFunction) -> Node | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "function_item" and node.end_byte == function.end_byte:
            return node
        stack.extend(node.named_children)
    return None


def _names(node: Node | None) -> set[str]:
    """Every identifier and type name written inside `node`."""
    if node is None:
        return set()
    found, stack = set(), [node]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "type_identifier", "field_identifier"):
            found.add(node_text(current))
        stack.extend(current.children)
    return found


def _words(text: str) -> set[str]:
    return {w for w in "".join(c if c.isalnum() or c == "_" else " " for c in text).split()}


def _start(node: Node) -> int:
    leading = leading_items(node)
    return leading[0].start_byte if leading else node.start_byte


def _item_text(node: Node, data: bytes) -> str:
    return dedented_item(data, _start(node), node.end_byte)


def _top_level(root: Node, focal: Node, impl: Node | None) -> dict[str, list[Node]]:
    """The file's named top-level items that are not test code, with their trait-free impls, by name."""
    items: dict[str, list[Node]] = {}
    for node in root.named_children:
        if node.type == "mod_item" or node in (focal, impl):
            continue
        if node.type in _NAMED:
            name = node.child_by_field_name("name")
            if name is not None and not _is_test(node):
                items.setdefault(node_text(name), []).append(node)
    return items


def _is_test(node: Node) -> bool:
    return any(node_text(a).replace(" ", "") in ("#[test]", "#[cfg(test)]") for a in leading_items(node)
               if a.type == "attribute_item")


def _in_order(items: dict[str, list[Node]], names: set[str]) -> list[Node]:
    return sorted((node for name in names for node in items[name]), key=lambda n: n.start_byte)


def _impl_members(impl: Node, focal: Node, data: bytes, budget: int) -> list[str]:
    """The impl's other fns a test may need: constructors (no `self`) first, then public methods; whole while the
    budget allows, else their signatures with the body elided."""
    body = impl.child_by_field_name("body")
    fns = [n for n in body.named_children if n.type == "function_item" and n != focal]
    constructors = [n for n in fns if not _takes_self(n)]
    public = [n for n in fns if _takes_self(n) and any(c.type == "visibility_modifier" for c in n.children)]
    chosen = sorted(constructors + public, key=lambda n: n.start_byte)
    whole = [_item_text(n, data) for n in chosen]
    if sum(map(len, whole)) <= max(budget, 0):
        return whole
    return [dedented_item(data, _start(n), n.child_by_field_name("body").start_byte).rstrip() + " " + ELIDED_BODY
            for n in chosen]


def _takes_self(function: Node) -> bool:
    parameters = function.child_by_field_name("parameters")
    return parameters is not None and any(p.type == "self_parameter" for p in parameters.named_children)


def shorter_views(code: str, function_code: str) -> list[tuple[str, str]]:
    """`code` shortened in two steps, each view shorter than the last: the context without its comments, then also
    with the bodies of the context's fns elided (any fn's, where rtg-serve's prompt elides only an impl's other
    members past its budget). The function under test, found as the fn whose text with its doc and attributes is
    `function_code` (whitespace aside), stays whole. No views when it is not there or the code does not parse.

    Training takes the first view that fits its length limit instead of dropping the sample: the tests were
    verified against the whole code, and the names and signatures a test calls are what the views keep."""
    views: list[tuple[str, str]] = []  # (what was left out, the view)
    span = _span_of(code, function_code)
    if span is None:
        return views
    uncommented, span = comments_removed(code, span)
    if uncommented != code:
        views.append(("comments", uncommented))
    elided = _bodies_elided(uncommented, span)
    if elided != uncommented:
        views.append(("fn bodies", elided))
    return views


def _span_of(code: str, function_code: str) -> tuple[int, int] | None:
    """The byte span of the last fn in `code` that is `function_code` (whitespace aside), doc and attributes
    included."""
    data = code.encode()
    tree = parse_rust(data)
    if tree.root_node.has_error:
        return None
    wanted = function_code.split()
    found = None
    for node in walk(tree.root_node):
        if node.type == "function_item" and data[_start(node):node.end_byte].decode().split() == wanted:
            found = (_start(node), node.end_byte)
    return found


def _bodies_elided(code: str, keep: tuple[int, int]) -> str:
    data = code.encode()
    kept, position = [], 0
    outside = lambda n: n.end_byte <= keep[0] or n.start_byte >= keep[1]
    for node in walk(parse_rust(data).root_node, lambda n: n.type != "function_item"):
        body = node.child_by_field_name("body") if node.type == "function_item" and outside(node) else None
        if body is not None and body.end_byte - body.start_byte > len(ELIDED_BODY.encode()):  # else it grows
            kept += [data[position:body.start_byte], ELIDED_BODY.encode()]
            position = body.end_byte
    kept.append(data[position:])
    return b"".join(kept).decode()
