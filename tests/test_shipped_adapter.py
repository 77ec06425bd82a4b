"""The adapter rtg ships (adapters/rtg-qwen2.5-coder-0.5b-testgen): plain PEFT loads it on the base model it names,
its card and lock describe these very weights, and the commands use it by default on that base model only."""
import json

import pytest
import torch
import yaml

from rtg_core.adapters import SHIPPED_BASE, SHIPPED_DIR, chosen_adapter
from rtg_core.files import file_sha256
from rtg_core.model import load_tokenizer, resolve_model
from rtg_core.prompt import chat_prompt


def test_plain_peft_loads_it_on_the_base_model_it_names_and_it_changes_the_model():
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    config = json.loads((SHIPPED_DIR / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "Qwen/Qwen2.5-Coder-0.5B-Instruct" == SHIPPED_BASE
    assert (config["r"], config["lora_alpha"], sorted(config["target_modules"])) == (
        16, 32, sorted(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    base_dir = resolve_model(config["base_model_name_or_path"], allow_download=False)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.bfloat16)
    prompt = load_tokenizer(base_dir)(chat_prompt("pub fn double(x: i32) -> i32 {\n    x * 2\n}\n"),
                                      return_tensors="pt")["input_ids"]
    with torch.no_grad():
        before = base(prompt).logits[0, -1].float()
        model = PeftModel.from_pretrained(base, SHIPPED_DIR)
        after = model(prompt).logits[0, -1].float()
    assert (after - before).abs().max() > 0.1  # the adapter's weights are in play, not zeros


def test_its_card_and_lock_describe_these_weights():
    sha = file_sha256(SHIPPED_DIR / "adapter_model.safetensors")
    lock = json.loads((SHIPPED_DIR / "reproducibility.lock").read_text())
    published = lock["published"]  # bf16 weights cast from the float32 checkpoint the run trained and hashed
    assert published == {"adapter_sha256": sha, "dtype": "bfloat16",
                         "trained_adapter_sha256": lock["adapters"]["checkpoints/best/adapter_model.safetensors"]}
    card = (SHIPPED_DIR / "README.md").read_text()
    assert sha in card and lock["model"]["weights"]["gguf"]["sha256"] in card  # adapter and base-weight hashes
    assert yaml.safe_load(card.split("---")[1])["base_model"] == SHIPPED_BASE
    assert "scripts/build_adapter.sh" in card  # the command that rebuilds it


@pytest.mark.parametrize("choice, model, expected", [
    (None, None, SHIPPED_DIR), ("default", SHIPPED_BASE, SHIPPED_DIR), ("", None, SHIPPED_DIR),
    ("none", None, None), ("NONE", SHIPPED_BASE, None), (None, "tiny-qwen2", None),
    (None, "Qwen/Qwen2.5-Coder-1.5B-Instruct", None), ("/some/adapter", "tiny-qwen2", "/some/adapter"),
])
def test_commands_use_it_by_default_on_its_base_model(choice, model, expected):
    chosen = chosen_adapter(choice, model)
    assert (str(chosen) if chosen is not None else None) == (str(expected) if expected is not None else None)
