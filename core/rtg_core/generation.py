"""Generating tests: the prompt contract of `rtg_core.prompt`, batched greedy decoding, the reply parsed back.

Training tokenises `chat_prompt(code)` on its own (no special tokens added) and learns to continue it with
`answer(tests)`; this module sends exactly those prompt tokens, so what was learnt is what is asked.
"""
from __future__ import annotations

from collections.abc import Sequence

from rtg_core.prompt import IM_END, chat_prompt, parse_answer


def generate_tests(model, tokenizer, code: str | Sequence[str], max_new_tokens: int = 512,
                   batch_size: int = 8) -> list[str]:
    """Greedy tests for each function in `code` (one string or several), parsed with `parse_answer`.

    Decoding stops at `<|im_end|>`. Prompts are left-padded in batches of `batch_size`. The model's
    train/eval mode is restored afterwards.
    """
    import torch

    codes = [code] if isinstance(code, str) else list(code)
    end_id = tokenizer.convert_tokens_to_ids(IM_END)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_id
    device = next(p for p in model.parameters()).device
    was_training = model.training
    model.eval()
    replies: list[str] = []
    try:
        for start in range(0, len(codes), batch_size):
            prompts = [tokenizer(chat_prompt(c), add_special_tokens=False)["input_ids"]
                       for c in codes[start:start + batch_size]]
            width = max(len(p) for p in prompts)
            input_ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=device)
            attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
            with torch.no_grad():
                out = model.generate(input_ids=input_ids, attention_mask=attention_mask, do_sample=False,
                                     max_new_tokens=max_new_tokens, eos_token_id=end_id, pad_token_id=pad_id,
                                     use_cache=True)
            for row in out[:, width:].tolist():
                if end_id in row:
                    row = row[: row.index(end_id) + 1]
                replies.append(parse_answer(tokenizer.decode(row, skip_special_tokens=False)))
    finally:
        model.train(was_training)
    return replies
