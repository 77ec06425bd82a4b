"""Model evaluation (spec §12, "evaluation only"): generate tests with a backend, judge them, run the feedback
loops, then gather what the checklist needs.

    samples ─ generate (chat_prompt) ─ judge ─┬─ repair loop (tests that do not build)  ─ judge the changed
                                              └─ kill-survivors loop (mutants missed)   ─ judge the changed
            ─ rustfmt, clippy ─ evidence for the checklist

The judge is `rtg_eval.judge.judge_samples`, the same one `rtg-eval --tests-from` uses; figures are kept after each
stage so that reports show them with and without the loops.
"""
from __future__ import annotations

import dataclasses
import math
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from rtg_core.backends import Backend, Sampling, candidates, prompt_sha256
from rtg_core.prompt import IM_END, chat_prompt, repair_prompt
from rtg_core.rust_source import functions
from rtg_core.test_repairs import read_reply
from rtg_eval.checklist import Evidence, LockEvidence, PeakMemory, ReproEvidence, SampleEvidence
from rtg_eval.coverage import CoverageUnavailable, llvm_tools
from rtg_eval.judge import SCORED, JudgeConfig, MutantVerdict, SampleVerdict, judge_samples
from rtg_eval.loops import merge_tests, repair_problems, survivor_diffs, survivors_prompt
from rtg_eval.metrics import aggregate
from rtg_eval.mutation import MutantSet, generate_mutants
from rtg_eval.samples import JudgeSample
from rtg_eval.selection import (CandidateJudgement, compose, judge_candidates, restricted, select_tests,
                                selection_figures, with_rustc_fixes)
from rtg_eval.static_checks import lint_tests
from rtg_eval.strata import categories_of, parameter_names, property_inputs
from rtg_eval.tool_checks import ClippyVerdict, clippy_check, rustfmt_parses

Log = Callable[[str], None]
# Prompts per generation call (at least; rounded up to a multiple of the backend's batch size, so the batches, and
# with them the replies, are the ones a single call would make): progress is logged between calls. Sampled
# replies reseed per call, and copies of one prompt are numbered per call.
GENERATION_CHUNK = 32
STAGE_FIGURES = ("compile_rate", "pass_rate", "mutation_score", "line_coverage_delta", "branch_coverage_delta",
                 "real_bugs")


@dataclass(frozen=True)
class EvalSettings:
    max_new_tokens: int = 512
    repair: int = 0  # rounds of feeding cargo's diagnostics back
    kill_survivors: int = 0  # rounds of showing missed mutants
    survivors_shown: int = 5  # mutants per kill-survivors prompt
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    clippy: bool = True
    salvage: bool = True  # judge each reply's complete items (rtg_core.test_items.split_items), not the raw reply
    repairs: bool = True  # with salvage: the certain repairs of rtg_core.test_repairs (renames, pasted copies)
    candidates: int = 1  # best-of-n: the greedy reply and n - 1 seeded samples, each test judged alone, then selected
    sampling: Sampling = field(default_factory=Sampling)  # how the samples beyond the greedy reply are drawn
    per_test: bool = True  # with salvage: judge every test of the first round alone (per-test figures, n = 1 vs n)


@dataclass
class Attempt:
    """One reply of the model for one sample."""

    sample_id: str
    round: str  # "initial", "repair 1", "kill-survivors 2", ...
    prompt_sha256: str
    candidate: int  # which of the first round's n replies (0: greedy); 0 in later rounds
    seed: int | None  # the sampling seed it was drawn with; None: greedy
    reply: str
    tests: str
    seconds: float
    new_tokens: int
    accepted: bool = True  # for kill-survivors: whether the merged tests replaced the old ones

    @property
    def copy(self) -> int:
        """Its number among the copies of its prompt in the call that drew it (a replay's key): the samples after
        the greedy reply come from one call of their own (`rtg_core.backends.candidates`)."""
        return self.candidate - 1 if self.seed is not None else 0


