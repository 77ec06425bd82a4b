"""How close generated Rust test code is to reference test code: BLEU-4 and CodeBLEU on our own tree-sitter.

No third-party metric package: the `codebleu` package pins tree-sitter < 0.23 (so it cannot load current
tree-sitter-rust), has no Rust `let` data flow, and scores a missing data-flow component as 1.

Definitions (all scores in [0, 1], computed over a corpus of (hypothesis, reference) pairs, one reference each):

- Tokens (`rust_tokens`): the text of tree-sitter leaf nodes in source order; comments are dropped; string, raw
  string and char literals are one token each.
- `bleu4`: corpus-level BLEU-4 (Papineni et al. 2002) over `rust_tokens`: the geometric mean, with uniform
  weights 1/4, of the modified n-gram precisions p_n = (sum of clipped matches_n + s_n) / (sum of hypothesis
  n-grams + s_n) for n = 1..4, where the smoothing s_n is 0 for n = 1 and 1 for n > 1 ("add-one on n > 1 orders",
  Lin & Och 2004, Chen & Cherry 2014 method 2), so that a hypothesis shorter than 4 tokens is not 0; times the
  brevity penalty exp(1 - r/c) when the corpus hypothesis length c is below the corpus reference length r
  (1 otherwise). No unigram match, or no hypothesis tokens at all, gives 0; identical code gives 1.
- CodeBLEU (Ren et al. 2020), `codebleu`: score = 0.25 * ngram + 0.25 * weighted_ngram + 0.25 * syntax_match
  + 0.25 * dataflow_match, where
  - ngram is `bleu4`;
  - weighted_ngram is `bleu4` with the unigram precision replaced by the paper's weighted one: each hypothesis
    unigram weighs 5 if it is a Rust keyword (`RUST_KEYWORDS`) and 1 otherwise, in both the clipped matches and
    the hypothesis total (the paper's formula, a precision; the reference implementation computes a recall);
  - syntax_match is the fraction of the reference's syntax subtrees found in the hypothesis's: every named,
    non-comment node is a subtree, compared by its shape (node types and field names, no leaf text, as
    tree-sitter's s-expression without comments), matched as multisets; sum of matches / sum of reference
    subtrees over the corpus;
  - dataflow_match is the fraction of the reference's data-flow edges found in the hypothesis's (multisets;
    sum of matches / sum of reference edges over the corpus). An edge is (variable, "comesFrom" or
    "computedFrom", sorted source variables), variables renamed var_0, var_1, ... per snippet in order of first
    appearance. As in the reference implementation, an occurrence's edges are kept only when it has a source
    or is one (an unused `let x = 1;` adds nothing).
    When no reference in the corpus has a data-flow edge, dataflow_match is None (not 1) and score is the
    mean of the other three (weights renormalised to 1/3 each).

Data flow handled: `let` (all pattern shapes, `let mut`, `let ... else`), `if let` / `while let`, `match` arms,
assignment and compound assignment (also to fields, indices and through `*`), `for` patterns, closure and function
parameters (including `self`), block scoping and shadowing, branch merging, loop bodies walked twice for
loop-carried flow, and uses of identifiers, including in macro arguments. Identifiers that start with an upper-case
letter (constants, variants) and path segments are not variables; a called name is a variable only when bound.
Code nested deeper than Python's recursion limit (degenerate output) keeps the data flow found before that point.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tree_sitter import Node, Tree

from rtg_core.rust_source import node_text, parse_rust

MAX_ORDER = 4
KEYWORD_WEIGHT = 5.0  # CodeBLEU's weight for keyword unigrams; every other token weighs 1
COMPONENT_WEIGHT = 0.25  # CodeBLEU's weight for each of its four components

# Strict and reserved keywords of Rust 2021 (https://doc.rust-lang.org/reference/keywords.html).
RUST_KEYWORDS = frozenset(
    {
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
        "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
        "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized",
        "virtual", "yield",
    }
)

COMES_FROM = "comesFrom"
COMPUTED_FROM = "computedFrom"

# (variable, relation, its source variables sorted), variables named var_0, var_1, ... by first appearance
DataFlowEdge = tuple[str, str, tuple[str, ...]]

_COMMENTS = frozenset({"line_comment", "block_comment"})
_ATOMS = frozenset({"string_literal", "raw_string_literal", "char_literal"})


@dataclass(frozen=True)
class CodeBleu:
    ngram: float
    weighted_ngram: float
    syntax_match: float
    dataflow_match: float | None  # None when no reference has a data-flow edge
    score: float


def rust_tokens(code: str) -> list[str]:
    tokens: list[str] = []
    cursor = parse_rust(code).walk()
    while True:
        node = cursor.node
        if node.type not in _COMMENTS:
            if node.type in _ATOMS or node.child_count == 0:
                text = node_text(node)
                if text:  # a MISSING node inserted by error recovery has no text
                    tokens.append(text)
            elif cursor.goto_first_child():
                continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return tokens


def dataflow_edges(code: str) -> Counter[DataFlowEdge]:
    """The data-flow edges CodeBLEU compares, e.g. ("var_1", "computedFrom", ("var_0",)) for `let b = a + 1;`."""
    return _DataFlow.of(parse_rust(code).root_node)


def bleu4(hypotheses: list[str], references: list[str]) -> float:
    _check_corpus(hypotheses, references)
    pairs = [(rust_tokens(h), rust_tokens(r)) for h, r in zip(hypotheses, references)]
    return _corpus_bleu(pairs, [None])[0]


def codebleu(hypotheses: list[str], references: list[str]) -> CodeBleu:
    _check_corpus(hypotheses, references)
    shapes: dict[tuple, int] = {}  # subtree shape -> id, shared by the whole corpus
    hyps = [_analyse(code, shapes) for code in hypotheses]
    refs = [_analyse(code, shapes) for code in references]
    token_pairs = [(h.tokens, r.tokens) for h, r in zip(hyps, refs)]

    ngram, weighted = _corpus_bleu(token_pairs, [None, _keyword_weight])
    # never None: every reference has at least its source_file node
    syntax = _multiset_recall((h.subtrees, r.subtrees) for h, r in zip(hyps, refs)) or 0.0
    dataflow = _multiset_recall((h.dataflow, r.dataflow) for h, r in zip(hyps, refs))
    if dataflow is None:  # nothing to compare: the other three share the weight
        score = (ngram + weighted + syntax) / 3
    else:
        score = COMPONENT_WEIGHT * (ngram + weighted + syntax + dataflow)
    return CodeBleu(ngram=ngram, weighted_ngram=weighted, syntax_match=syntax, dataflow_match=dataflow, score=score)


def _check_corpus(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"need one reference per hypothesis; got {len(hypotheses)} hypotheses and "
                         f"{len(references)} references")
    if not hypotheses:
        raise ValueError("need at least one (hypothesis, reference) pair")


# --- BLEU ---------------------------------------------------------------------------------------------------


def _keyword_weight(token: str) -> float:
    return KEYWORD_WEIGHT if token in RUST_KEYWORDS else 1.0


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(zip(*(tokens[i:] for i in range(n))))


def _corpus_bleu(
    pairs: Iterable[tuple[list[str], list[str]]], unigram_weights: Sequence[Callable[[str], float] | None]
) -> list[float]:
    """One corpus BLEU-4 per unigram weighting (None: every token weighs 1), counting n-grams once."""
    unigram_matches = [0.0] * len(unigram_weights)
    unigram_totals = [0.0] * len(unigram_weights)
    matches = [0] * MAX_ORDER
    totals = [0] * MAX_ORDER
    hyp_len = ref_len = 0
    for hyp, ref in pairs:
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, MAX_ORDER + 1):
            hyp_counts, ref_counts = _ngrams(hyp, n), _ngrams(ref, n)
            clipped = hyp_counts & ref_counts
            matches[n - 1] += sum(clipped.values())
            totals[n - 1] += sum(hyp_counts.values())
            if n == 1:
                for k, weight in enumerate(unigram_weights):
                    if weight is not None:
                        unigram_matches[k] += sum(weight(g[0]) * c for g, c in clipped.items())
                        unigram_totals[k] += sum(weight(g[0]) * c for g, c in hyp_counts.items())
    if hyp_len == 0:
        return [0.0] * len(unigram_weights)
    # add-one smoothing on orders n > 1
    higher_orders = sum(math.log((m + 1) / (t + 1)) for m, t in zip(matches[1:], totals[1:]))
    brevity = 1.0 if hyp_len >= ref_len else math.exp(1.0 - ref_len / hyp_len)
    scores = []
    for k, weight in enumerate(unigram_weights):
        matched, total = (matches[0], totals[0]) if weight is None else (unigram_matches[k], unigram_totals[k])
        if matched == 0:
            scores.append(0.0)
            continue
        log_precision = (math.log(matched / total) + higher_orders) / MAX_ORDER
        scores.append(min(1.0, brevity * math.exp(log_precision)))
    return scores


def _multiset_recall(pairs: Iterable[tuple[Counter, Counter]]) -> float | None:
    matched = total = 0
    for hyp, ref in pairs:
        matched += sum((hyp & ref).values())
        total += sum(ref.values())
    return matched / total if total else None


# --- one pass over a snippet --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Analysis:
    tokens: list[str]
    subtrees: Counter[int]
    dataflow: Counter[DataFlowEdge]


def _analyse(code: str, shapes: dict[tuple, int]) -> _Analysis:
    tree = parse_rust(code)
    tokens, subtrees = _scan(tree, shapes)
    return _Analysis(tokens=tokens, subtrees=Counter(subtrees), dataflow=_DataFlow.of(tree.root_node))


def _scan(tree: Tree, shapes: dict[tuple, int]) -> tuple[list[str], list[int]]:
    """`rust_tokens` and the shape id of every named, non-comment subtree, in one cursor walk.

    A shape is (node type, ((field name, child shape id), ...)) over named non-comment children; `shapes` interns
    them to ints so equal subtrees compare by id, like tree-sitter's s-expressions without the comments.
    """
    tokens: list[str] = []
    subtrees: list[int] = []
    frames: list[tuple[str, str | None, bool, bool, list]] = []  # type, field, named, inside an atom, kids

    def finish(frame: tuple[str, str | None, bool, bool, list]) -> None:
        node_type, field, named, _, kids = frame
        if not named:
            return
        shape = (node_type, tuple(kids))
        shape_id = shapes.setdefault(shape, len(shapes))
        subtrees.append(shape_id)
        if frames:
            frames[-1][4].append((field, shape_id))

    cursor = tree.walk()
    while True:
        node = cursor.node
        node_type = node.type
        if node_type not in _COMMENTS:
            in_atom = bool(frames) and frames[-1][3]
            if not in_atom and (node_type in _ATOMS or node.child_count == 0):
                text = node_text(node)
                if text:
                    tokens.append(text)
            frame = (node_type, cursor.field_name, node.is_named, in_atom or node_type in _ATOMS, [])
            if cursor.goto_first_child():
                frames.append(frame)
                continue
            finish(frame)
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return tokens, subtrees
            finish(frames.pop())


# --- data flow ----------------------------------------------------------------------------------------------

_Occurrence = tuple[str, int]  # (variable name, start byte)
_State = dict[str, frozenset[_Occurrence]]  # variable -> the definitions that reach this point

# Nodes whose identifiers are never variable uses: types, paths, names, attributes, items without bodies.
_NOT_VARIABLES = frozenset(
    {
        "attribute_item", "inner_attribute_item", "use_declaration", "extern_crate_declaration",
        "macro_definition", "struct_item", "enum_item", "union_item", "type_item", "function_signature_item",
        "scoped_identifier", "scoped_type_identifier", "generic_function", "generic_type", "type_identifier",
        "primitive_type", "type_arguments", "type_parameters", "where_clause", "lifetime", "label", "parameters",
    }
)
_NOT_VARIABLE_FIELDS = frozenset({"name", "type", "return_type", "type_arguments", "type_parameters", "trait"})
_BINDING_NODES = frozenset({"identifier", "shorthand_field_identifier", "self"})
_ASSIGNMENT_PARTS = frozenset({"field_expression", "index_expression", "unary_expression"})


def _is_variable_name(name: str) -> bool:
    # Rust convention: upper-case names are constants, statics, unit structs or enum variants.
    return bool(name) and not name[0].isupper()


def _merge(*states: _State) -> _State:
    merged: _State = {}
    for state in states:
        for name, defs in state.items():
            merged[name] = merged.get(name, frozenset()) | defs
    return merged


def _named_children(node: Node) -> Iterable[tuple[str | None, Node]]:
    for index, child in enumerate(node.named_children):
        yield node.field_name_for_named_child(index), child


class _DataFlow:
    """Walks a tree in execution order, recording edges between variable occurrences."""

    def __init__(self) -> None:
        self._edges: dict[tuple[str, int, str], set[_Occurrence]] = {}
        self._scopes: list[set[str]] = [set()]  # names bound by `let` in each open block
        self._handlers: dict[str, Callable[[Node, _State], list[_Occurrence]]] = {
            "identifier": self._use,
            "self": self._use,
            "function_item": self._function,
            "closure_expression": self._closure,
            "block": self._block,
            "let_declaration": self._let,
            "let_condition": self._let,
            "assignment_expression": self._assignment,
            "compound_assignment_expr": self._assignment,
            "if_expression": self._if,
            "match_expression": self._match,
            "for_expression": self._loop,
            "while_expression": self._loop,
            "loop_expression": self._loop,
            "call_expression": self._call,
            "macro_invocation": self._macro,
        }

    @classmethod
    def of(cls, root: Node) -> Counter[DataFlowEdge]:
        flow = cls()
        try:
            flow._walk(root, {})
        except RecursionError:  # degenerate code (e.g. a method chain repeated 1,000 times): keep what came before
            pass
        return flow._normalised()

    def _normalised(self) -> Counter[DataFlowEdge]:
        sources = {src for srcs in self._edges.values() for src in srcs}
        with_sources = {(name, pos) for (name, pos, _), srcs in self._edges.items() if srcs}
        kept = [
            ((name, pos), relation, srcs)
            for (name, pos, relation), srcs in self._edges.items()
            if (name, pos) in sources or (name, pos) in with_sources
        ]
        first_seen: dict[str, str] = {}
        for occurrence in sorted({occ for occ, _, srcs in kept for occ in (occ, *srcs)}, key=lambda o: o[1]):
            first_seen.setdefault(occurrence[0], f"var_{len(first_seen)}")
        return Counter(
            (first_seen[occ[0]], relation, tuple(sorted(first_seen[s[0]] for s in srcs)))
            for occ, relation, srcs in kept
        )

    def _edge(self, occurrence: _Occurrence, relation: str, sources: Iterable[_Occurrence]) -> None:
        self._edges.setdefault((occurrence[0], occurrence[1], relation), set()).update(sources)

    def _walk(self, node: Node, state: _State) -> list[_Occurrence]:
        handler = self._handlers.get(node.type)
        if handler is not None:
            return handler(node, state)
        if node.type in _NOT_VARIABLES or node.type in _COMMENTS:
            return []
        uses: list[_Occurrence] = []
        for field, child in _named_children(node):
            if field not in _NOT_VARIABLE_FIELDS:
                uses += self._walk(child, state)
        return uses

    def _walk_optional(self, node: Node | None, state: _State) -> list[_Occurrence]:
        return self._walk(node, state) if node is not None else []

    # uses and bindings

    def _use(self, node: Node, state: _State) -> list[_Occurrence]:
        name = node_text(node)
        if not _is_variable_name(name):
            return []
        occurrence = (name, node.start_byte)
        self._edge(occurrence, COMES_FROM, state.get(name, ()))
        return [occurrence]

    def _bind(self, pattern: Node | None, relation: str, sources: Iterable[_Occurrence], state: _State) -> set[str]:
        names: set[str] = set()
        sources = tuple(sources)
        for node in _pattern_bindings(pattern):
            occurrence = (node_text(node), node.start_byte)
            self._edge(occurrence, relation, sources)
            state[occurrence[0]] = frozenset({occurrence})
            names.add(occurrence[0])
        self._scopes[-1] |= names
        return names

    def _scoped(self, state: _State, walk: Callable[[], list[_Occurrence]]) -> list[_Occurrence]:
        """Runs `walk` in a new block scope: names it binds with `let` fall back to their outer definitions."""
        outer = dict(state)
        self._scopes.append(set())
        try:
            uses = walk()
        finally:
            bound = self._scopes.pop()
        for name in bound:
            if name in outer:
                state[name] = outer[name]
            else:
                state.pop(name, None)
        return uses

    # items and scopes

    def _function(self, node: Node, _state: _State) -> list[_Occurrence]:
        inner: _State = {}  # a nested fn sees no outer locals

        def walk() -> list[_Occurrence]:
            parameters = node.child_by_field_name("parameters")
            for parameter in parameters.named_children if parameters is not None else ():
                if parameter.type == "parameter":
                    self._bind(parameter.child_by_field_name("pattern"), COMES_FROM, (), inner)
                elif parameter.type == "self_parameter":
                    self._bind(parameter, COMES_FROM, (), inner)
            return self._walk_optional(node.child_by_field_name("body"), inner)

        self._scoped(inner, walk)
        return []

    def _closure(self, node: Node, state: _State) -> list[_Occurrence]:
        inner = dict(state)  # captures are read; the closure's own bindings stay inside
        params: set[str] = set()

        def walk() -> list[_Occurrence]:
            parameters = node.child_by_field_name("parameters")
            for parameter in parameters.named_children if parameters is not None else ():
                pattern = parameter.child_by_field_name("pattern") if parameter.type == "parameter" else parameter
                params.update(self._bind(pattern, COMES_FROM, (), inner))
            return self._walk_optional(node.child_by_field_name("body"), inner)

        uses = self._scoped(inner, walk)
        return [use for use in uses if use[0] not in params]

    def _block(self, node: Node, state: _State) -> list[_Occurrence]:
        def walk() -> list[_Occurrence]:
            uses: list[_Occurrence] = []
            for child in node.named_children:
                uses += self._walk(child, state)
            return uses

        return self._scoped(state, walk)

    # statements and expressions

    def _let(self, node: Node, state: _State) -> list[_Occurrence]:
        uses = self._walk_optional(node.child_by_field_name("value"), state)
        alternative = node.child_by_field_name("alternative")  # let ... else { diverges }
        if alternative is not None:
            self._walk(alternative, dict(state))
        self._bind(node.child_by_field_name("pattern"), COMPUTED_FROM, uses, state)
        return uses

    def _assignment(self, node: Node, state: _State) -> list[_Occurrence]:
        uses = self._walk_optional(node.child_by_field_name("right"), state)
        compound = node.type == "compound_assignment_expr"
        targets = _assignment_targets(node.child_by_field_name("left"), partial=False)
        for target, partial in targets:
            if target.type not in _BINDING_NODES:  # an index or other operand inside the target: a use
                uses += self._walk(target, state)
                continue
            name = node_text(target)
            if not _is_variable_name(name):
                continue
            occurrence = (name, target.start_byte)
            if compound or partial:  # the old value flows into the new one
                self._edge(occurrence, COMES_FROM, state.get(name, ()))
            self._edge(occurrence, COMPUTED_FROM, uses)
            state[name] = frozenset({occurrence})
        return uses

    def _if(self, node: Node, state: _State) -> list[_Occurrence]:
        then_state = dict(state)

        def walk_then() -> list[_Occurrence]:  # `if let` bindings are visible in the consequence only
            uses = self._walk_optional(node.child_by_field_name("condition"), then_state)
            return uses + self._walk_optional(node.child_by_field_name("consequence"), then_state)

        uses = self._scoped(then_state, walk_then)
        else_state = dict(state)
        uses += self._walk_optional(node.child_by_field_name("alternative"), else_state)
        _replace(state, _merge(then_state, else_state))
        return uses

    def _match(self, node: Node, state: _State) -> list[_Occurrence]:
        scrutinee = self._walk_optional(node.child_by_field_name("value"), state)
        uses = list(scrutinee)
        body = node.child_by_field_name("body")
        arm_states: list[_State] = []
        for arm in body.named_children if body is not None else ():
            if arm.type != "match_arm":
                continue
            arm_state = dict(state)

            def walk_arm(arm: Node = arm, arm_state: _State = arm_state) -> list[_Occurrence]:
                pattern = arm.child_by_field_name("pattern")
                self._bind(pattern, COMPUTED_FROM, scrutinee, arm_state)
                guard = pattern.child_by_field_name("condition") if pattern is not None else None
                arm_uses = self._walk_optional(guard, arm_state)
                return arm_uses + self._walk_optional(arm.child_by_field_name("value"), arm_state)

            uses += self._scoped(arm_state, walk_arm)
            arm_states.append(arm_state)
        if arm_states:
            _replace(state, _merge(*arm_states))
        return uses

    def _loop(self, node: Node, state: _State) -> list[_Occurrence]:
        """`for`, `while` and `loop`: the body is walked twice so that values carried between iterations flow."""
        iterated = self._walk_optional(node.child_by_field_name("value"), state)  # `for` only
        entry = dict(state)
        current = entry
        uses = list(iterated)
        for walk_index in range(2):
            body_state = dict(current)

            def walk_body(body_state: _State = body_state) -> list[_Occurrence]:
                self._bind(node.child_by_field_name("pattern"), COMPUTED_FROM, iterated, body_state)
                body_uses = self._walk_optional(node.child_by_field_name("condition"), body_state)
                return body_uses + self._walk_optional(node.child_by_field_name("body"), body_state)

            body_uses = self._scoped(body_state, walk_body)
            if walk_index == 0:
                uses += body_uses
            current = _merge(entry, body_state)  # the body may run zero times
        _replace(state, current)
        return uses

    def _call(self, node: Node, state: _State) -> list[_Occurrence]:
        function = node.child_by_field_name("function")
        uses: list[_Occurrence] = []
        if function is not None and function.type == "identifier":
            if node_text(function) in state:  # a bound name, e.g. a closure; otherwise a function's name
                uses += self._use(function, state)
        elif function is not None:
            uses += self._walk(function, state)
        return uses + self._walk_optional(node.child_by_field_name("arguments"), state)

    def _macro(self, node: Node, state: _State) -> list[_Occurrence]:
        uses: list[_Occurrence] = []
        for field, child in _named_children(node):
            if field != "macro" and child.type == "token_tree":
                uses += self._token_tree(child, state)
        return uses

    def _token_tree(self, node: Node, state: _State) -> list[_Occurrence]:
        """Macro arguments are unparsed tokens: an identifier is a variable unless it is a path segment, a field
        or method after `.`, a macro name, or an unbound name that is called."""
        uses: list[_Occurrence] = []
        children = node.children
        for index, child in enumerate(children):
            if child.type == "token_tree":
                uses += self._token_tree(child, state)
                continue
            if child.type not in ("identifier", "self"):
                continue
            before = children[index - 1] if index > 0 else None
            after = children[index + 1] if index + 1 < len(children) else None
            if before is not None and before.type in (".", "::", "'"):
                continue
            if after is not None and after.type in ("!", "::"):
                continue
            called = after is not None and after.type == "token_tree" and node_text(after).startswith("(")
            if called and node_text(child) not in state:
                continue
            uses += self._use(child, state)
        return uses


def _replace(state: _State, new: _State) -> None:
    state.clear()
    state.update(new)


def _pattern_bindings(pattern: Node | None) -> list[Node]:
    """The identifier nodes a pattern binds, in source order (not variant names, paths, literals or types)."""
    if pattern is None:
        return []
    if pattern.type in _BINDING_NODES:
        return [pattern] if _is_variable_name(node_text(pattern)) else []
    if pattern.type == "self_parameter":
        return [child for child in pattern.named_children if child.type == "self"]
    if pattern.type in _NOT_VARIABLES:
        return []
    bound: list[Node] = []
    for field, child in _named_children(pattern):
        if field not in ("type", "condition"):  # `Some(x)`'s `Some`, `S { .. }`'s `S`, a match guard
            bound += _pattern_bindings(child)
    return bound


def _assignment_targets(left: Node | None, partial: bool) -> list[tuple[Node, bool]]:
    """The variables an assignment writes, each flagged `partial` when only a part of it is written (field, index,
    pointee), plus other operands (indices) to walk as uses."""
    if left is None:
        return []
    if left.type in _BINDING_NODES:
        return [(left, partial)]
    if left.type in ("tuple_expression", "array_expression", "parenthesized_expression"):
        return [target for child in left.named_children for target in _assignment_targets(child, partial)]
    if left.type in _ASSIGNMENT_PARTS and left.named_child_count > 0:
        base, *operands = left.named_children
        if left.type == "field_expression":
            operands = []  # the field name
        return _assignment_targets(base, partial=True) + [(operand, partial) for operand in operands]
    return [(left, partial)]
