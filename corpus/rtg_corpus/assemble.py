"""A pair's `input` and `output`: the focal fn with the crate items it and its tests need, and the tests with
their helpers, both rewritten to compile as one module and its `mod tests { use super::*; ... }`.

Items come from the focal fn's file first, then from elsewhere in the crate when a name is defined once there.
Paths into the crate (`crate::a::f`, `super::T`, `mycrate::f`) become plain names, and `use` declarations of
crate items are dropped, since everything lands in one module.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from rtg_core.context import render_impl
from rtg_core.rust_source import without_comments
from rtg_corpus.extract import Focal, Item, Member, TestFn

STD_TRAITS = frozenset({
    "Debug", "Display", "Default", "Clone", "Copy", "PartialEq", "Eq", "PartialOrd", "Ord", "Hash", "From", "Into",
    "TryFrom", "FromStr", "AsRef", "AsMut", "Borrow", "Deref", "DerefMut", "Iterator", "IntoIterator",
    "DoubleEndedIterator", "ExactSizeIterator", "FromIterator", "Extend", "Index", "IndexMut", "Add", "Sub", "Mul",
    "Div", "Rem", "Neg", "Not", "BitAnd", "BitOr", "BitXor", "Shl", "Shr", "AddAssign", "SubAssign", "MulAssign",
    "DivAssign", "Error", "Drop", "Write", "Read", "Sum", "Product", "Future",
})
_LOCAL_ROOTS = frozenset({"crate", "super", "self"})


@dataclass
class CrateIndex:
    lib_name: str
    named: dict[str, list[Item]] = field(default_factory=lambda: defaultdict(list))
    impls: dict[str, list[Item]] = field(default_factory=lambda: defaultdict(list))
    uses: dict[str, list[Item]] = field(default_factory=lambda: defaultdict(list))
    test_scopes: dict[tuple[str, tuple[str, ...]], list[Item]] = field(default_factory=lambda: defaultdict(list))

    traits: set[str] = field(default_factory=set)
    impl_at: dict[tuple[str, int], Item] = field(default_factory=dict)
    members: dict[str, list[tuple[Item, Member]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, item: Item) -> None:
        if item.kind == "impl":
            self.impl_at[_key(item)] = item
        if item.kind == "trait" and not item.in_test:
            self.traits.add(item.name)
        if item.kind == "impl" and item.trait is None and not item.in_test:
            for member in item.members:
                self.members[member.name].append((item, member))
        if item.in_test:
            self.test_scopes[(item.file, item.scope)].append(item)
        elif item.kind == "impl":
            self.impls[item.name].append(item)
        elif item.kind == "use":
            self.uses[item.file].append(item)
        elif item.kind != "macro_item":
            self.named[item.name].append(item)


def _key(item: Item) -> tuple[str, int]:
    return item.file, item.start


@dataclass
class _Closure:
    items: dict[tuple[str, int], Item] = field(default_factory=dict)
    members: dict[tuple[str, int], set[str]] = field(default_factory=lambda: defaultdict(set))
    names: set[str] = field(default_factory=set)


def _resolve(name: str, index: CrateIndex, home: str, skip: tuple[str, int]) -> list[Item]:
    candidates = [i for i in index.named.get(name, []) if _key(i) != skip]
    local = [i for i in candidates if i.file == home]
    if local:
        return local[:1] if len({i.kind for i in local}) == 1 else local
    return candidates if len(candidates) == 1 else []


def _close(focal: Focal, wanted: frozenset[str], index: CrateIndex, shallow: bool = False) -> _Closure:
    """The crate items reachable from the focal fn's and the tests' names: named items, the impls of included
    types (inherent ones pruned to the members named; impls of std or crate traits whole). `shallow`: only the
    focal file's items named directly by the focal fn or the tests, and no impls but the focal fn's own, with
    the members they name."""
    closure = _Closure()
    skip = focal.key
    pending = sorted(wanted | focal.refs, reverse=True)
    types: set[str] = set()

    def add_member(impl: Item, member: Member) -> None:
        if member.name not in closure.members[_key(impl)]:
            closure.members[_key(impl)].add(member.name)
            pending.extend(sorted(member.refs))

    def add_type(name: str) -> None:
        types.add(name)
        for impl in index.impls.get(name, []):
            if impl.trait is None:
                closure.items.setdefault(_key(impl), impl)
                for member in impl.members:
                    if member.name in closure.names:
                        add_member(impl, member)
            elif (impl.trait in STD_TRAITS or impl.trait in index.traits) and _key(impl) not in closure.items:
                closure.items[_key(impl)] = impl
                pending.extend(sorted(impl.refs))

    if focal.impl_start is not None:
        impl = index.impl_at[(focal.file, focal.impl_start)]
        closure.items[_key(impl)] = impl
        closure.members[_key(impl)].add(focal.function.name)
        pending.append(impl.name)  # a method's tests need its type, which its body rarely names
        if not shallow and not _resolve(impl.name, index, focal.file, skip):
            add_type(impl.name)
    if shallow:
        own = index.impl_at[(focal.file, focal.impl_start)] if focal.impl_start is not None else None
        own_members = {m.name: m for m in own.members} if own is not None else {}
        for name in pending:  # grows by the refs of the own impl's members that are named
            if name in closure.names:
                continue
            closure.names.add(name)
            for item in _resolve(name, index, focal.file, skip):
                if item.file == focal.file and item.kind != "fn":
                    closure.items.setdefault(_key(item), item)
            if name in own_members:
                add_member(own, own_members[name])
        return closure
    while pending:
        name = pending.pop()
        if name in closure.names:
            continue
        closure.names.add(name)
        for item in _resolve(name, index, focal.file, skip):
            if _key(item) in closure.items:
                continue
            closure.items[_key(item)] = item
            pending.extend(sorted(item.refs))
            if item.kind in ("struct", "enum", "union", "type", "trait"):
                add_type(item.name)
        for impl, member in index.members.get(name, []):
            if impl.name in types:
                add_member(impl, member)
    return closure


def _render_impl(impl: Item, members: set[str]) -> str:
    chosen = [m.text for m in impl.members if m.name in members]
    return render_impl(impl.header, chosen) if chosen else ""


def expand_use(text: str) -> list[str]:
    """`use a::{b, c::{d as e, self}, f::*};` -> ["a::b", "a::c::d as e", "a::c", "a::f::*"]."""
    match = re.search(r"\buse\s+(.*?);\s*$", " ".join(text.split()), re.DOTALL)
    if match is None:
        return []
    tree = re.sub(r"\s+as\s+", "\0", match.group(1)).replace(" ", "").replace("\0", " as ")
    return _expand_tree(tree)


def _expand_tree(tree: str, prefix: str = "") -> list[str]:
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        path = tree
        if path.endswith("::self"):
            path = path[: -len("::self")]
        elif path == "self":
            path = prefix.rstrip(":")
            return [path] if path else []
        return [prefix + path] if path else []
    head, inner = tree[:brace], tree[brace + 1: tree.rfind("}")]
    parts, depth, current = [], 0, ""
    for char in inner:
        depth += char == "{"
        depth -= char == "}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [path for part in parts if part.strip() for path in _expand_tree(part, prefix + head)]


def _binding(path: str) -> str:
    if " as " in path:
        return path.rsplit(" as ", 1)[1].strip()
    return path.rsplit("::", 1)[-1]


def _wanted_uses(uses: list[Item], names: set[str], lib_name: str) -> list[str]:
    """One `use` per imported name that the code mentions (std globs kept), crate-local ones left out; the first
    import of a name wins, so merged files do not import it twice."""
    chosen: dict[str, str] = {}
    for use in uses:
        for path in expand_use(use.text):
            root = path.lstrip(":").split("::", 1)[0].split(" ")[0]
            if root in _LOCAL_ROOTS or root == lib_name or not root:
                continue
            binding = _binding(path)
            if binding == "*":
                if root in ("std", "core", "alloc"):
                    chosen.setdefault(path, path)
            elif binding in names and binding != "_":
                chosen.setdefault(binding, path)
    return [f"use {path};" for path in chosen.values()]


class TooLarge(ValueError):
    pass


def build_input(focal: Focal, focal_text: str, wanted: frozenset[str], index: CrateIndex,
                max_chars: int) -> tuple[str, str | None]:
    """(input, bare). `input`: all the crate items the code and the names its tests use (`wanted`) need, or when
    those pass `max_chars`, only the focal file's items they name directly (the pair is then rarely standalone).
    `bare`, only in that case and where it fits: all the items again, without their comments (the focal fn keeps
    its doc), for the judge to try when `input` does not build. Raises TooLarge when not even `input` fits."""
    try:
        return _build_input(focal, focal_text, wanted, index, max_chars, shallow=False, bare=False), None
    except TooLarge:
        pass
    shallow = _build_input(focal, focal_text, wanted, index, max_chars, shallow=True, bare=False)
    try:
        return shallow, _build_input(focal, focal_text, wanted, index, max_chars, shallow=False, bare=True)
    except TooLarge:
        return shallow, None


def _build_input(focal: Focal, focal_text: str, wanted: frozenset[str], index: CrateIndex, max_chars: int,
                 shallow: bool, bare: bool) -> str:
    closure = _close(focal, wanted, index, shallow)
    own_impl = (focal.file, focal.impl_start) if focal.impl_start is not None else None
    order = sorted(closure.items, key=lambda k: (k[0] != focal.file, k))
    context = without_comments if bare else (lambda text: text)
    parts = []
    for key in order:
        item = closure.items[key]
        if key == own_impl:
            continue
        if item.kind == "impl" and item.trait is None:
            text = _render_impl(item, closure.members.get(key, set()))
        else:
            text = item.text
        if text:
            parts.append(context(text.strip("\n")))
    if own_impl is not None:
        impl = closure.items[own_impl]
        members = closure.members[own_impl]
        chosen = [m for m in impl.members if m.name in members and m.start != focal.function.start_byte]
        parts.append(render_impl(impl.header, [context(m.text) for m in chosen] + [focal_text]))
    else:
        parts.append(focal_text.strip("\n"))
    text = "\n\n".join(parts)
    if len(text) > max_chars:
        raise TooLarge(f"input of {len(text)} chars")
    names = closure.names | set(re.findall(r"[A-Za-z_]\w*", text))
    files = [focal.file] + sorted({k[0] for k in closure.items} - {focal.file})
    uses = _wanted_uses([u for file in files for u in index.uses.get(file, [])], names, index.lib_name)
    return localize("\n".join(uses) + ("\n\n" if uses else "") + text, index.lib_name) + "\n"


def build_output(tests: list[TestFn], index: CrateIndex) -> tuple[str, frozenset[str]]:
    """The tests with the helpers of their test modules that they use, and the names all of those use."""
    helpers: dict[tuple[str, int], Item] = {}
    uses: list[str] = []
    for test in tests:
        scope_items = index.test_scopes.get((test.file, test.scope), [])
        pending = sorted(test.refs, reverse=True)
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            for item in scope_items:
                if item.kind == "use":
                    continue
                if (item.name == name and item.kind != "impl") or name in item.provides:
                    if _key(item) not in helpers:
                        helpers[_key(item)] = item
                        pending.extend(sorted(item.refs))
        for item in scope_items:
            if item.kind == "impl" and item.name in seen and _key(item) not in helpers:
                helpers[_key(item)] = item
        names = seen | set(re.findall(r"[A-Za-z_]\w*", test.text))
        uses += _wanted_uses([u for u in scope_items if u.kind == "use"], names, index.lib_name)
    parts = [helpers[k].text.strip("\n") for k in sorted(helpers)] + [t.text.strip("\n") for t in tests]
    uses = _dedup(uses)
    text = localize("\n".join(uses) + ("\n\n" if uses else "") + "\n\n".join(parts), index.lib_name) + "\n"
    return text, frozenset().union(*(t.refs for t in tests), *(h.refs for h in helpers.values()))


def _dedup(texts) -> list[str]:
    return list(dict.fromkeys(texts))


def localize(text: str, lib_name: str) -> str:
    """Crate-local `use`s and `extern crate`s removed, crate paths made plain names, `alloc::` read as `std::`."""
    roots = "|".join(sorted({"crate", "super", "self", re.escape(lib_name)}))
    text = re.sub(rf"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?use\s+(?:::)?(?:{roots})\b[^;]*;[ \t]*\n?", "", text)
    text = re.sub(r"(?m)^[ \t]*(?:#\[macro_use\]\s*)?extern\s+crate\s+[^;]*;[ \t]*\n?", "", text)
    text = re.sub(rf"(?<![$\w:])(?:{roots})(?:::super)*(?:::[a-z_][a-z0-9_]*)*::(?=[A-Za-z_{{*])", "", text)
    return re.sub(r"(?<![$\w:])alloc::", "std::", text)