@dataclass
class ModelRun:
    samples: list[JudgeSample]  # with the final generated tests; `reference_tests` holds the dataset's tests
    verdicts: list[SampleVerdict]
    mutants: list[MutantVerdict]
    attempts: list[Attempt]
    stages: dict[str, dict]  # figures after "initial", "repair", "kill-survivors"
    rustfmt: dict[str, bool | None] = field(default_factory=dict)
    clippy: dict[str, ClippyVerdict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    judge_seconds: dict[str, float] = field(default_factory=dict)  # the judge's own stages, summed
    cuda_peak_bytes: int | None = None
    per_test: dict[str, dict] = field(default_factory=dict)  # selection figures per function: {"n=1": ..., "n=N": ...}

    def initial_attempts(self) -> list[Attempt]:
        return [a for a in self.attempts if a.round == "initial"]


class _State:
    """The current tests, verdicts and mutants of every sample, replaced sample by sample as the loops go."""

    def __init__(self, samples: list[JudgeSample]):
        self.order = [s.id for s in samples]
        self.samples = {s.id: s for s in samples}
        self.verdicts: dict[str, SampleVerdict] = {}
        self.mutants: dict[str, list[MutantVerdict]] = {}

    def update(self, samples: list[JudgeSample], verdicts: list[SampleVerdict], mutants: list[MutantVerdict]):
        for sample, verdict in zip(samples, verdicts):
            self.samples[sample.id] = sample
            self.verdicts[sample.id] = verdict
            self.mutants[sample.id] = [m for m in mutants if m.sample_id == sample.id]

    def lists(self) -> tuple[list[JudgeSample], list[SampleVerdict], list[MutantVerdict]]:
        return ([self.samples[i] for i in self.order], [self.verdicts[i] for i in self.order],
                [m for i in self.order for m in self.mutants.get(i, [])])

    def figures(self) -> dict:
        metrics = aggregate(*self.lists())
        return {key: metrics[key] for key in STAGE_FIGURES}


def as_generation_targets(samples: list[JudgeSample]) -> list[JudgeSample]:
    """The test set's samples with their tests moved to `reference_tests`: what the model is asked to match."""
    return [dataclasses.replace(s, tests="", reference_tests=s.reference_tests or s.tests) for s in samples]


def evaluate_model(samples: list[JudgeSample], backend: Backend, settings: EvalSettings,
                   log: Log = lambda message: None) -> ModelRun:
    """Generate, judge and loop over `samples` (as `as_generation_targets` returns them)."""
    runner = _Runner(samples, backend, settings, log)
    log(f"generating tests for {len(samples)} functions")
    runner.first_round()
    stages = {"initial": runner.state.figures()}
    if settings.repair:
        for number in range(1, settings.repair + 1):
            if not runner.repair_round(number):
                break
        stages["repair"] = runner.state.figures()
    if settings.kill_survivors:
        for number in range(1, settings.kill_survivors + 1):
            if not runner.kill_survivors_round(number):
                break
        stages["kill-survivors"] = runner.state.figures()
    return runner.finish(stages)


class _Runner:
    """One evaluation's state and the rounds that change it; every change of tests is judged before it counts."""

    def __init__(self, samples: list[JudgeSample], backend: Backend, settings: EvalSettings, log: Log):
        self.state = _State(samples)
        self.backend, self.settings, self.log = backend, settings, log
        self.attempts: list[Attempt] = []
        self.items: dict[tuple[str, int], list] = {}  # (sample id, candidate) -> the reply's items
        self.per_test: dict[str, dict] = {}
        self.seconds: dict[str, float] = {}
        self.judge_seconds: dict[str, float] = {}

    def _generate(self, prompts: dict[str, str], round_name: str) -> dict[str, Attempt]:
        return {i: replies[0] for i, replies in self._generate_candidates(prompts, round_name, 1).items()}

    def _generate_candidates(self, prompts: dict[str, str], round_name: str, n: int) -> dict[str, list[Attempt]]:
        began = time.monotonic()
        settings = self.settings
        texts, replies = list(prompts.values()), []
        size = math.lcm(GENERATION_CHUNK, getattr(self.backend, "batch_size", 1))
        for start in range(0, len(texts), size):
            chunk = texts[start:start + size]
            if n == 1:
                replies += [[c] for c in self.backend.complete(chunk, settings.max_new_tokens)]
            else:
                replies += candidates(self.backend, chunk, n, settings.max_new_tokens, settings.sampling)
            if len(texts) > size:
                self.log(f"{round_name}: generated for {len(replies)} of {len(texts)} functions "
                         f"({time.monotonic() - began:.0f} s)")
        made = {}
        for i, completions in zip(prompts, replies):
            made[i] = []
            for k, c in enumerate(completions):
                read = read_reply(c.text, self.state.samples[i].code, settings.salvage, settings.repairs)
                made[i].append(Attempt(i, round_name, prompt_sha256(prompts[i]), k,
                                       settings.sampling.seed if k else None, c.text, read.tests, c.seconds,
                                       c.new_tokens))
                self.items[(i, k)] = read.items
            self.attempts.extend(made[i])
        self._clock("generate", began)
        return made

    def _judge(self, ids: list[str], stage: str) -> None:
        if ids:
            began = time.monotonic()
            batch = [self.state.samples[i] for i in ids]
            self.state.update(batch, *judge_samples(batch, self.settings.judge, stage_seconds=self.judge_seconds))
            self._clock(stage, began)

    def _clock(self, stage: str, began: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.monotonic() - began

    def _set_tests(self, sample_id: str, tests: str) -> None:
        self.state.samples[sample_id] = dataclasses.replace(self.state.samples[sample_id], tests=tests)

    def first_round(self) -> None:
        n = self.settings.candidates
        made = self._generate_candidates({i: chat_prompt(self.state.samples[i].code) for i in self.state.order},
                                         "initial", n)
        if self.settings.salvage and (self.settings.per_test or n > 1):
            self.log(f"judging each of {sum(len(self.items[k]) for k in self.items)} generated items on its own")
            began = time.monotonic()
            judgements = judge_candidates([(self.state.samples[i], [self.items[(i, k)] for k in range(n)])
                                           for i in self.state.order], self.settings.judge)
            self._clock("judge each test", began)
            for i, judgement in zip(self.state.order, judgements):
                chosen = self._select(i, judgement, n)
                if n > 1:  # best-of-n: the selected tests are this function's tests from here on
                    self._set_tests(i, compose(chosen))
                else:  # the greedy reply as a whole, with the fixes rustc was sure of in its tests
                    self._set_tests(i, with_rustc_fixes(self.items[(i, 0)], judgement))
        else:
            for sample_id, attempts in made.items():
                self._set_tests(sample_id, attempts[0].tests)
        self.log("judging the generated tests")
        self._judge(self.state.order, "judge")

    def _select(self, sample_id: str, judgement: CandidateJudgement, n: int) -> list:
        """Selection from the greedy reply alone and from all n; both sets of figures kept, the n one returned."""
        wanted = requested_functions(self.state.samples[sample_id])
        figures = {}
        for label, allowed in (("n=1", {0}), (f"n={n}", set(range(n)))):
            own = restricted(judgement, allowed)
            chosen = select_tests(own.tests, wanted)
            figures[label] = selection_figures(own, chosen)
        self.per_test[sample_id] = figures
        return chosen

    def repair_round(self, number: int) -> bool:
        """Tests that do not build (or hold no test) go back with cargo's errors; False when none needed it."""
        state = self.state
        problems = {i: p for i in state.order if (p := repair_problems(state.verdicts[i])) is not None}
        if not problems:
            return False
        self.log(f"repair round {number}: {len(problems)} samples")
        prompts = {i: repair_prompt(state.samples[i].code, state.samples[i].tests, p) for i, p in problems.items()}
        for sample_id, attempt in self._generate(prompts, f"repair {number}").items():
            self._set_tests(sample_id, attempt.tests)
        self._judge(list(problems), "repair")
        return True

    def kill_survivors_round(self, number: int) -> bool:
        """Passing tests that miss mutants are shown them; the merged tests are kept only if they still pass and
        catch at least as many. False when no sample had a survivor."""
        state = self.state
        prompts = {}
        for i in state.order:
            if state.verdicts[i].passes and any(m.outcome == "missed" and m.mutant >= 0 for m in state.mutants[i]):
                code = state.samples[i].code
                diffs = survivor_diffs(code, mutant_set_of(code), state.mutants[i], self.settings.survivors_shown)
                prompts[i] = survivors_prompt(code, state.samples[i].tests, diffs)
        if not prompts:
            return False
        self.log(f"kill-survivors round {number}: {len(prompts)} samples")
        made = self._generate(prompts, f"kill-survivors {number}")
        before = {i: (state.samples[i], state.verdicts[i], state.mutants[i]) for i in prompts}
        changed = [i for i in prompts if made[i].tests]
        for sample_id in changed:
            self._set_tests(sample_id, merge_tests(state.samples[sample_id].tests, made[sample_id].tests))
        self._judge(changed, "kill-survivors")
        for sample_id in prompts:
            old_sample, old_verdict, old_mutants = before[sample_id]
            new = state.verdicts[sample_id]
            if sample_id in changed and new.passes and (new.mutants_killed or 0) >= (old_verdict.mutants_killed or 0):
                continue
            made[sample_id].accepted = False  # no tests in the reply, or worse ones: keep the tests that passed
            state.samples[sample_id], state.verdicts[sample_id] = old_sample, old_verdict
            state.mutants[sample_id] = old_mutants
        return True

    def finish(self, stages: dict[str, dict]) -> ModelRun:
        """The final state, with rustfmt's and clippy's verdicts on the final tests."""
        samples, verdicts, mutants = self.state.lists()
        run = ModelRun(samples, verdicts, mutants, self.attempts, stages, seconds=self.seconds,
                       judge_seconds=self.judge_seconds, cuda_peak_bytes=_cuda_peak(), per_test=self.per_test)
        began = time.monotonic()
        run.rustfmt = {s.id: rustfmt_parses(s.tests) for s in samples}
        if self.settings.clippy:
            # Only what the judge built goes to clippy: rustc stops at the first file with an unclosed delimiter, so
            # a crate of many cut replies took one round per broken module and the good ones were left unjudged
            # (c2 read 0 of 164 while 7 linked).
            built = {v.id for v in verdicts if v.compiles}
            self.log(f"clippy on the generated tests ({len(built)} that built)")
            run.clippy = clippy_check([s for s in samples if s.id in built])
            run.clippy.update({v.id: ClippyVerdict(False, [], v.compile_errors[:5]) for v in verdicts
                               if v.id not in built})
        self._clock("rustfmt+clippy", began)
        return run


def requested_functions(sample: JudgeSample) -> tuple[str, ...]:
    """The function the tests were asked for: HumanEval's entry point, the corpus's focal fn, else the code's last
    function (the focal fn comes last in a corpus input)."""
    named = sample.metadata.get("entry_point") or sample.metadata.get("function")
    if named:
        return (str(named).rsplit("::", 1)[-1],)
    own = [f.name for f in functions(sample.code) if not f.in_test_code]
    return tuple(own[-1:])


def per_test_summary(run: ModelRun) -> dict[str, dict]:
    """The per-test figures summed over functions, for each selection (n = 1, n = N)."""
    summary: dict[str, dict] = {}
    for figures in run.per_test.values():
        for label, own in figures.items():
            total = summary.setdefault(label, {"functions": 0, "functions_with_a_validated_test": 0})
            total["functions"] += 1
            total["functions_with_a_validated_test"] += own["tests_selected"] > 0
            for key, value in own.items():
                total[key] = total.get(key, 0) + value
    for total in summary.values():
        scored = total.get("mutants_scored", 0)
        total["selection_mutation_score"] = total["mutants_killed_by_selection"] / scored if scored else None
    return summary


@lru_cache(maxsize=1024)
def mutant_set_of(code: str) -> MutantSet:
    return generate_mutants(code)


def _cuda_peak() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.max_memory_allocated() if torch.cuda.is_available() and torch.cuda.is_initialized() else None


# --------------------------------------------------------------------------------------------------- evidence


def sample_evidence(run: ModelRun, judge: JudgeConfig) -> list[SampleEvidence]:
    """Per sample, what the checklist items read; a sample whose tests do not pass catches none of its mutants."""
    by_id = {}
    for m in run.mutants:
        by_id.setdefault(m.sample_id, []).append(m)
    evidence = []
    for sample, verdict in zip(run.samples, run.verdicts):
        lint = lint_tests(sample.tests) if sample.tests.strip() else None
        scored = [m for m in by_id.get(sample.id, []) if m.outcome in SCORED]
        if verdict.passes:
            total, caught = len(scored), sum(m.outcome == "caught" for m in scored)
        else:
            total = (min(len(mutant_set_of(sample.code).mutants), judge.max_mutants) if judge.mutation else 0) + \
                bool(sample.real_bug)
            caught = 0
        clippy = run.clippy.get(sample.id)
        tests = lint.tests if lint else ()
        evidence.append(SampleEvidence(
            id=sample.id,
            parses=run.rustfmt.get(sample.id),
            checks=clippy.checks if clippy else None,
            clippy_warnings=clippy.warnings if clippy and clippy.checks else None,
            links=verdict.compiles,
            passes=verdict.passes,
            mutants_scored=total,
            mutants_caught=caught,
            line_delta=verdict.line_coverage_delta,
            branch_delta=verdict.branch_coverage_delta,
            tests=len(tests),
            tests_asserting=sum(t.assertions > 0 for t in tests),
            tautologies=lint.tautologies if lint else 0,
            edge_cases=list(lint.edge_cases) if lint else [],
            descriptive_tests=sum(t.descriptive_name for t in tests),
            has_comment=bool(lint and lint.has_comments),
            property_inputs=property_inputs(sample.tests) if sample.tests.strip() else None,
            parameter_names=parameter_names(sample.code),
            categories=categories_of(sample.code),
        ))
    return evidence


def generation_figures(run: ModelRun, live: bool) -> dict:
    """Latency and throughput of the first round (all n replies of a function count as its time), as the backend
    measured them."""
    first = run.initial_attempts()
    per_function: dict[str, float] = {}
    for attempt in first:
        per_function[attempt.sample_id] = per_function.get(attempt.sample_id, 0.0) + attempt.seconds
    seconds = list(per_function.values())
    tokens = sum(a.new_tokens for a in first)
    total = sum(seconds)
    return {
        "functions": len(per_function),
        "replies": len(first),
        "measured": live,
        "seconds_per_function": statistics.mean(seconds) if seconds and live else None,
        "seconds_per_function_p50": statistics.median(seconds) if seconds and live else None,
        "seconds_per_function_max": max(seconds) if seconds and live else None,
        "new_tokens": tokens,
        "tokens_per_second": tokens / total if live and total > 0 else None,
        "replies_ending_the_turn": sum(IM_END in a.reply for a in first),
        "attempts_all_rounds": len(run.attempts),
    }


def build_evidence(run: ModelRun, settings: EvalSettings, repro: ReproEvidence, lock: LockEvidence | None,
                   training: tuple[float | None, PeakMemory | None, str], live: bool) -> Evidence:
    train_hours, train_memory, memory_note = training
    figures = generation_figures(run, live)
    latency_note = ("batched: batch wall time / batch size" if live else
                    "the replies were replayed, not generated, so latency was not measured")
    return Evidence(
        samples=sample_evidence(run, settings.judge),
        repro=repro,
        lock=lock,
        peak_memory=peak_memory(train_memory, run.cuda_peak_bytes),
        memory_note=f"{memory_note}; generation did not run on CUDA either",
        train_hours=train_hours,
        generation_seconds_per_function=figures["seconds_per_function"],
        latency_note=latency_note,
        coverage_available=settings.judge.coverage and _llvm_tools_present(),
    )


def peak_memory(training: PeakMemory | None, generation_cuda_bytes: int | None) -> PeakMemory | None:
    """e1's figure: every measured peak is held to 8 GB, so the larger of training's and generation's on CUDA;
    training's own kind (VRAM, or RSS on a CPU-only run) unless generation's VRAM is the larger."""
    generation = (PeakMemory(generation_cuda_bytes / 1e9, "VRAM", "generation on CUDA")
                  if generation_cuda_bytes is not None else None)
    if training is None or generation is None:
        return training or generation
    peak = max(training, generation, key=lambda m: m.gb)
    return PeakMemory(peak.gb, peak.kind, f"{training.source}: {training.gb:.2f} GB {training.kind}; generation "
                                          f"on CUDA: {generation.gb:.2f} GB VRAM")


def _llvm_tools_present() -> bool:
    try:
        llvm_tools()
    except CoverageUnavailable:
        return False
    return True


def process_peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

