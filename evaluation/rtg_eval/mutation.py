"""Mutants of the code under test, after cargo-mutants' operator catalogue, and their schemata.

A mutant is one small, plausible bug. Each can be applied alone (the rebuild strategy: one build per mutant) or all
of a sample's mutants can be compiled into one binary in which `crate::__rtg_mutant_active(ID)` picks the mutant at
run time (mutant schemata). Operand text is copied into each branch of the schema, never hoisted into a `let`, so
evaluation order, borrowing and short-circuiting stay exactly those of the mutant applied alone.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from tree_sitter import Node

from rtg_core.rust_source import node_text, parse_rust

MUTANT_ENV = "RTG_MUTANT"
ACTIVE_FN = "crate::__rtg_mutant_active"

# Defined once at the root of a schemata crate.
MUTANT_SWITCH_RS = f"""
#[doc(hidden)]
#[inline(never)]
pub fn __rtg_mutant_active(id: u32) -> bool {{
    static ACTIVE: ::std::sync::OnceLock<u32> = ::std::sync::OnceLock::new();
    *ACTIVE.get_or_init(|| ::std::env::var("{MUTANT_ENV}").ok().and_then(|v| v.parse().ok()).unwrap_or(0)) == id
}}
"""

BINARY_SWAPS = {
    "+": ("-", "*"),
    "-": ("+", "/"),
    "*": ("+", "/"),
    "/": ("%", "*"),
    "%": ("/", "+"),
    "<": ("==", ">"),
    ">": ("==", "<"),
    "<=": (">",),
    ">=": ("<",),
    "==": ("!=",),
    "!=": ("==",),
    "&&": ("||",),
    "||": ("&&",),
    "&": ("|", "^"),
    "|": ("&", "^"),
    "^": ("&", "|"),
    "<<": (">>",),
    ">>": ("<<",),
}
COMPOUND_SWAPS = {op + "=": tuple(s + "=" for s in swaps) for op, swaps in BINARY_SWAPS.items()
                  if op in ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")}

# Mutating inside these would need a const context, where the run-time switch cannot go.
_CONST_CONTEXTS = {"const_item", "static_item", "const_block", "array_type", "attribute_item", "enum_variant"}
_INTEGERS = {"u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize"}
_COLLECTIONS = {"HashMap", "HashSet", "BTreeMap", "BTreeSet", "VecDeque", "BinaryHeap"}


@dataclass(frozen=True)
class Mutant:
    """One mutation: replace code[start:end] with `replacement`."""

    function: str
    operator: str
    line: int
    start: int
    end: int
    replacement: str

    def apply(self, code: str) -> str:
        data = code.encode()
        return (data[: self.start] + self.replacement.encode() + data[self.end :]).decode()

    def describe(self) -> str:
        return f"{self.function} line {self.line}: {self.operator}"


@dataclass
class _Wrap:
    """An expression site: `(if m(a) { ALT_a } else ... else { ORIG })`, holes rendered once, pasted per branch."""

    start: int
    end: int
    holes: tuple[tuple[int, int], ...]
    original: tuple[str, ...]  # len(holes) + 1 segments around the holes
    alternatives: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # (mutant index, segments)


@dataclass
class _Insert:
    """Text inserted at `at` for mutant `index` (function-body returns and match-arm guards)."""

    at: int
    text: str  # with {m} standing for the switch call
    index: int
    closing: tuple[int, str] | None = None  # text to insert later, for a guard that wraps the old condition


@dataclass(frozen=True)
class MutantSet:
    code: str
    mutants: tuple[Mutant, ...]
    wraps: tuple[_Wrap, ...]
    inserts: tuple[_Insert, ...]


def generate_mutants(code: str) -> MutantSet:
    """All mutants of the non-test fns in `code`, in source order."""
    data = code.encode()
    tree = parse_rust(data)
    builder = _Builder(data)
    builder.visit(tree.root_node, function=None, module_path=())
    return MutantSet(code, tuple(builder.mutants), tuple(builder.wraps), tuple(builder.inserts))


class _Builder:
    def __init__(self, data: bytes):
        self.data = data
        self.mutants: list[Mutant] = []
        self.wraps: list[_Wrap] = []
        self.inserts: list[_Insert] = []

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode()

    def add(self, function: str, operator: str, node_start: int, start: int, end: int, replacement: str) -> int:
        line = self.data[:node_start].count(b"\n") + 1
        self.mutants.append(Mutant(function, operator, line, start, end, replacement))
        return len(self.mutants) - 1

    def visit(self, node: Node, function: str | None, module_path: tuple[str, ...]) -> None:
        kind = node.type
        if kind in _CONST_CONTEXTS or _is_test_item(node):
            return
        if kind == "mod_item":
            name = node.child_by_field_name("name")
            module_path = module_path + (node_text(name),) if name else module_path
        if kind == "function_item":
            if _is_const_fn(node) or _is_test_item(node):
                return
            function = "::".join(module_path + (_impl_prefix(node) + node_text(node.child_by_field_name("name")),))
            body = node.child_by_field_name("body")
            if body is not None:
                self.body_replacements(node, body, function)
        elif function is not None:
            self.expression_site(node, function)
        for child in node.children:
            self.visit(child, function, module_path)

    def body_replacements(self, fn: Node, body: Node, function: str) -> None:
        values = return_values(fn.child_by_field_name("return_type"), self.data)
        for value in values:
            index = self.add(
                function, f"replace {function.split('::')[-1]} body with {value}", fn.start_byte,
                body.start_byte, body.end_byte, "{ " + value + " }",
            )
            ret = "return;" if value == "()" else f"return {value};"
            self.inserts.append(_Insert(body.start_byte + 1, f" if {{m}} {{ {ret} }}", index))

    def expression_site(self, node: Node, function: str) -> None:
        kind = node.type
        if kind in ("binary_expression", "compound_assignment_expr"):
            op = node.child_by_field_name("operator")
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            table = BINARY_SWAPS if kind == "binary_expression" else COMPOUND_SWAPS
            old = node_text(op) if op else ""
            if old not in table or left is None or right is None:
                return
            holes = ((left.start_byte, left.end_byte), (right.start_byte, right.end_byte))
            before, middle, after = (self.text(node.start_byte, left.start_byte),
                                     self.text(left.end_byte, right.start_byte),
                                     self.text(right.end_byte, node.end_byte))
            wrap = _Wrap(node.start_byte, node.end_byte, holes, (before, middle, after))
            # A swapped operator binds differently (`a + b - c` -> `a + b / c`): keep the operands grouped.
            group = ("(", ")") if kind == "binary_expression" else ("", "")
            for new in table[old]:
                segments = (before + group[0], group[1] + middle.replace(old, new, 1) + group[0], group[1] + after)
                replacement = segments[0] + node_text(left) + segments[1] + node_text(right) + segments[2]
                index = self.add(function, f"replace {old} with {new}", node.start_byte,
                                 node.start_byte, node.end_byte, replacement)
                wrap.alternatives.append((index, segments))
            self.wraps.append(wrap)
        elif kind == "unary_expression" and node.child_count == 2 and node.children[0].type in ("!", "-"):
            op, operand = node.children
            wrap = _Wrap(node.start_byte, node.end_byte, ((operand.start_byte, operand.end_byte),),
                         (self.text(node.start_byte, operand.start_byte), ""))
            index = self.add(function, f"delete {op.type}", node.start_byte, node.start_byte, node.end_byte,
                             "(" + node_text(operand) + ")")
            wrap.alternatives.append((index, ("(", ")")))
            self.wraps.append(wrap)
        elif kind == "match_block":
            self.match_arms(node, function)

    def match_arms(self, block: Node, function: str) -> None:
        arms = [c for c in block.named_children if c.type == "match_arm"]
        patterns = [arm.child_by_field_name("pattern") for arm in arms]
        # Deleting an arm keeps the match exhaustive only where a `_` arm catches what it matched.
        deletable = any(p is not None and _pattern_text(p) == "_" for p in patterns)
        for arm, pattern in zip(arms, patterns):
            if pattern is None:
                continue
            guard = pattern.child_by_field_name("condition")
            if deletable and _pattern_text(pattern) != "_":
                index = self.add(function, "delete match arm", arm.start_byte, arm.start_byte, arm.end_byte, "")
                if guard is None:
                    self.inserts.append(_Insert(pattern.end_byte, " if !{m}", index))
                else:
                    self.inserts.append(_Insert(guard.start_byte, "!{m} && (", index, (guard.end_byte, ")")))
            if guard is not None:
                wrap = _Wrap(guard.start_byte, guard.end_byte, ((guard.start_byte, guard.end_byte),), ("", ""))
                for value in ("true", "false"):
                    index = self.add(function, f"replace match guard with {value}", guard.start_byte,
                                     guard.start_byte, guard.end_byte, value)
                    wrap.alternatives.append((index, (value,)))
                self.wraps.append(wrap)


def _pattern_text(pattern: Node) -> str:
    first = pattern.named_children[0] if pattern.named_children else pattern
    return node_text(pattern).strip() if first is pattern else node_text(first).strip()


def _is_const_fn(fn: Node) -> bool:
    modifiers = next((c for c in fn.children if c.type == "function_modifiers"), None)
    return modifiers is not None and "const" in node_text(modifiers).split()


def _is_test_item(node: Node) -> bool:
    """Test code is never mutated: #[test]-like fns and #[cfg(test)] modules."""
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in ("attribute_item", "line_comment", "block_comment"):
        if sibling.type == "attribute_item":
            attr = node_text(sibling).replace(" ", "")
            if attr in ("#[test]",) or attr.endswith("::test]") or attr.startswith("#[tokio::test"):
                return True
            if attr.startswith("#[cfg(") and re.search(r"\btest\b", attr) and "not(test" not in attr:
                return True
        sibling = sibling.prev_named_sibling
    return False


