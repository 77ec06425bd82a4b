"""The repair and kill-survivors loops of model evaluation, judged for real; the model is a script that answers
by the turn it is asked (first answer, repair, or mutants to kill), so each loop's effect is known in advance."""
from rtg_core.backends import Completion
from rtg_core.prompt import answer
from rtg_eval.judge import JudgeConfig
from rtg_eval.loops import merge_tests, survivors_prompt
from rtg_eval.model_eval import EvalSettings, as_generation_targets, evaluate_model
from rtg_eval.samples import JudgeSample
from rtg_eval.tool_checks import MAX_ROUNDS
from rust_fixtures import CLAMP, CLAMP_THOROUGH, CLAMP_WEAK, PARSE_DIGIT, PARSE_DIGIT_THOROUGH, PARSE_DIGIT_WEAK, rust

JUDGE = JudgeConfig(coverage=False)
DOES_NOT_BUILD = rust("""
    #[test]
    fn five_is_a_digit() { assert_eq!(parse_digit("five"), Some(5)); }
""")  # no fix rustc is sure of (for "5" it is: '5')
WRONG_EXTRA = rust("""
    #[test]
    fn clamp_of_twenty() { assert_eq!(clamp(20, 0, 10), 20); }
""")


class Scripted:
    """Replies by the last turn of the prompt: the first request, a repair request, or a kill-survivors request."""

    live = True

    def __init__(self, first: dict[str, str], repair: dict[str, str] | None = None,
                 survivors: dict[str, str] | None = None):
        self.first, self.repair, self.survivors = first, repair or {}, survivors or {}
        self.prompts: list[str] = []

    def complete(self, prompts, max_new_tokens, cancel=None):
        replies = []
        for prompt in prompts:
            self.prompts.append(prompt)
            name = "clamp" if "pub fn clamp" in prompt else "parse_digit"
            if "mutants" in prompt.rsplit("user\n", 1)[-1]:
                text = self.survivors.get(name, "")
            elif "These tests are not valid" in prompt:
                text = self.repair[name]
            else:
                text = self.first[name]
            replies.append(Completion(answer(text), 0.01, 5))
        return replies

    def describe(self):
        return {"backend": "scripted"}


def targets() -> list[JudgeSample]:
    return as_generation_targets([JudgeSample("clamp", CLAMP, CLAMP_THOROUGH),
                                  JudgeSample("parse_digit", PARSE_DIGIT, PARSE_DIGIT_THOROUGH)])


def test_repair_sends_cargos_errors_back_and_counts_with_and_without_it():
    model = Scripted(first={"clamp": CLAMP_THOROUGH, "parse_digit": DOES_NOT_BUILD},
                     repair={"parse_digit": PARSE_DIGIT_THOROUGH})
    run = evaluate_model(targets(), model, EvalSettings(repair=2, judge=JUDGE))
    repair_prompts = [p for p in model.prompts if "These tests are not valid" in p]
    assert len(repair_prompts) == 1 and "mismatched types" in repair_prompts[0]
    assert run.stages["initial"]["compile_rate"] == 0.5
    assert run.stages["repair"]["compile_rate"] == 1.0
    assert [v.passes for v in run.verdicts] == [True, True]
    assert [a.round for a in run.attempts] == ["initial", "initial", "repair 1"]


def test_kill_survivors_shows_missed_mutants_and_keeps_tests_that_catch_more():
    model = Scripted(first={"clamp": CLAMP_WEAK, "parse_digit": PARSE_DIGIT_WEAK},
                     survivors={"clamp": CLAMP_THOROUGH, "parse_digit": PARSE_DIGIT_THOROUGH})
    run = evaluate_model(targets(), model, EvalSettings(kill_survivors=1, judge=JUDGE, clippy=False))
    asked = [p for p in model.prompts if "they also pass on these changed versions" in p]
    assert len(asked) == 2 and "```diff" in asked[0]
    before, after = run.stages["initial"]["mutation_score"], run.stages["kill-survivors"]["mutation_score"]
    assert after > before
    clamp = run.samples[0].tests
    assert "clamp_runs" in clamp and "below_the_range_gives_lo" in clamp  # merged, not replaced
    assert all(a.accepted for a in run.attempts)


def test_extra_tests_that_fail_on_the_original_are_not_kept():
    model = Scripted(first={"clamp": CLAMP_WEAK, "parse_digit": PARSE_DIGIT_THOROUGH},
                     survivors={"clamp": WRONG_EXTRA})
    run = evaluate_model(targets(), model, EvalSettings(kill_survivors=1, judge=JUDGE, clippy=False))
    assert run.samples[0].tests == CLAMP_WEAK.strip()
    assert run.verdicts[0].passes
    rejected = [a for a in run.attempts if a.round == "kill-survivors 1" and a.sample_id == "clamp"]
    assert [a.accepted for a in rejected] == [False]


def test_merged_tests_rename_clashing_names_and_go_inside_a_test_module():
    merged = merge_tests(CLAMP_WEAK, CLAMP_WEAK)
    assert "fn clamp_runs()" in merged and "fn clamp_runs_2()" in merged
    module = "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn a_b() { assert!(true); }\n}\n"
    inside = merge_tests(module, "#[test]\nfn c_d() { assert!(true); }\n")
    assert inside.rstrip().endswith("}") and inside.index("fn c_d") < inside.rindex("}")


def test_the_survivors_prompt_is_a_follow_up_turn_after_the_models_own_tests():
    prompt = survivors_prompt(CLAMP, CLAMP_WEAK, ["--- original\n+++ mutant\n@@\n-    lo\n+    hi"])
    assert prompt.index(CLAMP_WEAK.strip()) < prompt.index("```diff")
    assert prompt.endswith("assistant\n")


class ByIndex:
    """Replies chosen by which function the prompt is for: `replies[name]`."""

    live = True

    def __init__(self, replies: dict[str, str]):
        self.replies = replies

    def complete(self, prompts, max_new_tokens, cancel=None):
        return [Completion(answer(next(t for n, t in self.replies.items() if f"pub fn {n}(" in p)), 0.01, 5)
                for p in prompts]

    def describe(self):
        return {"backend": "by-index"}


def test_clippy_judges_the_tests_that_built_however_many_beside_them_do_not():
    """Raw replies as the real 0.5B writes them on HumanEvalPack (cut mid-call, unresolved names, no test at all)
    used to leave the few good samples unjudged by clippy: c2 read 0 of 164 while 7 linked."""
    broken = [JudgeSample(f"f{i}", f"pub fn f{i}(x: i32) -> i32 {{\n    x + {i}\n}}\n", "")
              for i in range(MAX_ROUNDS + 3)]
    # rustc stops at the first file with an unclosed delimiter: one broken module per round, more than its rounds.
    replies = {f"f{i}": "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n"
                        f"        assert_eq!(f{i}(vec![1.0,\n}}\n" for i in range(MAX_ROUNDS + 3)}
    replies["clamp"] = CLAMP_THOROUGH
    samples = as_generation_targets(broken + [JudgeSample("clamp", CLAMP, CLAMP_THOROUGH)])
    run = evaluate_model(samples, ByIndex(replies),
                         EvalSettings(salvage=False, judge=JudgeConfig(coverage=False, mutation=False)))
    assert run.clippy["clamp"].checks is True
    assert all(run.clippy[f"f{i}"].checks is False for i in range(MAX_ROUNDS + 3))
