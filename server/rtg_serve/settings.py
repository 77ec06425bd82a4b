"""The server's settings, parsed once from the client's camelCase JSON into typed values."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from rtg_core.adapters import DEFAULT_CHOICE, chosen_adapter

DEFAULT_MODEL = "Qwen/Qwen2.5-Coder-0.5B-Instruct"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class ServerSettings:
    model: str = DEFAULT_MODEL
    adapter: str = DEFAULT_CHOICE  # "default": the adapter rtg ships (on its base model); "none"; or a directory
    device: Literal["auto", "cuda", "cpu"] = "auto"
    # A reply's budget. Latency is about 88 ms per token step on 2 cores whatever the batch (1-4): 192 steps keep a
    # resolve under 20 s, and 77 % of the base 0.5B's replies to HumanEval hold a test by then (87 % at 384).
    max_new_tokens: int = 192
    candidates: int = 4  # replies per round, sampled in one batch; 1: the greedy reply alone
    retries: int = 1  # further rounds of candidates (a new seed) when none gave a test that builds and passes
    mutants: int = 40  # mutants of the function that select among the passing tests; 0: no mutation
    seed: int = 42  # the sampling seed of the first round (round k: seed + k)
    validation: Literal["parse", "check", "run"] = "run"
    generate_seconds: float = 120.0
    check_seconds: float = 300.0
    run_seconds: float = 10.0  # one run of the tests; a generated unit test slower than this is dropped
    load_model_at_start: bool = False
    allow_hub: bool = False  # offline-first: no downloads unless the user allows them
    allow_failed_adapter: bool = False  # load an adapter that failed P-GATE-001 (spec §16.1 forbids deploying it)
    log_file: str | None = None

    def updated(self, options: dict[str, Any] | None) -> "ServerSettings":
        """These settings with the client's `options` (camelCase, as in the editors' configuration) applied."""
        if not options:
            return self
        changes: dict[str, Any] = {}
        timeouts = options.get("timeouts") or {}
        flat = {**options, **{k: v for k, v in timeouts.items()}}
        names = {f.name: f for f in fields(self)}
        for key, value in flat.items():
            name = _snake(key)
            if name in names:
                changes[name] = names[name].default if value is None else value
        result = replace(self, **changes)
        result.check()
        return result

    def adapter_dir(self) -> Path | None:
        """The adapter directory these settings load, or None for the base model alone."""
        return chosen_adapter(self.adapter, self.model)

    def check(self) -> None:
        if self.device not in ("auto", "cuda", "cpu"):
            raise SettingsError(f"rtg.device must be auto, cuda or cpu, not {self.device!r}")
        if self.validation not in ("parse", "check", "run"):
            raise SettingsError(f"rtg.validation must be parse, check or run, not {self.validation!r}")
        if self.retries < 0 or self.max_new_tokens <= 0 or self.mutants < 0:
            raise SettingsError("rtg.retries and rtg.mutants must be >= 0 and rtg.maxNewTokens > 0")
        if not 1 <= self.candidates <= 16:
            raise SettingsError(f"rtg.candidates must be between 1 and 16, not {self.candidates!r}")


def _snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)
