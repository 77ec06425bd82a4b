"""`tiny-qwen2`: a small, randomly initialised model of the exact Qwen2 architecture, for smoke runs and tests.

Same module names as Qwen2.5-Coder (q/k/v/o_proj, gate/up/down_proj), grouped-query attention and tied
embeddings, so LoRA, 4-bit quantisation, checkpoints and generation all take the real code path, in seconds on a
CPU. Its byte-level BPE tokenizer is trained by HF `tokenizers` on the texts it is given (the corpus), with the
ChatML special tokens of `rtg_core.prompt`. It knows nothing: every output it produces says so.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from rtg_core.prompt import IM_END, SPECIAL_TOKENS

TINY_QWEN2 = "tiny-qwen2"
SMOKE_NOTE = (
    "tiny-qwen2 is a randomly initialised smoke-test model (Qwen2 architecture, a few hundred thousand "
    "parameters): its outputs and adapters show that the pipeline runs, nothing about test quality."
)
PAD_TOKEN = "<|endoftext|>"

# The architecture: the real model's shape, scaled down. Qwen2.5-Coder-0.5B is 896 / 24 / 14 / 2 / 4864.
HIDDEN_SIZE = 128
NUM_LAYERS = 2
NUM_HEADS = 4  # head dim 32
NUM_KV_HEADS = 2  # grouped-query attention, 2 query heads per kv head
INTERMEDIATE_SIZE = 384
VOCAB_SIZE = 2048  # an upper bound: a small corpus yields fewer merges
MAX_POSITIONS = 4096
INIT_STD = 0.1  # Qwen uses 0.02; at width 128 that caps the logits (tied, frozen embeddings) near +-3, so even
#                 a memorised answer keeps a loss near 4. 0.1 lets a few steps of LoRA reach clear margins.


def train_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE):
    """A byte-level BPE tokenizer trained on `texts`, ChatML tokens included. Same texts, same tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    # Qwen2's own pipeline (NFC, its split regex, byte-level), so that `AutoTokenizer`, which loads this directory
    # as a `Qwen2Tokenizer` and rebuilds that pipeline, splits text exactly as the trainer did.
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t not in (IM_END, PAD_TOKEN)],
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
    )


def tiny_qwen2_config(tokenizer):
    from transformers import Qwen2Config

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN_SIZE,
        intermediate_size=INTERMEDIATE_SIZE,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=NUM_HEADS,
        num_key_value_heads=NUM_KV_HEADS,
        max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        initializer_range=INIT_STD,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config.rtg_note = SMOKE_NOTE  # saved in config.json, so every copy of the model carries it
    return config


def build_tiny_qwen2(texts: Iterable[str], out_dir: Path, seed: int = 0) -> Path:
    """Train the tokenizer on `texts`, initialise the model from `seed`, save both to `out_dir`; return it.

    The directory loads with `AutoModelForCausalLM.from_pretrained` / `AutoTokenizer.from_pretrained`. The same
    texts and seed give the same bytes.
    """
    import torch
    from transformers import Qwen2ForCausalLM

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(texts)
    config = tiny_qwen2_config(tokenizer)
    devices = []  # fork the RNG so that building the model leaves the caller's random state alone
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = None
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "README.md").write_text(f"# {TINY_QWEN2}\n\n{SMOKE_NOTE}\n\nBuilt by rtg_core.tiny_qwen2 "
                                       f"(seed {seed}, vocabulary {len(tokenizer)}).\n")
    (out_dir / "rtg_tiny_qwen2.json").write_text(json.dumps({"seed": seed, "note": SMOKE_NOTE}, indent=2) + "\n")
    return out_dir


def is_tiny_qwen2(model_dir: Path | str) -> bool:
    """Whether a model directory holds a tiny-qwen2 smoke-test model."""
    return (Path(model_dir) / "rtg_tiny_qwen2.json").is_file()
