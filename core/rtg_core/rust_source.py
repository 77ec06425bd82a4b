"""Rust source analysis on tree-sitter.

tree-sitter is a fast, error-tolerant parser, not a compiler: it flags some valid Rust (e.g. `try!`) as errors,
so rustc has the last word on validity.
"""
from __future__ import annotations

from functools import lru_cache

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Tree

RUST = Language(tree_sitter_rust.language())


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(RUST)


def parse_rust(source: str | bytes) -> Tree:
    data = source.encode("utf-8") if isinstance(source, str) else source
    return _parser().parse(data)


def node_text(node: Node) -> str:
    return node.text.decode("utf-8", errors="replace") if node.text is not None else ""
