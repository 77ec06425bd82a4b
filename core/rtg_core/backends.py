"""Generation backends: one small protocol, so evaluation, `rtg-generate` and the server share the decoding path.

    backend.complete(prompts, max_new_tokens, cancel=None, sampling=None) -> [Completion(text, seconds, new_tokens)]
    candidates(backend, prompts, n, max_new_tokens, sampling) -> [[Completion] * n per prompt] (best-of-n)

A prompt is a full ChatML prompt (`rtg_core.prompt.chat_prompt` or `repair_prompt`); a reply is the raw text up to
and including `<|im_end|>` (or the token budget), for `parse_answer` to read.

- `LocalBackend`: transformers + peft in this process (`rtg_core.model.load_for_inference` and
  `rtg_core.generation.generate_completions`): base model plus optional adapter, CUDA or CPU, batched, greedy by
  default or seeded sampling. The default.
- `OpenAICompatibleBackend`: `POST {url}/v1/completions` with the ChatML prompt as the raw prompt and
  `stop=["<|im_end|>"]`: Ollama, vLLM and llama.cpp's server all speak it.
- `ReplayBackend`: replies looked up by the prompt's sha256 in a JSONL file; `ReplayBackend.recording` fills such a
  file from another backend. For tests that need exact replies, and for re-running a report without the model.

Best-of-n asks for the same prompt several times in one call: the k-th copy of a prompt in a call is its
candidate k. With sampling, copies differ (one seeded batch locally; seed + k over HTTP); a replay keys each reply
by (prompt sha256, k), so recorded candidates replay exactly.

`Completion.seconds` is this prompt's share of the wall time of the batch (or request) that produced it;
`new_tokens` is the reply's length in tokens. A backend whose timings mean nothing (a replay) says so with
`live = False`, and reports do not turn its timings into latency figures.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rtg_core.generation import Decoding
from rtg_core.model import AUTO_DTYPE
from rtg_core.prompt import IM_END


@dataclass(frozen=True)
class Completion:
    text: str  # the raw reply, `<|im_end|>` included when the model ended its turn
    seconds: float  # this prompt's share of the wall time spent generating it
    new_tokens: int  # tokens in the reply


@dataclass(frozen=True)
class Sampling:
    """Seeded sampling instead of greedy decoding; the same seed, prompts and batch size give the same replies.
    A value left at None is the model's own (its `generation_config`: Qwen2.5-Coder publishes temperature 0.7,
    top_p 0.8, top_k 20)."""

    temperature: float | None = None
    top_p: float | None = None
    seed: int = 42

    def describe(self) -> str:
        def value(v):
            return "the model's" if v is None else v
        return f"sampling (temperature {value(self.temperature)}, top_p {value(self.top_p)}, seed {self.seed})"


class Backend(Protocol):
    live: bool  # whether `Completion.seconds` measures real generation

    def complete(self, prompts: Sequence[str], max_new_tokens: int, cancel: threading.Event | None = None,
                 sampling: Sampling | None = None) -> list[Completion]:
        """`sampling` overrides the backend's own decoding for this call (None: the backend's own)."""

    def describe(self) -> dict: ...


def candidates(backend: Backend, prompts: Sequence[str], n: int, max_new_tokens: int, sampling: Sampling,
               cancel: threading.Event | None = None) -> list[list[Completion]]:
    """`n` replies to each prompt: the greedy reply, so best-of-n is never short of what greedy finds, and n - 1
    seeded samples from one call (copies side by side: a batch decodes them together)."""
    greedy = backend.complete(prompts, max_new_tokens, cancel)
    k = n - 1
    sampled = backend.complete([p for p in prompts for _ in range(k)], max_new_tokens, cancel, sampling) if k else []
    return [[greedy[i]] + sampled[i * k:(i + 1) * k] for i in range(len(prompts))]


def _copy_numbers(prompts: Sequence[str]) -> list[int]:
    """For each prompt, how many copies of it came before it in the call: its candidate number."""
    seen: dict[str, int] = {}
    numbers = []
    for prompt in prompts:
        numbers.append(seen.get(prompt, 0))
        seen[prompt] = numbers[-1] + 1
    return numbers


class BackendError(RuntimeError):
    """The backend cannot answer; the message says why and what to do."""


def prompt_sha256(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------- local


class LocalBackend:
    """A model in this process. Loaded on first use (or by `load()`); thread-safe for one caller at a time."""

    live = True

    def __init__(self, model: str, adapter: str | Path | None = None, device: str = "auto", allow_hub: bool = False,
                 batch_size: int = 8, sampling: Sampling | None = None, load_in_4bit: bool = True,
                 compute_dtype: str = AUTO_DTYPE, decoding: Decoding = Decoding()):
        self.model_name = model
        self.adapter = str(adapter) if adapter else None
        self.requested_device = device
        self.allow_hub = allow_hub
        self.batch_size = batch_size
        self.sampling = sampling
        self.load_in_4bit = load_in_4bit
        self.compute_dtype = compute_dtype
        self.decoding = decoding
        self.device = None  # a DeviceChoice once loaded
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @classmethod
    def from_loaded(cls, model, tokenizer, batch_size: int = 8, sampling: Sampling | None = None) -> "LocalBackend":
        """A backend around a model already in memory (e.g. a benchmark's randomly initialised one)."""
        from rtg_core.model import DeviceChoice

        backend = cls(getattr(model.config, "_name_or_path", "") or "in-memory", batch_size=batch_size,
                      sampling=sampling)
        device = next(model.parameters()).device
        backend.device = DeviceChoice(device.type, device.index, "given")
        backend._model, backend._tokenizer = model, tokenizer
        return backend

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        from rtg_core.model import choose_device, load_for_inference

        with self._lock:
            if self._model is not None:
                return
            device = choose_device(self.requested_device)
            self._model, self._tokenizer = load_for_inference(
                self.model_name, adapter=self.adapter, device=device, allow_hub=self.allow_hub,
                load_in_4bit=self.load_in_4bit, compute_dtype=self.compute_dtype)
            self.device = device

    def complete(self, prompts: Sequence[str], max_new_tokens: int, cancel: threading.Event | None = None,
                 sampling: Sampling | None = None, progress=None) -> list[Completion]:
        """As the protocol says; `progress(tokens)` hears how far decoding has got (see generate_completions)."""
        from rtg_core.generation import end_and_pad_ids, generate_completions

        self.load()
        sampling = sampling or self.sampling
        end_id, pad_id = end_and_pad_ids(self._tokenizer)
        completions: list[Completion] = []
        with self._lock, _seeded(sampling, self.device):
            for start in range(0, len(prompts), self.batch_size):
                batch = list(prompts[start:start + self.batch_size])
                model = _Instrumented(self._model, sampling)
                began = time.perf_counter()
                replies = generate_completions(model, self._tokenizer, batch, max_new_tokens=max_new_tokens,
                                               batch_size=len(batch), cancel=cancel, decoding=self.decoding,
                                               progress=progress)
                _synchronize(self.device)
                share = (time.perf_counter() - began) / len(batch)
                counts = model.new_tokens(end_id, pad_id) or [0] * len(batch)  # none: cancelled before decoding
                completions += [Completion(reply, share, count) for reply, count in zip(replies, counts)]
        return completions

    def describe(self) -> dict:
        return {"backend": "local", "model": self.model_name, "adapter": self.adapter,
                "device": self.device.torch_device if self.device else None,
                "device_reason": self.device.reason if self.device else None, "batch_size": self.batch_size,
                "decoding": "greedy" if self.sampling is None else self.sampling.describe(),
                "decoding_settings": self.decoding.describe(), "load_in_4bit": self.load_in_4bit,
                "dtype": self.dtype}

    @property
    def dtype(self) -> str | None:
        """What the loaded model computes in (its unquantised weights' dtype); None before loading."""
        if self._model is None:
            return None
        return str(next(self._model.parameters()).dtype).removeprefix("torch.")


class _Instrumented:
    """The model as `generate_completions` sees it, plus two things that path does not do itself: it keeps the
    ids each `generate` returns (so replies are counted in tokens exactly) and, with `sampling`, turns greedy
    decoding into sampling. Batching, padding and stopping stay the shared path's."""

    def __init__(self, model, sampling: Sampling | None):
        self._wrapped = model
        self._sampling = sampling
        self._outputs: list[tuple[int, list[list[int]]]] = []  # (prompt width, output rows) per generate call

    def generate(self, **kwargs):
        if self._sampling is not None:  # a value not given is the model's own (greedy's None would unset it)
            for key in ("temperature", "top_p", "top_k"):
                kwargs.pop(key, None)
            kwargs.update({k: v for k, v in (("temperature", self._sampling.temperature),
                                             ("top_p", self._sampling.top_p)) if v is not None}, do_sample=True)
        out = self._wrapped.generate(**kwargs)
        self._outputs.append((kwargs["input_ids"].shape[1], out.tolist()))
        return out

    def new_tokens(self, end_id: int, pad_id: int) -> list[int]:
        """Per row, the tokens generated up to and including the end of the turn (as `generate_completions` cuts)."""
        from rtg_core.generation import reply_tokens

        return [len(reply_tokens(row[width:], end_id, pad_id)) for width, rows in self._outputs for row in rows]

    def __getattr__(self, name):
        return getattr(self._wrapped, name)


@contextlib.contextmanager
def _seeded(sampling: Sampling | None, device):
    """With sampling: torch's RNG seeded from `sampling.seed`, in a fork, so the caller's random state is untouched."""
    if sampling is None:
        yield
        return
    import torch

    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(sampling.seed)
        yield


def _synchronize(device) -> None:
    if device is not None and device.type == "cuda":
        import torch

        torch.cuda.synchronize(device.torch_device)


# --------------------------------------------------------------------------------------------------- HTTP


class OpenAICompatibleBackend:
    """`POST {base_url}/v1/completions`, one request per prompt, `parallel` at a time.

    `base_url` is the server's root (`http://127.0.0.1:11434` for Ollama, `http://127.0.0.1:8000` for vLLM); the
    served model must be the base model with the adapter merged or loaded, and must use the ChatML template as-is
    (the prompt is sent raw).
    """

    live = True

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 300.0,
                 parallel: int = 4, sampling: Sampling | None = None):
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.parallel = parallel
        self.sampling = sampling

    def complete(self, prompts: Sequence[str], max_new_tokens: int, cancel: threading.Event | None = None,
                 sampling: Sampling | None = None) -> list[Completion]:
        sampling = sampling or self.sampling

        def one(job: tuple[str, int]) -> Completion:
            if cancel is not None and cancel.is_set():
                return Completion("", 0.0, 0)
            return self._request(job[0], max_new_tokens, sampling, job[1])

        with ThreadPoolExecutor(max_workers=max(1, self.parallel)) as pool:
            return list(pool.map(one, zip(prompts, _copy_numbers(prompts))))

    def _request(self, prompt: str, max_new_tokens: int, sampling: Sampling | None, copy: int) -> Completion:
        body = {"model": self.model, "prompt": prompt, "max_tokens": max_new_tokens, "stop": [IM_END],
                "temperature": 0.0}
        if sampling is not None:  # a value left to the model is left to the server; copy k gets seed + k
            del body["temperature"]
            body.update({k: v for k, v in (("temperature", sampling.temperature), ("top_p", sampling.top_p))
                         if v is not None}, seed=sampling.seed + copy)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}/v1/completions", data=json.dumps(body).encode(),
                                         headers=headers, method="POST")
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", errors="replace")
            raise BackendError(f"{self.base_url}/v1/completions answered HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise BackendError(f"cannot reach {self.base_url}/v1/completions ({exc}); is the server running, and "
                               "is --endpoint its root URL?") from exc
        seconds = time.perf_counter() - began
        try:
            choice = reply["choices"][0]
            text = choice["text"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"{self.base_url}/v1/completions: not an OpenAI completions reply: "
                               f"{str(reply)[:300]}") from exc
        if choice.get("finish_reason") == "stop" and IM_END not in text:
            text += IM_END  # the server strips the stop sequence; put the end of the turn back
        usage = reply.get("usage") or {}
        tokens = usage.get("completion_tokens")
        return Completion(text, seconds, int(tokens) if tokens is not None else 0)

    def describe(self) -> dict:
        return {"backend": "openai", "endpoint": self.base_url, "model": self.model,
                "decoding": "greedy" if self.sampling is None else self.sampling.describe()}


