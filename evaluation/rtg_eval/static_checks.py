"""Static lint of Rust test code: assertions, tautologies, edge cases, names and comments.

These are cheap signals read from the text alone; whether a test compiles, passes or kills mutants is judged by
running it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node, Query, QueryCursor

from rtg_core.rust_source import RUST, functions, macro_calls, macro_test_functions, node_text, parse_rust

_LITERALS = frozenset({"string_literal", "raw_string_literal", "char_literal"})
_NUMBERS = frozenset({"integer_literal", "float_literal"})
_COMMENTS = frozenset({"line_comment", "block_comment"})
_COMMENT_QUERY = Query(RUST, "[(line_comment) (block_comment)] @comment")
_OPERAND_ENDS = frozenset({"identifier", "self", *_NUMBERS, *_LITERALS})
# Inside macro tokens keywords are identifiers: `a in -10..10` is still a sign.
_KEYWORDS_BEFORE_VALUES = frozenset({"in", "return", "break", "if", "match", "while"})
_ASSERTION_PREFIXES = ("assert", "debug_assert", "prop_assert")
_SAME_SIDES_OPERATORS = frozenset({"==", ">=", "<="})
_GENERIC_NAME = re.compile(r"(test|t|it_works|works|foo|bar|baz|check|example|tmp|basic|simple)_?\d*")
_FILLER_WORDS = frozenset({"test", "tests", "prop", "it"})
# Calls that say nothing about which function a test is for.
_HELPER_CALLS = frozenset({"new", "unwrap", "expect", "clone", "to_string", "into", "iter", "collect", "len",
                           "from", "default", "Some", "Ok", "Err"})
_COLLECTIONS = frozenset({"Vec", "VecDeque", "HashMap", "HashSet", "BTreeMap", "BTreeSet", "BinaryHeap",
                          "LinkedList"})
_LIMITS = frozenset({"MIN", "MAX", "MIN_POSITIVE", "EPSILON", "INFINITY", "NEG_INFINITY", "NAN"})
_EMPTY_STRING = re.compile(r'b?r?#*""#*')
_NUMBER = re.compile(r"0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+(\.\d*)?(e[+-]?\d+)?", re.IGNORECASE)
_ATTRIBUTE_PATH = re.compile(r"#\[\s*([\w:]+)")


@dataclass(frozen=True)
class TestLint:
    """What the text of one test shows; `kind` is "unit", "proptest" or "quickcheck"."""

    name: str
    kind: str
    assertions: int
    tautologies: tuple[str, ...]
    descriptive_name: bool
    has_comment: bool


@dataclass(frozen=True)
class StaticReport:
    """The lint of every test in a piece of test code, plus the edge-case kinds its literals touch."""

    tests: tuple[TestLint, ...]
    edge_cases: tuple[str, ...]

    @property
    def tautologies(self) -> int:
        return sum(len(test.tautologies) for test in self.tests)

    @property
    def meaningless_asserts(self) -> int:
        """Tests that assert nothing plus assertions that cannot fail."""
        return sum(1 for test in self.tests if test.assertions == 0) + self.tautologies

    @property
    def descriptive_name_rate(self) -> float | None:
        if not self.tests:
            return None
        return sum(test.descriptive_name for test in self.tests) / len(self.tests)

    @property
    def has_comments(self) -> bool:
        """Whether any test carries a comment (inside it or on the line above)."""
        return any(test.has_comment for test in self.tests)


@dataclass(frozen=True)
class _TestSource:
    """A test as the lint needs it, whether tree-sitter parsed it or it sat inside a `proptest!` block."""

    name: str
    kind: str
    body: str
    attribute_paths: tuple[str, ...]
    return_type: str | None
    start_byte: int
    end_byte: int


# --- tokens -------------------------------------------------------------------------------------------------


def _tokens(nodes: list[Node]) -> Iterator[Node]:
    """The leaf tokens of `nodes` without comments; a string or char literal is one token."""
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if node.type in _COMMENTS:
            continue
        if node.child_count == 0 or node.type in _LITERALS:
            yield node
        else:
            stack.extend(reversed(node.children))


def _token_texts(nodes: list[Node]) -> tuple[str, ...]:
    """The comparable form of an expression: its token texts, so spacing and comments do not matter."""
    return tuple(node_text(token) for token in _tokens(nodes))


def _number(text: str) -> float | None:
    match = _NUMBER.match(text.replace("_", ""))
    if match is None:
        return None
    digits = match.group(0)
    return float(int(digits, 0)) if digits[:2].lower() in ("0x", "0o", "0b") else float(digits)


# --- assertions ---------------------------------------------------------------------------------------------


def _macro_arguments(token_tree: Node) -> list[list[Node]]:
    """A macro's arguments: its token tree split on top-level commas (nested trees hold their own commas)."""
    arguments: list[list[Node]] = [[]]
    for token in token_tree.children[1:-1]:
        if token.type == ",":
            arguments.append([])
        elif token.type not in _COMMENTS:
            arguments[-1].append(token)
    return [argument for argument in arguments if argument]


