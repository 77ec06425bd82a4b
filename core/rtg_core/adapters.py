"""Which LoRA adapter a command uses: the one rtg ships unless told otherwise.

The shipped adapter was trained here on judge-verified data (its model card, `adapters/SHIPPED_ADAPTER/README.md`,
has the figures and the command that rebuilds it) and is committed with the source, so rtg-eval, rtg-generate
and rtg-serve use it by default on its base model. A user picks another with a directory, or the base model alone
with `none`; a different base model gets no adapter by default (the shipped one fits only its own base).
"""
from __future__ import annotations

import logging
from pathlib import Path

from rtg_core.base_models import DEFAULT_BASE_MODEL
from rtg_core.verdict import ADAPTER_WEIGHTS

SHIPPED_ADAPTER = "rtg-qwen2.5-coder-0.5b-testgen"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "adapters" / SHIPPED_ADAPTER
SHIPPED_BASE = DEFAULT_BASE_MODEL
DEFAULT_CHOICE = "default"  # the shipped adapter, on its base model
NO_ADAPTER = "none"  # the base model alone

log = logging.getLogger("rtg")


def is_default(choice: str | Path | None) -> bool:
    """Whether `choice` asks for the shipped adapter: `default`, or nothing said."""
    return choice is None or str(choice).strip() in ("", DEFAULT_CHOICE)


def chosen_adapter(choice: str | Path | None, model: str | None = None) -> Path | None:
    """`default` (or None, or ""): the shipped adapter when `model` is its base (or unset) and this copy of rtg has
    it; `none`: no adapter; anything else: that directory, as given."""
    if not is_default(choice):
        text = str(choice).strip()
        return None if text.lower() == NO_ADAPTER else Path(text).expanduser()
    if model not in (None, SHIPPED_BASE):
        return None
    if not (SHIPPED_DIR / ADAPTER_WEIGHTS).is_file():
        log.warning("the shipped adapter is not in this copy of rtg (%s is missing): using the base model alone",
                    SHIPPED_DIR / ADAPTER_WEIGHTS)
        return None
    return SHIPPED_DIR