def _impl_prefix(fn: Node) -> str:
    parent = fn.parent
    if parent is not None and parent.type == "declaration_list" and parent.parent is not None:
        owner = parent.parent
        if owner.type == "impl_item":
            ty = owner.child_by_field_name("type")
            return (node_text(ty).split("<")[0] + "::") if ty is not None else ""
        if owner.type == "trait_item":
            name = owner.child_by_field_name("name")
            return node_text(name) + "::" if name is not None else ""
    return ""


def return_values(return_type: Node | None, data: bytes, depth: int = 0) -> list[str]:
    """Replacement values for a fn returning `return_type`, after cargo-mutants' table."""
    if return_type is None:
        return ["()"]
    kind = return_type.type
    text = node_text(return_type).strip()
    if kind == "unit_type" or text == "()":
        return ["()"]
    if kind == "primitive_type":
        if text == "bool":
            return ["true", "false"]
        if text in _INTEGERS:
            return ["0", "1"] + (["-1"] if text.startswith("i") else [])
        if text in ("f32", "f64"):
            return ["0.0", "1.0", "-1.0"]
        if text == "char":
            return ["'\\0'", "'A'"]
        if text == "str":
            return []
    if kind == "never_type":
        return []
    if kind == "reference_type":
        inner = return_type.child_by_field_name("type")
        inner_text = node_text(inner).strip() if inner is not None else ""
        if inner_text == "str":
            return ['""', '"xyzzy"']
        if inner is not None and inner.type == "array_type" and inner.child_by_field_name("length") is None:
            element = inner.child_by_field_name("element")
            return ["Vec::leak(Vec::new())"] + [f"Vec::leak(vec![{v}])" for v in _inner_values(element, data, depth)]
        return ["Default::default()"]
    if kind == "tuple_type":
        parts = [return_values(c, data, depth + 1) for c in return_type.named_children]
        if not all(parts):
            return []
        return ["(" + ", ".join(combo) + ")" for combo in itertools.islice(itertools.product(*parts), 6)]
    if kind == "array_type":
        element = return_type.child_by_field_name("element")
        length = return_type.child_by_field_name("length")
        if length is not None:
            return [f"[{v}; {node_text(length)}]" for v in _inner_values(element, data, depth)]
    if kind == "abstract_type":
        if "Iterator" in text:
            item = _iterator_item(return_type)
            return ["::std::iter::empty()"] + [f"::std::iter::once({v})" for v in _inner_values(item, data, depth)]
        return []
    if kind in ("generic_type", "type_identifier", "scoped_type_identifier"):
        name_node = return_type.child_by_field_name("type") if kind == "generic_type" else return_type
        name = node_text(name_node).split("::")[-1] if name_node is not None else text
        args = _type_arguments(return_type)
        if name == "String":
            return ["String::new()", '"xyzzy".into()']
        if name == "Option" and args:
            return ["None"] + [f"Some({v})" for v in _inner_values(args[0], data, depth)]
        if name == "Result" and args:
            return [f"Ok({v})" for v in _inner_values(args[0], data, depth)]
        if name == "Vec" and args:
            return ["vec![]"] + [f"vec![{v}]" for v in _inner_values(args[0], data, depth)]
        if name in ("Box", "Rc", "Arc") and args:
            return [f"{name}::new({v})" for v in _inner_values(args[0], data, depth)]
        if name in _COLLECTIONS:
            return [f"{name}::new()"]
    return ["Default::default()"]