def _expression(argument: list[Node], token_tree: Node) -> Node | None:
    """The macro argument re-parsed as an expression, which a flat token tree is not."""
    offset = token_tree.start_byte
    text = (token_tree.text or b"")[argument[0].start_byte - offset:argument[-1].end_byte - offset]
    block = parse_rust(b"fn __e() { (" + text + b"); }").root_node.named_children[0].named_children[-1]
    statement = block.named_children[0] if block.named_children else None
    wrapped = statement.named_children[0] if statement is not None and statement.named_children else None
    if wrapped is None or wrapped.type != "parenthesized_expression" or len(wrapped.named_children) != 1:
        return None
    return wrapped.named_children[0]


def _is_always_true(expression: Node) -> bool:
    """`true`, `!false`, and `x == x`, `x >= x`, `x <= x` with the same tokens on both sides."""
    if expression.type == "boolean_literal":
        return node_text(expression) == "true"
    if expression.type == "unary_expression" and node_text(expression).startswith("!"):
        operand = expression.named_children[-1]
        return operand.type == "boolean_literal" and node_text(operand) == "false"
    if expression.type == "binary_expression":
        operator = expression.child_by_field_name("operator")
        left, right = expression.child_by_field_name("left"), expression.child_by_field_name("right")
        return (operator is not None and operator.type in _SAME_SIDES_OPERATORS and left is not None
                and right is not None and _token_texts([left]) == _token_texts([right]))
    return False


def _is_tautology(macro_name: str, token_tree: Node) -> bool:
    """An assertion that cannot fail; arguments after the compared ones are the failure message."""
    arguments = _macro_arguments(token_tree)
    if macro_name.endswith("assert_eq"):
        return len(arguments) >= 2 and _token_texts(arguments[0]) == _token_texts(arguments[1])
    if macro_name.endswith("assert") and arguments:
        expression = _expression(arguments[0], token_tree)
        return expression is not None and _is_always_true(expression)
    return False


def _is_assertion(macro_name: str) -> bool:
    """assert!, assert_eq!, assert_matches!, debug_assert*!, prop_assert*! (prop_assume! only filters inputs)."""
    return macro_name.startswith(_ASSERTION_PREFIXES)


# --- names and comments -------------------------------------------------------------------------------------


def _callees(function: Node) -> set[str]:
    """Names called in the function, also inside macro arguments: `name (` token pairs."""
    tokens = list(_tokens([function]))
    return {
        node_text(name) for name, after in zip(tokens, tokens[1:])
        if name.type in ("identifier", "field_identifier") and after.type == "("
    } - _HELPER_CALLS


def _is_descriptive(name: str, callees: set[str]) -> bool:
    """Not a stock name (`test1`, `it_works`, `foo`), and two words beyond `test` or the name of a called fn."""
    if _GENERIC_NAME.fullmatch(name.lower()):
        return False
    words = [w for w in name.lower().split("_") if w and w not in _FILLER_WORDS and not w.isdigit()]
    return len(words) >= 2 or any(f"_{callee.lower()}_" in f"_{name.lower()}_" for callee in callees)


def _last_row(comment: Node) -> int:
    """A line comment ends after its newline, on the next row; this is the row its text is on."""
    row, column = comment.end_point
    return row - 1 if column == 0 and row > comment.start_point.row else row


def _has_comment(test: _TestSource, comments: list[Node], data: bytes) -> bool:
    """A comment inside the test or ending on the line just above it."""
    start_row = data.count(b"\n", 0, test.start_byte)
    return any(
        test.start_byte <= comment.start_byte < test.end_byte or _last_row(comment) == start_row - 1
        for comment in comments
    )


# --- edge cases ---------------------------------------------------------------------------------------------
# Each finder looks at the token at `i` of the test code, with `texts` the token texts.


def _zero(tokens: list[Node], texts: list[str], i: int) -> bool:
    return tokens[i].type in _NUMBERS and _number(texts[i]) == 0


def _negative(tokens: list[Node], texts: list[str], i: int) -> bool:
    """A `-` before a number where nothing that ends an operand comes before it: a sign, not a subtraction."""
    if texts[i] != "-" or i + 1 == len(tokens) or tokens[i + 1].type not in _NUMBERS:
        return False
    if i == 0 or texts[i - 1] in _KEYWORDS_BEFORE_VALUES:
        return True
    return tokens[i - 1].type not in _OPERAND_ENDS and texts[i - 1] not in (")", "]")


def _empty_collection(tokens: list[Node], texts: list[str], i: int) -> bool:
    """`[]`, `vec![]`, `vec!()` or `Vec::new()` and its kin."""
    return (texts[i:i + 2] == ["[", "]"] or texts[i:i + 4] == ["vec", "!", "(", ")"]
            or _empty_constructor(texts, i, _COLLECTIONS))


def _empty_string(tokens: list[Node], texts: list[str], i: int) -> bool:
    """`""`, `r#""#`, `b""` or `String::new()`."""
    literal = tokens[i].type in _LITERALS and _EMPTY_STRING.fullmatch(texts[i]) is not None
    return literal or _empty_constructor(texts, i, frozenset({"String"}))


