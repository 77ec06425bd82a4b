"""Which function a "Generate tests" action is for: text and a position in, a target or None out.

LSP positions count UTF-16 code units; tree-sitter counts UTF-8 bytes. The conversions live here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

from rtg_core.rust_source import RustFunction, function_at


@dataclass(frozen=True)
class Position:
    line: int
    character: int  # UTF-16 code units


@dataclass(frozen=True)
class TestTarget:
    function: RustFunction
    start: Position
    end: Position

    @property
    def title(self) -> str:
        return f"Generate tests for `{self.function.name}`"


def byte_offset(source: str, position: Position) -> int | None:
    lines = source.split("\n")
    if position.line < 0 or position.line >= len(lines):
        return None
    before = sum(len(line.encode("utf-8")) + 1 for line in lines[: position.line])
    units = lines[position.line].encode("utf-16-le")[: 2 * max(0, position.character)]
    return before + len(units.decode("utf-16-le", errors="ignore").encode("utf-8"))


def position_at(source: str, offset: int) -> Position:
    head = source.encode("utf-8")[:offset].decode("utf-8", errors="ignore")
    line = head.count("\n")
    column = head[head.rfind("\n") + 1 :]
    return Position(line, len(column.encode("utf-16-le")) // 2)


def target_at(source: str, position: Position) -> TestTarget | None:
    """The function under the cursor, unless it is test code ("not applicable" is a normal answer)."""
    offset = byte_offset(source, position)
    if offset is None:
        return None
    function = function_at(source, offset)
    if function is None or function.in_test_code:
        return None
    return TestTarget(function, position_at(source, function.start_byte), position_at(source, function.end_byte))
