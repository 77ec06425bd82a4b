"""rtg_core.model and rtg_core.tiny_qwen2: device choice, where models come from, 4-bit loading on a CPU."""
import json
from pathlib import Path

import pytest
import torch

from rtg_core.model import (DeviceUnavailable, ModelUnavailable, choose_device, load_base_model, load_tokenizer,
                            resolve_model, torch_dtype)
from rtg_core.prompt import SPECIAL_TOKENS, answer, chat_prompt
from rtg_core.tiny_qwen2 import SMOKE_NOTE, build_tiny_qwen2, is_tiny_qwen2

CORPUS = Path(__file__).parent / "fixtures" / "tiny_corpus"
QWEN = "Qwen/Qwen2.5-Coder-0.5B-Instruct"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def corpus_texts() -> list[str]:
    rows = [json.loads(line) for line in (CORPUS / "train.jsonl").read_text().splitlines()]
    return [chat_prompt(r["input"]) + answer(r["output"]) for r in rows]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_qwen2(corpus_texts(), tmp_path_factory.mktemp("tiny") / "tiny-qwen2", seed=0)


# --- devices ----------------------------------------------------------------------------------------------------

def test_cpu_is_chosen_when_asked():
    assert choose_device("cpu").torch_device == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_auto_falls_back_to_the_cpu_without_cuda():
    choice = choose_device("auto")
    assert (choice.type, choice.reason) == ("cpu", "no CUDA device")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_says_what_to_use_instead():
    with pytest.raises(DeviceUnavailable, match="use --device cpu"):
        choose_device("cuda")


def test_an_unknown_device_is_refused():
    with pytest.raises(DeviceUnavailable, match="auto, cuda, cpu"):
        choose_device("tpu")


def test_fp16_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="use bfloat16 or float32"):
        torch_dtype("float16")


# --- where a model comes from -----------------------------------------------------------------------------------

def test_an_offline_hub_id_names_the_id_the_variable_and_the_local_way_out(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache, whatever this machine holds
    monkeypatch.setenv("RTG_CACHE_DIR", str(tmp_path / "rtg"))  # and nothing `rtg-model fetch` built
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as error:
        resolve_model(QWEN)
    message = str(error.value)
    assert QWEN in message and "HF_HUB_OFFLINE" in message and "--model /path/to/Qwen2.5-Coder-0.5B-Instruct" in message
    assert "rtg-model fetch --size 0.5b" in message


def test_a_hub_id_is_not_downloaded_when_downloads_are_off(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("RTG_CACHE_DIR", str(tmp_path / "rtg"))
    with pytest.raises(ModelUnavailable, match="downloads are off"):
        resolve_model(QWEN, allow_download=False)


def test_a_directory_without_config_is_not_a_model(tmp_path):
    with pytest.raises(ModelUnavailable, match="no config.json"):
        resolve_model(str(tmp_path))


def test_a_missing_path_is_not_taken_for_a_hub_id(tmp_path):
    with pytest.raises(ModelUnavailable, match="no such model directory"):
        resolve_model(str(tmp_path / "nowhere"))


def test_a_local_directory_is_used_as_it_is(tiny):
    assert resolve_model(str(tiny)) == tiny


# --- tiny-qwen2 -------------------------------------------------------------------------------------------------

def test_tiny_qwen2_is_the_qwen2_architecture_with_gqa_and_tied_embeddings(tiny):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny)
    assert config.model_type == "qwen2" and config.tie_word_embeddings
    assert config.num_key_value_heads < config.num_attention_heads
    assert config.rtg_note == SMOKE_NOTE and "smoke-test" in (tiny / "README.md").read_text()
    model = AutoModelForCausalLM.from_pretrained(tiny)
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    assert set(LORA_TARGETS) <= names
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert is_tiny_qwen2(tiny)


def test_tiny_qwen2_tokenizer_has_the_chatml_tokens_and_round_trips(tiny):
    tokenizer = load_tokenizer(tiny)
    for token in SPECIAL_TOKENS:
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token is not None
    text = corpus_texts()[0]
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_tiny_qwen2_is_built_byte_for_byte_the_same_from_the_same_texts(tiny, tmp_path):
    again = build_tiny_qwen2(corpus_texts(), tmp_path / "again", seed=0)
    files = sorted(p.name for p in tiny.iterdir())
    assert files == sorted(p.name for p in again.iterdir())
    assert all((tiny / name).read_bytes() == (again / name).read_bytes() for name in files)


# --- 4-bit on the CPU -------------------------------------------------------------------------------------------

def lora_model(tiny, fix: bool):
    from bitsandbytes.nn import Linear4bit
    from peft import LoraConfig, get_peft_model

    base = load_base_model(tiny, choose_device("cpu"), load_in_4bit=True)
    layers = [m for m in base.modules() if isinstance(m, Linear4bit)]
    assert layers and not any(m.support_avx512bf16_for_cpu for m in layers)  # the fix is applied on load
    if not fix:
        for layer in layers:
            layer.support_avx512bf16_for_cpu = True
    for parameter in base.parameters():
        parameter.requires_grad_(False)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=LORA_TARGETS, task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    tokenizer = load_tokenizer(tiny)
    batch = torch.tensor([tokenizer(corpus_texts()[0], add_special_tokens=False)["input_ids"]])

    def train_step():
        model.train()
        model(input_ids=batch, labels=batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    def validate():
        model.eval()
        with torch.no_grad():
            return model(input_ids=batch, labels=batch).loss.item()

    return train_step, validate


def test_4bit_training_survives_a_validation_between_steps(tiny):
    train_step, validate = lora_model(tiny, fix=True)
    train_step()
    before = validate()
    train_step()
    assert validate() < before


def test_without_the_fix_bitsandbytes_breaks_training_after_validation(tiny):
    from bitsandbytes.functional import has_avx512bf16

    if not has_avx512bf16():
        pytest.skip("the bug needs a CPU with AVX512-BF16")
    train_step, validate = lora_model(tiny, fix=False)
    train_step()
    validate()
    with pytest.raises(RuntimeError, match="in-place operation"):  # if this passes, bitsandbytes fixed it
        train_step()


def test_on_the_cpu_a_model_computes_in_bf16_only_where_the_cpu_has_bf16_instructions(tiny):
    """Without AVX512-BF16 or AMX, torch's bf16 matmuls run about a hundred times slower than float32 ones."""
    import torch

    from rtg_core.backends import LocalBackend
    from rtg_core.model import choose_device, fast_compute_dtype

    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert fast_compute_dtype(choose_device("cpu")) == ("bfloat16" if native else "float32")
    backend = LocalBackend(str(tiny), device="cpu", load_in_4bit=False)
    assert backend.describe()["dtype"] is None  # nothing loaded yet
    backend.load()
    assert backend.describe()["dtype"] == fast_compute_dtype(choose_device("cpu"))
    named = LocalBackend(str(tiny), device="cpu", load_in_4bit=False, compute_dtype="bfloat16")
    named.load()
    assert named.dtype == "bfloat16"  # a dtype the caller names is kept
