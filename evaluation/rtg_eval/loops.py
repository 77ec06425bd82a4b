"""The two feedback loops of model evaluation, as prompts and merges (the judging happens in `model_eval`).

- Repair (`--repair N`): tests that do not build go back to the model with cargo's diagnostics
  (`rtg_core.prompt.repair_prompt`, the server's prompt), and the answer replaces them.
- Kill survivors (`--kill-survivors N`): tests that pass but miss mutants are shown those mutants as diffs and
  asked for more tests; the new tests are added to the old ones, and kept only if all still pass and catch at
  least as many mutants as before.
"""
from __future__ import annotations

import difflib
import re

from rtg_core.prompt import IM_END, IM_START, answer, chat_prompt
from rtg_core.rust_source import find_test_module, functions, insert_tests, is_test_module, macro_test_functions
from rtg_eval.judge import MutantVerdict, SampleVerdict
from rtg_eval.mutation import MutantSet

MAX_PROBLEM_CHARS = 3000  # cargo's diagnostics shown to the model; the first errors say the most
NO_TESTS = ("The reply held no tests: no #[test] fn and no proptest! property was found. Write #[test] functions "
            "that call the function and assert on its results.")


def repair_problems(verdict: SampleVerdict) -> str | None:
    """What to tell the model about tests that need repair; None when they need none."""
    if not verdict.compiles:
        text = "\n\n".join(verdict.compile_errors) or "the tests do not compile"
        return text[:MAX_PROBLEM_CHARS]
    if not verdict.tests_total:
        return NO_TESTS
    return None


def mutant_diff(code: str, mutated: str, label: str, context: int = 1) -> str:
    """A unified diff from the code under test to a mutant (or to a people-written bug)."""
    lines = difflib.unified_diff(code.splitlines(), mutated.splitlines(), "original", label, n=context,
                                 lineterm="")
    return "\n".join(lines)


def survivors_prompt(code: str, tests: str, diffs: list[str]) -> str:
    """A follow-up turn: the model's passing tests, then the mutants they miss, and the request for more tests."""
    shown = "\n\n".join(f"```diff\n{d}\n```" for d in diffs)
    request = (
        "Your tests pass, but they also pass on these changed versions of the function (mutants), so they would "
        f"miss these bugs:\n\n{shown}\n\nWrite additional tests that pass on the original function and fail on "
        "each mutant. Reply with the new test items only, with names the existing tests do not use."
    )
    return chat_prompt(code) + answer(tests) + f"\n{IM_START}user\n{request}{IM_END}\n{IM_START}assistant\n"


def survivor_diffs(code: str, mutant_set: MutantSet, mutants: list[MutantVerdict], limit: int) -> list[str]:
    """Diffs of up to `limit` missed mutants (the judge's sample, in its order)."""
    missed = [m for m in mutants if m.outcome == "missed" and m.mutant >= 0][:limit]
    return [mutant_diff(code, mutant_set.mutants[m.mutant].apply(code), f"mutant {m.mutant} ({m.operator})")
            for m in missed]


def test_names(tests: str) -> set[str]:
    return {f.name for f in functions(tests) if f.is_test} | {t.name for t in macro_test_functions(tests)}


def merge_tests(previous: str, extra: str) -> str:
    """`previous` with `extra` added: into its `mod tests` if it is one, else after it. Test fns of `extra` whose
    names `previous` already uses are renamed (`name_2`), so the merge compiles where both parts do."""
    module = find_test_module(extra) if is_test_module(extra) else None
    if module is not None:  # the reply is a whole `mod tests`: take its items
        extra = extra.encode()[module.body_start_byte:module.body_end_byte].decode()
    taken = test_names(previous)
    for name in sorted(test_names(extra) & taken):
        suffix = 2
        while f"{name}_{suffix}" in taken:
            suffix += 1
        extra = re.sub(rf"\bfn\s+{re.escape(name)}\b", f"fn {name}_{suffix}", extra)
        taken.add(f"{name}_{suffix}")
    if is_test_module(previous):
        return insert_tests(previous, extra)
    return previous.rstrip() + "\n\n" + extra.strip() + "\n"
