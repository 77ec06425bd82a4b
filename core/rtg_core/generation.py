"""Generating tests: the prompt contract of `rtg_core.prompt`, batched greedy decoding, the reply parsed back.

Training tokenises `chat_prompt(code)` on its own (no special tokens added) and learns to continue it with
`answer(tests)`; this module sends prompts tokenised the same way, so what was learnt is what is asked.

- `generate_completions(model, tokenizer, prompts)`: the raw replies to full prompts (e.g. `chat_prompt(code)` or
  `repair_prompt(...)`), each cut after `<|im_end|>`; a `cancel` event stops decoding early.
- `generate_tests(model, tokenizer, code)`: `chat_prompt` in, `parse_answer` out: the test items themselves.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

from rtg_core.prompt import IM_END, chat_prompt, parse_answer


def generate_completions(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 512, batch_size: int = 8,
                         cancel: threading.Event | None = None) -> list[str]:
    """Greedy replies to `prompts`, decoded up to and including `<|im_end|>` (or the token budget).

    Prompts are left-padded in batches of `batch_size`; the model's train/eval mode is restored afterwards.
    When `cancel` is set, decoding stops at the next token and the replies so far are returned.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Cancelled(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

    end_id = tokenizer.convert_tokens_to_ids(IM_END)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_id
    device = next(p for p in model.parameters()).device
    stopping = StoppingCriteriaList([_Cancelled()]) if cancel is not None else None
    was_training = model.training
    model.eval()
    replies: list[str] = []
    try:
        for start in range(0, len(prompts), batch_size):
            if cancel is not None and cancel.is_set():
                replies.extend("" for _ in prompts[start:start + batch_size])
                continue
            encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts[start:start + batch_size]]
            width = max(len(e) for e in encoded)
            input_ids = torch.tensor([[pad_id] * (width - len(e)) + e for e in encoded], device=device)
            attention_mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded], device=device)
            with torch.no_grad():
                out = model.generate(input_ids=input_ids, attention_mask=attention_mask, do_sample=False,
                                     temperature=None, top_p=None, top_k=None, max_new_tokens=max_new_tokens,
                                     eos_token_id=end_id, pad_token_id=pad_id, stopping_criteria=stopping,
                                     use_cache=True)
            for row in out[:, width:].tolist():
                if end_id in row:
                    row = row[: row.index(end_id) + 1]
                replies.append(tokenizer.decode(row, skip_special_tokens=False))
    finally:
        model.train(was_training)
    return replies


def generate_tests(model, tokenizer, code: str | Sequence[str], max_new_tokens: int = 512,
                   batch_size: int = 8) -> list[str]:
    """Greedy tests for each function in `code` (one string or several): the Rust items of each reply."""
    codes = [code] if isinstance(code, str) else list(code)
    replies = generate_completions(model, tokenizer, [chat_prompt(c) for c in codes], max_new_tokens, batch_size)
    return [parse_answer(reply) for reply in replies]
