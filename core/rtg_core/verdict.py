"""An adapter's gate verdict (spec §16.1): `gates.json` beside its weights.

`rtg-eval --adapter DIR` writes it into the adapter directory it generated with; `rtg-train publish` and `rtg-serve`
read it there. P-GATE-001 (Popperian score < 90) rejects the adapter and forbids deployment: publish refuses it, the
server loads it only when told to. The verdict names the weights it judged by sha256, so weights that changed since
(a new `best`, a copied folder with other weights) count as not evaluated rather than inheriting a verdict.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from rtg_core.files import file_sha256

VERDICT_FILE = "gates.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
DEPLOYMENT_GATE = "P-GATE-001"  # "reject adapter; forbid deployment"

State = Literal["accepted", "rejected", "not evaluated"]


@dataclass(frozen=True)
class GateOutcome:
    id: str
    passed: bool
    measured: bool
    summary: str  # one line: the gate, what was measured, and what its failure means


@dataclass(frozen=True)
class AdapterVerdict:
    adapter_sha256: str
    score: int
    grade: str
    gates: tuple[GateOutcome, ...]
    falsified: tuple[str, ...]  # "id: hypothesis" of every checklist item that failed
    report: str  # the checklist.json the verdict comes from
    test_set: str
    samples: int
    evaluated_at: str  # ISO time

    @property
    def deployable(self) -> bool:
        return any(g.id == DEPLOYMENT_GATE and g.passed for g in self.gates)

    @property
    def failed_gates(self) -> list[GateOutcome]:
        return [g for g in self.gates if not g.passed]

    def describe(self) -> str:
        """Score, grade, failed gates and falsified items, for a refusal or a warning."""
        failed = ", ".join(g.id for g in self.failed_gates) or "none"
        items = ", ".join(f.split(":")[0] for f in self.falsified) or "none"
        return f"Popperian score {self.score}/100, grade {self.grade}; failed gates: {failed}; falsified items: {items}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "AdapterVerdict":
        return cls(**{**data, "gates": tuple(GateOutcome(**g) for g in data["gates"]),
                      "falsified": tuple(data["falsified"])})


@dataclass(frozen=True)
class AdapterGates:
    """What publish and serve know about an adapter directory."""

    state: State
    verdict: AdapterVerdict | None
    reason: str  # why it is not evaluated, or the verdict described
    adapter_sha256: str | None  # of the weights there now; None: there are none

    def to_json(self) -> dict:
        verdict = self.verdict
        return {"state": self.state, "score": verdict.score if verdict else None,
                "grade": verdict.grade if verdict else None,
                "failedGates": [g.id for g in verdict.failed_gates] if verdict else [], "reason": self.reason}


def write_verdict(adapter_dir: Path, verdict: AdapterVerdict) -> Path:
    path = Path(adapter_dir) / VERDICT_FILE
    path.write_text(json.dumps(verdict.to_json(), indent=2) + "\n")
    return path


def read_verdict(adapter_dir: Path | str) -> AdapterGates:
    """The verdict in `adapter_dir`, if it judged the weights there now."""
    adapter_dir = Path(adapter_dir)
    path, weights = adapter_dir / VERDICT_FILE, adapter_dir / ADAPTER_WEIGHTS
    if not weights.is_file():
        return AdapterGates("not evaluated", None, f"{adapter_dir} holds no {ADAPTER_WEIGHTS} (a hub id is not "
                                                   "read here)", None)
    sha256 = file_sha256(weights)
    if not path.is_file():
        return AdapterGates("not evaluated", None, f"no {VERDICT_FILE} in {adapter_dir}: run rtg-eval --adapter "
                                                   f"{adapter_dir} to score it", sha256)
    try:
        verdict = AdapterVerdict.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        return AdapterGates("not evaluated", None, f"{path} is unreadable ({type(exc).__name__}: {exc}); evaluate "
                                                   "the adapter again", sha256)
    if verdict.adapter_sha256 != sha256:
        return AdapterGates("not evaluated", None, f"{path} judged other weights (sha256 "
                                                   f"{verdict.adapter_sha256[:12]}…); evaluate this adapter again",
                            sha256)
    return AdapterGates("accepted" if verdict.deployable else "rejected", verdict, verdict.describe(), sha256)
