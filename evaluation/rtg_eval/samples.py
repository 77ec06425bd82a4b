"""Reading what the judge judges: spec §3.2 lines and HumanEvalPack-Rust lines, each into a JudgeSample."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class JudgeSample:
    id: str
    code: str  # the function under test, with the items it needs
    tests: str  # the tests to judge
    reference_tests: str | None = None
    real_bug: str | None = None  # the same code with a people-written bug (HumanEvalPack's buggy_solution)
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InputError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def sample_from_record(record: dict) -> JudgeSample:
    """One JSON object -> a JudgeSample; unknown fields are ignored. Raises ValueError naming what is missing."""
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    if {"declaration", "canonical_solution", "test"} <= record.keys():
        task = _require(record, "task_id")
        declaration = record["declaration"]
        return JudgeSample(
            id=str(task),
            code=declaration + record["canonical_solution"],
            tests=record["test"],
            real_bug=declaration + record["buggy_solution"] if record.get("buggy_solution") else None,
            metadata={"source": "humanevalpack-rust", "entry_point": record.get("entry_point")},
        )
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("`metadata` must be an object")
    reference = record.get("reference") or metadata.get("reference_tests")
    return JudgeSample(
        id=str(_require(record, "id")),
        code=_require_text(record, "input"),
        tests=_require_text(record, "output"),
        reference_tests=reference if isinstance(reference, str) else None,
        metadata=metadata,
    )


def _require(record: dict, key: str):
    if record.get(key) is None:
        raise ValueError(f"missing required field `{key}`")
    return record[key]


def _require_text(record: dict, key: str) -> str:
    value = _require(record, key)
    if not isinstance(value, str):
        raise ValueError(f"field `{key}` must be a string, not {type(value).__name__}")
    return value


def read_samples(path: Path) -> tuple[list[JudgeSample], list[InputError]]:
    """Every well-formed line of a JSONL file; each bad line becomes an InputError and the rest are still read."""
    samples: list[JudgeSample] = []
    errors: list[InputError] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                sample = sample_from_record(json.loads(line))
            except json.JSONDecodeError as exc:
                errors.append(InputError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
                continue
            except ValueError as exc:
                errors.append(InputError(number, str(exc)))
                continue
            if sample.id in seen:
                errors.append(InputError(number, f"duplicate id {sample.id!r}; the first one is kept"))
                continue
            seen.add(sample.id)
            samples.append(sample)
    return samples, errors