def _empty_constructor(texts: list[str], i: int, types: frozenset[str]) -> bool:
    """`TYPE::new()` or `TYPE::default()`, also with turbofish generics (`Vec::<u8>::new()`)."""
    if texts[i] not in ("new", "default") or texts[i - 1:i] != ["::"] or texts[i + 1:i + 3] != ["(", ")"]:
        return False
    return not types.isdisjoint(texts[max(0, i - 6):i])


def _min_max(tokens: list[Node], texts: list[str], i: int) -> bool:
    return texts[i] in _LIMITS and texts[i - 1:i] == ["::"]


def _none(tokens: list[Node], texts: list[str], i: int) -> bool:
    return texts[i] == "None"


def _err(tokens: list[Node], texts: list[str], i: int) -> bool:
    """`Err(`, `.is_err()`, `.unwrap_err()`, `.expect_err(` or `#[should_panic]`."""
    method = texts[i - 1:i] == ["."] and texts[i] in ("is_err", "unwrap_err", "expect_err")
    return texts[i:i + 2] == ["Err", "("] or method or texts[i] == "should_panic"


def _boundary_one(tokens: list[Node], texts: list[str], i: int) -> bool:
    """An integer 1 (or -1) standing alone between `(`/`,` and `)`/`,`: an argument or list element."""
    if tokens[i].type != "integer_literal" or _number(texts[i]) != 1:
        return False
    start = i - 1 if texts[i - 1:i] == ["-"] else i
    return texts[start - 1:start] in (["("], [","]) and texts[i + 1:i + 2] in ([")"], [","])


_EDGE_CASES = {
    "zero": _zero,
    "negative": _negative,
    "empty_collection": _empty_collection,
    "empty_string": _empty_string,
    "min_max": _min_max,
    "none": _none,
    "err": _err,
    "boundary_one": _boundary_one,
}


def _edge_case_kinds(tokens: list[Node]) -> tuple[str, ...]:
    """The edge-case kinds that the literals and names of the test code touch, sorted."""
    texts = [node_text(token) for token in tokens]
    found = {kind for i in range(len(tokens)) for kind, finder in _EDGE_CASES.items() if finder(tokens, texts, i)}
    return tuple(sorted(found))


# --- tests --------------------------------------------------------------------------------------------------


def _last_segment(path: str) -> str:
    return path.rsplit("::", 1)[-1]


def _kind_from_attributes(attribute_paths: tuple[str, ...]) -> str:
    """`#[quickcheck]` and `#[proptest]` (test-strategy) fns are property tests; everything else is a unit test."""
    segments = {_last_segment(path) for path in attribute_paths}
    for kind in ("quickcheck", "proptest"):
        if kind in segments:
            return kind
    return "unit"


def _test_sources(test_code: str) -> list[_TestSource]:
    """Every test in the code: attributed fns anywhere, and fns inside `proptest!`/`quickcheck!` blocks."""
    data = test_code.encode("utf-8")
    tests = []
    for function in functions(test_code):
        if function.is_test:
            paths = tuple(m.group(1) for a in function.attributes if (m := _ATTRIBUTE_PATH.match(a)))
            body = data[function.body_start_byte + 1:function.body_end_byte - 1].decode("utf-8", errors="replace")
            tests.append(_TestSource(function.name, _kind_from_attributes(paths), body, paths,
                                     function.return_type, function.start_byte, function.end_byte))
    for macro_test in macro_test_functions(test_code):
        tests.append(_TestSource(macro_test.name, macro_test.macro_name, macro_test.body, (),
                                 macro_test.return_type, macro_test.start_byte, macro_test.end_byte))
    return sorted(tests, key=lambda test: test.start_byte)


def _returns_verdict(test: _TestSource) -> bool:
    """A quickcheck property that returns `bool` or `TestResult` checks through its result."""
    return test.kind == "quickcheck" and _last_segment(test.return_type or "") in ("bool", "TestResult")


def _lint(test: _TestSource, comments: list[Node], data: bytes) -> TestLint:
    body = parse_rust("fn __body() {" + test.body + "}").root_node.named_children[0]
    calls = [call for call in macro_calls(body) if _is_assertion(_last_segment(call.name))]
    tautologies = tuple(call.text for call in calls if _is_tautology(_last_segment(call.name), call.args))
    should_panic = any(_last_segment(path) == "should_panic" for path in test.attribute_paths)
    return TestLint(
        name=test.name,
        kind=test.kind,
        assertions=len(calls) + should_panic + _returns_verdict(test),
        tautologies=tautologies,
        descriptive_name=_is_descriptive(test.name, _callees(body)),
        has_comment=_has_comment(test, comments, data),
    )


def lint_tests(test_code: str) -> StaticReport:
    """Lint test code given as items or as a whole `#[cfg(test)] mod tests { ... }`."""
    data = test_code.encode("utf-8")
    root = parse_rust(data).root_node
    comments = QueryCursor(_COMMENT_QUERY).captures(root).get("comment", [])
    return StaticReport(
        tests=tuple(_lint(test, comments, data) for test in _test_sources(test_code)),
        edge_cases=_edge_case_kinds(list(_tokens([root]))),
    )