def _inner_values(node: Node | None, data: bytes, depth: int) -> list[str]:
    if node is None or depth >= 2:
        return ["Default::default()"]
    return return_values(node, data, depth + 1)


def _type_arguments(node: Node) -> list[Node]:
    args = node.child_by_field_name("type_arguments")
    if args is None:
        return []
    return [c for c in args.named_children if c.type not in ("lifetime", "type_binding")]


def _iterator_item(node: Node) -> Node | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "type_binding":
            name = current.child_by_field_name("name")
            if name is not None and node_text(name) == "Item":
                return current.child_by_field_name("type")
        stack.extend(current.named_children)
    return None


# ---------------------------------------------------------------------------------------------- schemata rendering


@dataclass(frozen=True)
class Schema:
    """The code with every chosen mutant compiled in, and where each mutant's own text landed (byte ranges)."""

    code: str
    mutant_ranges: dict[int, list[tuple[int, int]]]  # mutant index -> output byte ranges owned by that mutant
    site_ranges: list[tuple[int, int, tuple[int, ...]]]  # output range of a whole site -> its mutant indices


def render_schema(mutants: MutantSet, chosen: set[int], ids: dict[int, int], base_offset: int = 0) -> Schema:
    """Render `mutants.code` with the `chosen` mutants (indices) switched by their run-time `ids`.

    `base_offset` is the byte offset at which the code will sit in its file, so ranges match rustc's spans.
    """
    data = mutants.code.encode()
    wraps = [w for w in mutants.wraps if any(i in chosen for i, _ in w.alternatives)]
    inserts = [ins for ins in mutants.inserts if ins.index in chosen]
    renderer = _Renderer(data, wraps, inserts, ids)
    text = renderer.render(0, len(data), base_offset)
    return Schema(text.decode(), renderer.mutant_ranges, renderer.site_ranges)


