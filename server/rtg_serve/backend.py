"""The model behind the server: loaded lazily (or at start), on CUDA when it can, else on the CPU.

Generation goes through `rtg_core.backends.LocalBackend`, the same path as `rtg-eval` and `rtg-generate`.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from rtg_core.backends import LocalBackend
from rtg_core.prompt import chat_prompt, repair_prompt
from rtg_core.files import file_sha256
from rtg_serve.settings import ServerSettings


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
            changed = (settings.model, settings.adapter, settings.device) != (
                self.settings.model, self.settings.adapter, self.settings.device)
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
        backend = LocalBackend(settings.model, adapter=settings.adapter, device=settings.device,
                               allow_hub=settings.allow_hub, batch_size=1)
        try:
            backend.load()
        except Exception as exc:
            with self._lock:
                self._error = str(exc)
                self._loading = None  # a later request may try again, e.g. after a settings change
            raise
        with self._lock:
            self._loaded = backend
            self._error = None

    def generate(self, code: str, previous: str | None, problems: str | None, cancel: threading.Event) -> str:
        prompt = chat_prompt(code) if previous is None else repair_prompt(code, previous, problems or "")
        return self._loaded.complete([prompt], self.settings.max_new_tokens, cancel)[0].text

    def status(self) -> dict:
        adapter = self.settings.adapter
        weights = Path(adapter) / "adapter_model.safetensors" if adapter else None
        return {
            "model": self.settings.model,
            "adapter": adapter,
            "adapterSha256": file_sha256(weights) if weights and weights.is_file() else None,
            "device": self._loaded.device.torch_device if self._loaded else None,
            "deviceReason": self._loaded.device.reason if self._loaded else None,
            "modelLoaded": self._loaded is not None,
            "loading": self._loading is not None and not self._loading.done(),
            "error": self._error,
            "memory": _memory(),
        }


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