# --------------------------------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class ReplayRecord:
    prompt_sha256: str
    text: str
    seconds: float = 0.0  # as recorded; replays do not measure anything
    new_tokens: int = 0
    candidate: int = 0  # the k-th copy of the prompt in its call
    seed: int | None = None  # the sampling seed it was drawn with; None: greedy

    @property
    def key(self) -> tuple[str, int, int | None]:
        return self.prompt_sha256, self.candidate, self.seed

    def to_json(self) -> dict:
        return {"prompt_sha256": self.prompt_sha256, "candidate": self.candidate, "seed": self.seed,
                "text": self.text, "seconds": round(self.seconds, 6), "new_tokens": self.new_tokens}


class ReplayMiss(BackendError):
    pass


class ReplayBackend:
    """Replies read from a JSONL of `{"prompt_sha256", "candidate", "text", "seconds", "new_tokens"}` lines.

    With `record_with` (see `recording`), a prompt the file lacks is sent to that backend and its reply appended to
    the file; without it, a missing prompt raises ReplayMiss.
    """

    live = False

    def __init__(self, records: Iterable[ReplayRecord] = (), path: Path | None = None,
                 record_with: Backend | None = None, label: str = "replay"):
        self.path = Path(path) if path is not None else None
        self.record_with = record_with
        self.label = label
        self._records: dict[tuple[str, int], ReplayRecord] = {}
        for record in records:
            self._records[record.key] = record
        if self.path is not None and self.path.is_file():
            self._records.update((r.key, r) for r in read_replay(self.path))
        if record_with is not None:
            self.live = record_with.live

    @classmethod
    def recording(cls, path: Path, backend: Backend) -> "ReplayBackend":
        return cls(path=path, record_with=backend, label="record")

    @classmethod
    def from_replies(cls, replies: dict[str, str], label: str = "replay") -> "ReplayBackend":
        """A replay of fixed greedy replies, keyed by the prompts themselves."""
        return cls((ReplayRecord(prompt_sha256(p), t) for p, t in replies.items()), label=label)

    def __len__(self) -> int:
        return len(self._records)

    def complete(self, prompts: Sequence[str], max_new_tokens: int, cancel: threading.Event | None = None,
                 sampling: Sampling | None = None) -> list[Completion]:
        seed = sampling.seed if sampling is not None else None
        keys = [(prompt_sha256(p), k, seed) for p, k in zip(prompts, _copy_numbers(prompts))]
        missing = [i for i, key in enumerate(keys) if key not in self._records]
        if missing and self.record_with is None:
            where = f" in {self.path}" if self.path else ""
            sha, copy, _ = keys[missing[0]]
            decoding = "greedy" if seed is None else f"sampling seed {seed}"
            raise ReplayMiss(f"no recorded reply{where} for {len(missing)} of {len(prompts)} prompts (first: sha256 "
                             f"{sha}, candidate {copy}, {decoding}); record them with the model first")
        if missing:
            fresh = self.record_with.complete([prompts[i] for i in missing], max_new_tokens, cancel, sampling)
            new = [ReplayRecord(keys[i][0], c.text, c.seconds, c.new_tokens, keys[i][1], seed)
                   for i, c in zip(missing, fresh)]
            for record in new:
                self._records[record.key] = record
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as out:
                    for record in new:
                        out.write(json.dumps(record.to_json()) + "\n")
            fresh_by_index = dict(zip(missing, fresh))
            return [fresh_by_index[i] if i in fresh_by_index else self._completion(key)
                    for i, key in enumerate(keys)]
        return [self._completion(key) for key in keys]

    def _completion(self, key: tuple[str, int, int | None]) -> Completion:
        record = self._records[key]
        return Completion(record.text, record.seconds, record.new_tokens)

    def describe(self) -> dict:
        described = {"backend": self.label, "replies": len(self._records),
                     "file": str(self.path) if self.path else None}
        if self.record_with is not None:
            described["recording"] = self.record_with.describe()
        return described


def read_replay(path: Path) -> list[ReplayRecord]:
    """The records of a replay file; a malformed line is an error naming its number."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                records.append(ReplayRecord(str(data["prompt_sha256"]), str(data["text"]),
                                            float(data.get("seconds", 0.0)), int(data.get("new_tokens", 0)),
                                            int(data.get("candidate", 0)),
                                            None if data.get("seed") is None else int(data["seed"])))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise BackendError(f"{path}:{number}: not a replay record ({exc}); expected "
                                   '{"prompt_sha256": ..., "text": ...}') from exc
    return records
