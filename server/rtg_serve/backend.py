"""The model behind the server: loaded lazily (or at start), on CUDA when it can, else on the CPU, and kept
loaded (warm) from then on.

Generation goes through `rtg_core.backends.LocalBackend`, the same path as `rtg-eval` and `rtg-generate`. Precision
is chosen for speed: NF4 4-bit on CUDA (memory); on the CPU unquantised weights with an adapter merged in, in bf16
where the CPU computes in it and float32 elsewhere (`rtg_core.model.fast_compute_dtype`; bf16 17.9 tok/s vs NF4
12.7 at batch 1 on an AVX512-BF16 machine, float32 7.1 vs bf16 3.5 tok/s at batch 8 on an AVX2 one). The n
candidates of a request are seeded samples decoded in one batch (n = 1: the greedy reply).

The adapter's gate verdict (`gates.json`, rtg_core.verdict) is read before it is loaded: one that failed P-GATE-001
is refused unless `allowFailedAdapter` is set, and then the status and log say it failed; one never evaluated is
loaded, and the status says so. The shipped adapter (`adapter: "default"`) is held to the same gate, but refusing
it does not leave the user without a model: the base model is served instead, and the log and status say why.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from rtg_core.adapters import is_default
from rtg_core.backends import LocalBackend, Sampling
from rtg_core.model import choose_device
from rtg_core.prompt import chat_prompt
from rtg_core.verdict import DEPLOYMENT_GATE, AdapterGates, read_verdict
from rtg_serve.settings import ServerSettings

log = logging.getLogger("rtg-serve")


class AdapterRejected(RuntimeError):
    """The adapter failed P-GATE-001 and `allowFailedAdapter` is off."""


class ModelBackend:
    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtg-model")
        self._loading: Future | None = None
        self._loaded: LocalBackend | None = None
        self._error: str | None = None

    def configure(self, settings: ServerSettings) -> None:
        """New settings; a different model, adapter or device is loaded on next use."""
        with self._lock:
            changed = (settings.model, settings.adapter, settings.device, settings.allow_failed_adapter) != (
                self.settings.model, self.settings.adapter, self.settings.device, self.settings.allow_failed_adapter)
            self.settings = settings
            if changed:
                self._loaded, self._loading, self._error = None, None, None

    def load_in_background(self) -> Future:
        with self._lock:
            if self._loading is None:
                self._loading = self._loader.submit(self._load)
            return self._loading

    def ensure_loaded(self, on_load_start) -> None:
        if self._loaded is None:
            on_load_start()
            self.load_in_background().result()

    def _load(self) -> None:
        settings = self.settings
        try:
            adapter = served_adapter(settings)
            device = choose_device(settings.device)
            backend = LocalBackend(settings.model, adapter=adapter, device=device.type,
                                   allow_hub=settings.allow_hub, batch_size=16,
                                   load_in_4bit=device.type == "cuda")
            backend.load()
        except Exception as exc:
            with self._lock:
                self._error = str(exc)
                self._loading = None  # a later request may try again, e.g. after a settings change
            raise
        with self._lock:
            self._loaded = backend
            self._error = None

    def generate(self, code: str, n: int, seed: int, cancel: threading.Event, progress) -> list[str]:
        """`n` replies for `code` in one batch: seeded samples, or the greedy reply when n is 1. Decoding stops at
        `timeouts.generateSeconds`; what was written by then is read like a reply cut by the token budget."""
        prompt, budget = chat_prompt(code), self.settings.max_new_tokens
        deadline = threading.Event()
        timer = threading.Timer(self.settings.generate_seconds, deadline.set)
        timer.start()
        try:
            stop = _EitherEvent(cancel, deadline)
            completions = (self._loaded.complete([prompt], budget, stop, progress=progress) if n == 1 else
                           self._loaded.complete([prompt] * n, budget, stop, Sampling(seed=seed), progress=progress))
        finally:
            timer.cancel()
        if deadline.is_set() and not cancel.is_set():
            log.warning("generation stopped at the %.0f s limit (timeouts.generateSeconds); the replies so far are "
                        "read as cut ones", self.settings.generate_seconds)
        return [c.text for c in completions]

    def status(self) -> dict:
        adapter = self.settings.adapter_dir()
        gates = read_verdict(adapter) if adapter else None
        served = adapter if gates is None or _admitted(gates, self.settings) else None
        return {
            "model": self.settings.model,
            "adapter": str(served) if served else None,
            "adapterRequested": str(adapter) if adapter else None,
            "adapterSha256": gates.adapter_sha256 if gates else None,
            "adapterGates": _gates_status(gates, self.settings) if gates else None,
            "device": self._loaded.device.torch_device if self._loaded else None,
            "deviceReason": self._loaded.device.reason if self._loaded else None,
            "modelLoaded": self._loaded is not None,
            "loading": self._loading is not None and not self._loading.done(),
            "error": self._error,
            "memory": _memory(),
        }


class _EitherEvent:
    """Set when either event is: the user's cancel or the generation deadline (decoding only asks `is_set`)."""

    def __init__(self, first: threading.Event, second: threading.Event):
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


def served_adapter(settings: ServerSettings):
    """The adapter to load: the chosen one once admitted; None for the base model, which is also what the shipped
    adapter gives way to when it failed its gates. An adapter the user named that failed P-GATE-001 raises
    AdapterRejected unless rtg.allowFailedAdapter is set; the verdict is logged either way."""
    adapter = settings.adapter_dir()
    if adapter is None:
        return None
    gates = read_verdict(adapter)
    if not _admitted(gates, settings):
        if is_default(settings.adapter):
            log.warning("the shipped adapter %s failed its gates (%s): serving the base model alone. Set "
                        "rtg.allowFailedAdapter to load it anyway", adapter, gates.reason)
            return None
        raise AdapterRejected(f"adapter {adapter} failed its gates ({gates.reason}); spec §16.1 forbids "
                              f"deploying an adapter that fails {DEPLOYMENT_GATE}. Set rtg.allowFailedAdapter to "
                              "load it anyway")
    if gates.state == "rejected":
        log.warning("loading adapter %s although it failed its gates (rtg.allowFailedAdapter is set): %s",
                    adapter, gates.reason)
    elif gates.state == "not evaluated":
        log.warning("adapter %s has not been evaluated: %s", adapter, gates.reason)
    else:
        log.info("adapter %s passed %s: %s", adapter, DEPLOYMENT_GATE, gates.reason)
    return adapter


def _admitted(gates: AdapterGates, settings: ServerSettings) -> bool:
    return gates.state != "rejected" or settings.allow_failed_adapter


def _gates_status(gates: AdapterGates, settings: ServerSettings) -> dict:
    if gates.state == "rejected":
        message = ("this adapter FAILED its gates; loaded only because rtg.allowFailedAdapter is set"
                   if settings.allow_failed_adapter else
                   "this adapter FAILED its gates, so it is not loaded (rtg.allowFailedAdapter would load it)"
                   + ("; the base model is served instead" if is_default(settings.adapter) else ""))
    elif gates.state == "not evaluated":
        message = "this adapter has not been evaluated (rtg-eval --adapter writes its gates.json)"
    else:
        message = f"this adapter passed {DEPLOYMENT_GATE}"
    return {**gates.to_json(), "message": message}


def _memory() -> dict:
    import resource

    info = {"processMaxRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    try:
        import torch

        if torch.cuda.is_available():
            info["cudaAllocatedMiB"] = round(torch.cuda.memory_allocated() / 2**20, 1)
    except ImportError:
        pass
    return info
