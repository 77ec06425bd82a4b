"""The prompt contract: one ChatML definition shared by training, evaluation and the server.

Training teaches the model to answer `chat_prompt(code)` with `answer(tests)`; generation sends the same prompt
and reads the reply back with `parse_answer`. Change it here, and every consumer changes with it.
"""
from __future__ import annotations

import re

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (IM_START, IM_END, "<|endoftext|>")

SYSTEM_PROMPT = (
    "You are an expert Rust engineer. Given a Rust function, write tests for it: #[test] functions and, "
    "where a property holds for many inputs, proptest! properties. Test behaviour, edge cases and errors. "
    "Reply with Rust code only: the test items, without a surrounding module."
)

_FENCE_OPEN = re.compile(r"^\s*```[\w+.,-]*\s*$")  # ```rust, ```rust,ignore, ```


def user_message(code: str) -> str:
    return f"Write tests for this Rust function:\n\n```rust\n{code.strip()}\n```"


def chat_prompt(code: str) -> str:
    """Everything the model sees before its answer, ending where the assistant's turn begins."""
    return (
        f"{IM_START}system\n{SYSTEM_PROMPT}{IM_END}\n"
        f"{IM_START}user\n{user_message(code)}{IM_END}\n"
        f"{IM_START}assistant\n"
    )


def answer(tests: str) -> str:
    """What the model is trained to produce after `chat_prompt`: the tests, then the end of its turn."""
    return f"{tests.strip()}\n{IM_END}"


def repair_prompt(code: str, previous_tests: str, problems: str) -> str:
    """A second turn: the model sees its previous tests and what was wrong with them, and answers again."""
    request = (
        "These tests are not valid:\n\n" + problems.strip() + "\n\nWrite the tests again, fixed. "
        "Reply with Rust code only."
    )
    return chat_prompt(code) + answer(previous_tests) + f"\n{IM_START}user\n{request}{IM_END}\n{IM_START}assistant\n"


def parse_answer(generated: str) -> str:
    """The Rust code in a model's reply: cut at the end of the turn; where there are code fences, only what they
    hold (prose between them ignored), a last fence left open by the token budget included."""
    text = generated.split(IM_END, 1)[0]
    blocks: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        if not inside and _FENCE_OPEN.match(line):
            inside = True
            blocks.append([])
        elif inside and line.rstrip().endswith("```"):  # a closing fence, alone or right after code
            blocks[-1].append(line.rstrip()[:-3])
            inside = False
        elif inside:
            blocks[-1].append(line)
    if not blocks:
        return text.strip()
    return "\n\n".join("\n".join(block).strip() for block in blocks if any(line.strip() for line in block))