@dataclass
class _WrapNode:
    wrap: _Wrap
    children: list["_WrapNode"] = field(default_factory=list)


def _nest(wraps: list[_Wrap]) -> list[_WrapNode]:
    """Wraps as a tree by containment; of two equal ranges, the one created first is the outer."""
    roots: list[_WrapNode] = []
    stack: list[_WrapNode] = []
    for wrap in sorted(wraps, key=lambda w: (w.start, -w.end)):  # stable: creation order breaks ties
        node = _WrapNode(wrap)
        while stack and not (stack[-1].wrap.start <= wrap.start and wrap.end <= stack[-1].wrap.end):
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return roots


class _Renderer:
    def __init__(self, data: bytes, wraps: list[_Wrap], inserts: list[_Insert], ids: dict[int, int]):
        self.data = data
        self.roots = _nest(wraps)
        self.ids = ids
        self.points: dict[int, list[tuple[bytes, int | None]]] = {}
        for ins in inserts:
            text = ins.text.replace("{m}", f"{ACTIVE_FN}({ids[ins.index]})")
            self.points.setdefault(ins.at, []).append((text.encode(), ins.index))
            if ins.closing is not None:
                self.points.setdefault(ins.closing[0], []).append((ins.closing[1].encode(), None))
        self.mutant_ranges: dict[int, list[tuple[int, int]]] = {}
        self.site_ranges: list[tuple[int, int, tuple[int, ...]]] = []

    def render(self, start: int, end: int, offset: int) -> bytes:
        return self._range(self.roots, start, end, offset, skip_start=False, include_end=True)

    def _range(self, nodes: list[_WrapNode], start: int, end: int, offset: int, *, skip_start: bool,
               include_end: bool) -> bytes:
        """data[start:end] with the wraps in `nodes` inside it rendered, as it will sit at byte `offset`."""
        out = bytearray()
        pos = start
        for node in (n for n in nodes if start <= n.wrap.start and n.wrap.end <= end):
            out += self._plain(pos, node.wrap.start, offset + len(out), skip=skip_start and pos == start,
                               include_end=True)
            out += self._wrap(node, offset + len(out))
            pos = node.wrap.end
        out += self._plain(pos, end, offset + len(out), skip=skip_start and pos == start, include_end=include_end)
        return bytes(out)

    def _plain(self, start: int, end: int, offset: int, *, skip: bool, include_end: bool) -> bytes:
        """Source bytes with their insertion points; `skip` leaves out those at `start` (emitted by a parent)."""
        out = bytearray()
        for at in sorted(p for p in self.points if start <= p <= end):
            if (at == start and skip) or (at == end and not include_end):
                continue
            out += self.data[start:at]
            start = at
            for text, index in self.points[at]:
                if index is not None:
                    self.mutant_ranges.setdefault(index, []).append((offset + len(out), offset + len(out) + len(text)))
                out += text
        out += self.data[start:end]
        return bytes(out)

    def _wrap(self, node: _WrapNode, offset: int) -> bytes:
        wrap = node.wrap
        chosen = [(i, segs) for i, segs in wrap.alternatives if i in self.ids]
        out = bytearray(b"(")
        for index, segments in chosen:
            branch_start = offset + len(out)
            out += f"if {ACTIVE_FN}({self.ids[index]}) {{ ".encode()
            out += self._join(node, segments, offset + len(out))
            out += b" } else "
            self.mutant_ranges.setdefault(index, []).append((branch_start, offset + len(out)))
        out += b"{ "
        out += self._join(node, wrap.original, offset + len(out))
        out += b" })"
        self.site_ranges.append((offset, offset + len(out), tuple(i for i, _ in chosen)))
        return bytes(out)

    def _join(self, node: _WrapNode, segments: tuple[str, ...], offset: int) -> bytes:
        wrap = node.wrap
        out = bytearray()
        for k, segment in enumerate(segments):
            out += segment.encode()
            if k < len(wrap.holes) and len(segments) > 1:
                hole_start, hole_end = wrap.holes[k]
                out += self._range(node.children, hole_start, hole_end, offset + len(out),
                                   skip_start=hole_start == wrap.start, include_end=False)
        return bytes(out)
