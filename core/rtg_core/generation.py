"""Generating tests: the prompt contract of `rtg_core.prompt`, batched greedy decoding, the reply parsed back.

Training tokenises `chat_prompt(code)` on its own (no special tokens added) and learns to continue it with
`answer(tests)`; this module sends prompts tokenised the same way, so what was learnt is what is asked.

- `generate_completions(model, tokenizer, prompts)`: the raw replies to full prompts (e.g. `chat_prompt(code)` or
  `repair_prompt(...)`), each cut after `<|im_end|>`; a `cancel` event stops decoding early.
- `generate_tests(model, tokenizer, code)`: `chat_prompt` in, `parse_answer` out: the test items themselves.
- `is_degenerate(text)`: whether a reply has fallen into a loop (the same lines, numbers aside, over and over);
  decoding stops such a row there instead of spending the rest of the budget on it.
- `Decoding`: the decoding settings besides greedy or sampling, typed, in one place.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rtg_core.prompt import IM_END, chat_prompt, parse_answer


LOOP_WINDOW_LINES = 24  # a loop must fill this many non-blank lines: with 4-line tests, 6 copies of one shape
LOOP_MAX_PERIOD = 8  # the longest repeating unit looked for, in lines
LOOP_CHECK_EVERY = 8  # tokens between checks (each decodes the row's tail)
PROGRESS_EVERY = 32  # tokens between progress reports
_NUMBER = re.compile(r"\d+")
_ITEM_STARTS = ("#[", "fn ", "pub fn ", "proptest!", "quickcheck!")


@dataclass(frozen=True)
class Decoding:
    """How a reply is decoded, besides greedy or sampling (`rtg_core.backends.Sampling`). A value left at None is
    the model's own `generation_config` (the fetched Qwen2.5-Coder brings Qwen's: repetition penalty 1.1)."""

    repetition_penalty: float | None = None
    stop_loops: bool = True  # stop a row that `is_degenerate` instead of decoding it to the token budget

    def describe(self) -> str:
        penalty = "the model's" if self.repetition_penalty is None else self.repetition_penalty
        return f"repetition penalty {penalty}; loop stop {'on' if self.stop_loops else 'off'}"


def is_degenerate(text: str) -> bool:
    """The last `LOOP_WINDOW_LINES` complete non-blank lines repeat, numbers masked, with a period of at most
    `LOOP_MAX_PERIOD` lines that starts a new item each time: `fn double_8() { assert_eq!(double(8), 16); }` and
    its successors are one shape. One long table of assertions inside a single test is no loop."""
    complete = text if text.endswith("\n") else text.rpartition("\n")[0]
    lines = [_NUMBER.sub("0", line.strip()) for line in complete.splitlines() if line.strip()][-LOOP_WINDOW_LINES:]
    if len(lines) < LOOP_WINDOW_LINES:
        return False
    return any(all(lines[i] == lines[i + period] for i in range(len(lines) - period))
               and any(line.startswith(_ITEM_STARTS) for line in lines[:period])
               for period in range(1, LOOP_MAX_PERIOD + 1))


def generate_completions(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 512, batch_size: int = 8,
                         cancel: threading.Event | None = None, decoding: Decoding = Decoding(),
                         progress: Callable[[int], None] | None = None) -> list[str]:
    """Greedy replies to `prompts`, decoded up to and including `<|im_end|>` (or the token budget).

    Prompts are left-padded in batches of `batch_size`; the model's train/eval mode is restored afterwards.
    `progress(tokens)`, if given, hears how many tokens each row of the batch has so far, every few tokens.
    When `cancel` is set, decoding stops at the next token and the replies so far are returned. A row that
    `is_degenerate` stops there (its complete items are still there for salvage), unless `decoding` says not to.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Cancelled(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

    class _Looping(StoppingCriteria):
        def __init__(self):
            self.width = 0  # the padded prompt width of the batch being decoded

        def __call__(self, input_ids, scores, **kwargs):
            done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
            generated = input_ids.shape[1] - self.width
            if generated == 0 or generated % LOOP_CHECK_EVERY:
                return done
            for row in range(input_ids.shape[0]):
                if int(input_ids[row, -1]) in (end_id, pad_id):  # finished: generate pads it from here on
                    continue
                tail = tokenizer.decode(input_ids[row, max(self.width, input_ids.shape[1] - 600):].tolist())
                done[row] = is_degenerate(tail)
            return done

    class _Progress(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            generated = input_ids.shape[1] - looping.width
            if generated % PROGRESS_EVERY == 0:
                progress(generated)
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    end_id, pad_id = end_and_pad_ids(tokenizer)
    device = next(p for p in model.parameters()).device
    looping = _Looping()
    stopping = StoppingCriteriaList(([_Cancelled()] if cancel is not None else []) +
                                    ([looping] if decoding.stop_loops else []) +
                                    ([_Progress()] if progress is not None else []))
    overrides = {} if decoding.repetition_penalty is None else {"repetition_penalty": decoding.repetition_penalty}
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
            looping.width = width
            with torch.no_grad():
                out = model.generate(input_ids=input_ids, attention_mask=attention_mask, do_sample=False,
                                     temperature=None, top_p=None, top_k=None, max_new_tokens=max_new_tokens,
                                     eos_token_id=end_id, pad_token_id=pad_id, stopping_criteria=stopping,
                                     use_cache=True, **overrides)
            for row in out[:, width:].tolist():
                replies.append(tokenizer.decode(reply_tokens(row, end_id, pad_id), skip_special_tokens=False))
    finally:
        model.train(was_training)
    return replies


def end_and_pad_ids(tokenizer) -> tuple[int, int]:
    """The end of the assistant's turn, and the padding (the end itself where the tokenizer has none)."""
    end_id = tokenizer.convert_tokens_to_ids(IM_END)
    return end_id, tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_id


def reply_tokens(row: list[int], end_id: int, pad_id: int) -> list[int]:
    """A generated row up to and including the end of its turn; a row stopped early (a loop) loses the padding
    that generate appends to it while the other rows go on."""
    if end_id in row:
        return row[: row.index(end_id) + 1]
    while row and row[-1] == pad_id:
        row = row[:-1]
    return row


def generate_tests(model, tokenizer, code: str | Sequence[str], max_new_tokens: int = 512,
                   batch_size: int = 8) -> list[str]:
    """Greedy tests for each function in `code` (one string or several): the Rust items of each reply."""
    codes = [code] if isinstance(code, str) else list(code)
    replies = generate_completions(model, tokenizer, [chat_prompt(c) for c in codes], max_new_tokens, batch_size)
    return [parse_answer(reply) for reply in replies]
