from rtg_core.prompt import IM_END, IM_START, answer, chat_prompt, parse_answer

CODE = "pub fn double(x: i32) -> i32 {\n    x * 2\n}\n"
TESTS = "#[test]\nfn doubles_two() {\n    assert_eq!(double(2), 4);\n}"


def test_chat_prompt_is_chatml_ending_at_the_assistant_turn():
    prompt = chat_prompt(CODE)
    assert prompt.startswith(f"{IM_START}system\n")
    assert prompt.count(IM_START) == 3 and prompt.count(IM_END) == 2
    assert prompt.endswith(f"{IM_START}assistant\n")
    assert "pub fn double(x: i32) -> i32 {\n    x * 2\n}" in prompt


def test_answer_round_trips_through_parse_answer():
    assert parse_answer(answer(TESTS)) == TESTS


def test_parse_answer_cuts_at_the_end_of_the_turn():
    assert parse_answer(TESTS + IM_END + "\n<|im_start|>user\nmore") == TESTS


def test_parse_answer_strips_code_fences_and_prose():
    reply = f"Here are tests:\n```rust\n{TESTS}\n```\nThey cover doubling."
    assert parse_answer(reply) == TESTS


def test_parse_answer_keeps_an_unclosed_fence_body():
    assert parse_answer(f"```rust\n{TESTS}") == TESTS


def test_repair_prompt_extends_the_first_turn_with_the_problems():
    from rtg_core.prompt import repair_prompt

    prompt = repair_prompt(CODE, TESTS, "error[E0425]: cannot find function `triple`")
    assert prompt.startswith(chat_prompt(CODE) + answer(TESTS))
    assert "cannot find function `triple`" in prompt
    assert prompt.endswith(f"{IM_START}assistant\n")


def test_parse_answer_keeps_every_fence_and_a_last_one_left_open_by_the_budget():
    second = "#[test]\nfn doubles_zero() {\n    assert_eq!(double(0), 0);"
    reply = f"First:\n```rust\n{TESTS}\n```\nAnd a cut one:\n```rust\n{second}"
    assert parse_answer(reply) == f"{TESTS}\n\n{second}"


def test_parse_answer_without_fences_is_the_whole_reply():
    assert parse_answer(f"\n{TESTS}\n") == TESTS


def test_parse_answer_reads_a_fence_closed_on_the_code_line_and_an_info_string():
    assert parse_answer(f"```rust,ignore\n{TESTS}```\nThat is all.") == TESTS
