"""The 100-point Popperian checklist (spec §9.2), its grade bands (§9.2) and the gates P-GATE-001..004 (§16.1).

Every item is a falsifiable hypothesis about the adapter, scored from measurements only: it passes when its
measured value meets its threshold, fails when it does not, and is "not measured" (earning nothing) when there is
no measurement. Items, points and grade bands are the spec's (§9.2); the gates, their logic and the hypotheses they
falsify are §16.1's. Where the spec states an item's threshold (§9.2's comments, §9.3, or a §16.1 gate on the same
figure) it is used; elsewhere the threshold is the project's, and each item's `source` says which.

Rates: a per-sample condition (e.g. "the tests compile") must hold for `threshold` of the samples; every sample of
the test set counts, so a sample whose tests do not build fails every condition that needs them.

Memory (e1, P-GATE-004): on CUDA, peak VRAM; on a CPU-only training run, the training process's peak resident
memory against the same 8 GB (spec §6.2 gives QLoRA 8 GB of RAM), labelled as RSS wherever it is reported.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from rtg_core.verdict import AdapterVerdict, GateOutcome

Status = Literal["pass", "fail", "not measured"]

# The holdout categories of g1-g5, read from the code under test (see `categories_of`).
CATEGORIES = ("generics", "lifetimes", "async", "unsafe", "macros")
PROJECT = "project"  # an item's `source` when the spec gives no threshold for it


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    points: int
    threshold: float
    direction: Literal[">=", "<"]
    unit: str  # what `threshold` is in: "of samples", "of tests", "mutation score", "GB", ...
    hypothesis: str  # one line: what a pass claims, and a fail falsifies
    source: str  # where the threshold comes from: a spec section, or PROJECT

    def describe_threshold(self) -> str:
        if self.unit.startswith("of "):
            return f"{self.direction} {self.threshold:.0%} {self.unit}"
        return f"{self.direction} {self.threshold:g} {self.unit}"


MEMORY_LIMIT_GB = 8.0  # e1 and P-GATE-004 (spec §9.2, §16.1); GB = 10^9 bytes

ITEMS: tuple[Item, ...] = (
    # r (H1): reproducibility, from two short training runs with one seed (--repro-steps) and the lockfile
    Item("r1", "same seed, same loss curve", 5, 1.0, ">=", "runs agreeing",
         "Two training runs with the same seed log the same loss at every step (|difference| < 1e-6).",
         "spec §9.3 (±1e-6)"),
    Item("r2", "same seed, same adapter weights", 5, 1.0, ">=", "runs agreeing",
         "Two training runs with the same seed and config write bitwise-identical adapters.", "spec §9.2 (exactly)"),
    Item("r3", "same seed, same eval metrics", 5, 1.0, ">=", "runs agreeing",
         "The adapters of two same-seed runs give identical eval metrics: they generate the same tests (greedy) "
         "for the same functions, and the same tests get the same figures.", "spec §9.2 (identical)"),
    Item("r4", "environment locked", 5, 1.0, ">=", "lock complete",
         "reproducibility.lock records versions, commit, config hash, seed, and the sha256 of data, base model and "
         "of the very adapter evaluated.", "spec §9.2, §7.2 (what it must hold: project)"),
    # c (H2): the tests are valid Rust
    Item("c1", "tests parse (rustfmt)", 5, 0.95, ">=", "of samples",
         "The generated tests are syntactically valid Rust: rustfmt parses them.", PROJECT),
    Item("c2", "tests type-check (cargo check)", 5, 0.90, ">=", "of samples",
         "The generated tests type-check against the function (cargo check, via clippy's check build).", PROJECT),
    Item("c3", "clippy without warnings", 5, 0.90, ">=", "of samples",
         "The generated tests draw no clippy or rustc warning (the code under test is not counted).", PROJECT),
    Item("c4", "tests link", 5, 0.90, ">=", "of samples",
         "The generated tests link with the code under test into a test binary (the judge's build); this is the "
         "compile rate.", "spec §16.1 P-GATE-002, §5.1"),
    # x (H3): the tests are semantically meaningful
    Item("x1", "tests pass on the original", 5, 0.90, ">=", "of samples",
         "The generated tests pass on the correct function, each test in a sandboxed process of its own.", PROJECT),
    Item("x2", "tests fail on mutants", 5, 0.70, ">=", "mutation score",
         "The tests catch at least 70 % of the mutants (a sample whose tests do not pass catches none of its own).",
         "spec §16.1 P-GATE-003, §5.1"),
    Item("x3", "meaningful assertions", 5, 0.90, ">=", "of samples",
         "Every generated test asserts something (assert*, prop_assert*, should_panic, a checked property).",
         PROJECT),
    Item("x4", "no tautologies", 5, 0.95, ">=", "of samples",
         "No generated assertion is a tautology (assert!(true), assert_eq!(x, x), x == x ...).", PROJECT),
    # v (H4): the tests exercise meaningful code paths
    Item("v1", "branch coverage delta", 5, 0.05, ">=", "mean gain",
         "The tests raise branch coverage of the code under test by at least 5 points (mean over samples).",
         "spec §9.2 (≥+5%)"),
    Item("v2", "line coverage delta", 5, 0.10, ">=", "mean gain",
         "The tests raise line coverage of the code under test by at least 10 points (mean over samples).",
         "spec §9.2 (≥+10%)"),
    Item("v3", "edge cases present", 5, 0.75, ">=", "of samples",
         "The tests probe edge cases: zero, negatives, empty inputs, MIN/MAX, None/Err, boundaries +-1.", PROJECT),
    # e (H5): resource bounds
    Item("e1", "peak memory (VRAM; RSS on CPU)", 3, MEMORY_LIMIT_GB, "<", "GB",
         "Training and generation fit in 8 GB: peak VRAM on CUDA; on a CPU-only training run, the training "
         "process's peak RSS (spec §6.2: QLoRA, 8 GB of RAM).", "spec §9.2 (< 8GB), §6.2 for RSS"),
    Item("e2", "training time", 4, 4.0, "<", "hours",
         "The adapter trains in under 4 hours (the run's training seconds).", "spec §9.2 (< 4 hours)"),
    Item("e3", "generation latency", 3, 1.0, "<", "s per function",
         "Generation takes under 1 s per function, batched (wall time / functions).", "spec §9.2 (< 1s/function)"),
    # g (H6): difficult inputs, per holdout category
    *(Item(f"g{i}", f"{category} functions", 2, 0.70, ">=", "mutation score",
           f"The tests catch bugs in functions with {category} too: x2's mutation score over that category alone.",
           PROJECT)
      for i, category in enumerate(CATEGORIES, start=1)),
    # d (H7): the tests document themselves
    Item("d1", "descriptive test names", 2, 0.80, ">=", "of tests",
         "Test names say what they check (not test1/it_works; two words or the name of the fn they call).",
         PROJECT),
    Item("d2", "comments", 2, 0.50, ">=", "of samples",
         "The tests explain themselves: at least one comment in the sample's tests.", PROJECT),
    Item("d3", "proptest strategy names", 1, 0.80, ">=", "of samples",
         "Property inputs are named for what they are (`len in 0..100usize` or the parameter they feed, not "
         "`x in ...`), where there are property tests.", PROJECT),
)
TOTAL_POINTS = sum(item.points for item in ITEMS)
assert TOTAL_POINTS == 100, TOTAL_POINTS
ITEMS_BY_ID = {item.id: item for item in ITEMS}


@dataclass(frozen=True)
class Grade:
    letter: str
    label: str
    min_score: int

    def __str__(self) -> str:
        return f"{self.letter} ({self.label})"


GRADES: tuple[Grade, ...] = (  # spec §9.2, highest first
    Grade("A+", "Excellent", 95), Grade("A", "Very Good", 90), Grade("B+", "Good", 85),
    Grade("B", "Satisfactory", 80), Grade("C", "Needs Improvement", 70), Grade("F", "Failing", 0),
)


def grade(score: int) -> Grade:
    return next(band for band in GRADES if score >= band.min_score)


@dataclass(frozen=True)
class Gate:
    """A §16.1 gate: it fails when `metric op threshold` holds."""

    id: str
    metric: str
    op: Literal["<", ">"]
    threshold: float
    unit: str
    action: str  # spec §16.1's "action on failure"
    hypothesis: str | None  # the hypothesis a failure falsifies (P-GATE-001 rejects the adapter instead)

    @property
    def logic(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}{self.unit}"

    def fails(self, value: float) -> bool:
        return value < self.threshold if self.op == "<" else value > self.threshold


GATES: tuple[Gate, ...] = (
    Gate("P-GATE-001", "PopperianScore", "<", 90, "", "reject the adapter; forbid deployment", None),
    Gate("P-GATE-002", "CompileRate", "<", 0.90, "", 'falsify the "Syntactic Understanding" hypothesis',
         "Syntactic Understanding"),
    Gate("P-GATE-003", "MutationScore", "<", 0.70, "", 'falsify the "Semantic Utility" hypothesis',
         "Semantic Utility"),
    Gate("P-GATE-004", "VRAM", ">", MEMORY_LIMIT_GB, "GB", 'falsify the "Efficiency" hypothesis', "Efficiency"),
)
GATES_BY_ID = {gate.id: gate for gate in GATES}
SOURCE = ("items, points and grade bands: spec §9.2; gates: spec §16.1; e1 and P-GATE-004 on a CPU-only training "
          "run: the training process's peak RSS against 8 GB (spec §6.2); thresholds: each item's `source` (a spec "
          "section, or the project's where the spec gives none)")


# --------------------------------------------------------------------------------------------------- evidence


@dataclass
class SampleEvidence:
    """What was measured for one sample; None where a measurement was not made."""

    id: str
    parses: bool | None  # rustfmt parsed the test code
    checks: bool | None  # cargo check (clippy's check build) had no errors in this sample
    clippy_warnings: list[str] | None  # lint names in the test code; None: clippy did not get to it
    links: bool  # the judge built (and linked) its test binary
    passes: bool
    mutants_scored: int  # the judge's caught + missed + timeout, or the sample's mutants when its tests fail
    mutants_caught: int
    line_delta: float | None
    branch_delta: float | None
    tests: int  # tests found in the text
    tests_asserting: int
    tautologies: int
    edge_cases: list[str]
    descriptive_tests: int
    has_comment: bool
    property_inputs: list[str] | None  # names bound in proptest! fns; None: no property tests
    parameter_names: list[str]  # of the code under test's fns: a property input may reuse one
    categories: list[str]


@dataclass
class ReproEvidence:
    """r1-r3 from two same-seed runs; a None field was not measured, and `note` says why."""

    steps: int | None = None
    same_adapter: bool | None = None
    adapters: list[str] = field(default_factory=list)
    max_loss_difference: float | None = None
    same_generations: bool | None = None
    generations_compared: int = 0
    note: str = ""


@dataclass
class LockEvidence:
    present: bool
    missing: list[str] = field(default_factory=list)
    adapter_listed: bool = False
    note: str = ""


@dataclass(frozen=True)
class PeakMemory:
    """The figure e1 and P-GATE-004 hold to 8 GB, and what it is: VRAM, or the RSS of a CPU-only training run."""

    gb: float
    kind: Literal["VRAM", "RSS"]
    source: str  # what was measured, e.g. "CPU-only training, the training process's ru_maxrss"

    @property
    def label(self) -> str:
        if self.kind == "VRAM":
            return f"{self.gb:.2f} GB peak VRAM"
        return (f"{self.gb:.2f} GB peak RSS of the CPU-only training process, not VRAM (spec §6.2: QLoRA needs 8 GB "
                "of RAM)")


@dataclass
class Evidence:
    samples: list[SampleEvidence]
    repro: ReproEvidence
    lock: LockEvidence | None  # None: no experiment directory
    peak_memory: PeakMemory | None  # None: neither training nor generation measured memory
    memory_note: str  # why, when there is no measurement
    train_hours: float | None
    generation_seconds_per_function: float | None  # None: the backend's timings are not measurements
    latency_note: str
    coverage_available: bool = True  # the judge measured coverage (it was on, and the llvm tools are there)


@dataclass
class ItemResult:
    id: str
    name: str
    points: int
    threshold: str
    source: str
    hypothesis: str
    status: Status
    value: float | None
    evidence: str

    @property
    def earned(self) -> int:
        return self.points if self.status == "pass" else 0


@dataclass
class GateResult:
    id: str
    logic: str  # when the gate fails (spec §16.1)
    action: str
    hypothesis: str | None
    passed: bool
    value: str  # what was measured, with its unit and label
    measured: bool = True  # False: no measurement, so the gate cannot pass (it refuses rather than assumes)

    def summary(self) -> str:
        if self.passed:
            return f"{self.id} passed ({self.value}; fails when {self.logic})"
        if not self.measured:
            return f"{self.id} could not be verified ({self.value}), so it fails: {self.action}"
        return f"{self.id} failed ({self.value}; {self.logic}): {self.action}"


@dataclass
class ChecklistReport:
    items: list[ItemResult]
    gates: list[GateResult]

    @property
    def score(self) -> int:
        return sum(item.earned for item in self.items)

    @property
    def grade(self) -> Grade:
        return grade(self.score)

    @property
    def falsified(self) -> list[ItemResult]:
        return [item for item in self.items if item.status == "fail"]

    @property
    def failed_gates(self) -> list[GateResult]:
        return [gate for gate in self.gates if not gate.passed]

    def to_json(self) -> dict:
        return {
            "score": self.score,
            "grade": str(self.grade),
            "max_score": TOTAL_POINTS,
            "grade_bands": [{"grade": str(band), "min_score": band.min_score} for band in GRADES],
            "source": SOURCE,
            "items": [{**asdict(item), "earned": item.earned} for item in self.items],
            "gates": [asdict(gate) for gate in self.gates],
            "falsified": [f"{item.id}: {item.hypothesis}" for item in self.falsified],
        }

    def verdict(self, adapter_sha256: str, report: str, test_set: str, samples: int,
                evaluated_at: str) -> AdapterVerdict:
        """The adapter's gate verdict (rtg_core.verdict), for publish and serve to read beside its weights."""
        return AdapterVerdict(
            adapter_sha256=adapter_sha256, score=self.score, grade=str(self.grade),
            gates=tuple(GateOutcome(g.id, g.passed, g.measured, g.summary()) for g in self.gates),
            falsified=tuple(f"{item.id}: {item.hypothesis}" for item in self.falsified), report=report,
            test_set=test_set, samples=samples, evaluated_at=evaluated_at)


# --------------------------------------------------------------------------------------------------- scoring

Measured = tuple[Status, float | None, str]


def _compare(item: Item, value: float) -> Status:
    ok = value >= item.threshold if item.direction == ">=" else value < item.threshold
    return "pass" if ok else "fail"


def _rate(item: Item, flags: list[bool], what: str) -> Measured:
    if not flags:
        return "not measured", None, f"no samples to measure {what} on"
    value = sum(flags) / len(flags)
    return _compare(item, value), value, f"{sum(flags)}/{len(flags)} {item.unit.removeprefix('of ')} {what}"


def _samples_rate(what: str, condition: Callable[[SampleEvidence], bool | None]):
    def measure(item: Item, evidence: Evidence) -> Measured:
        return _rate(item, [bool(condition(s)) for s in evidence.samples], what)

    return measure


def _with_tests(measure):
    """A check of the tests themselves: a reply without any test cannot pass it (an empty reply parses, builds and
    draws no warning, and shows nothing); the evidence says how many samples had none."""
    def wrapped(item: Item, evidence: Evidence) -> Measured:
        status, value, text = measure(item, evidence)
        empty = sum(s.tests == 0 for s in evidence.samples)
        return status, value, text + (f" ({empty} have no test at all)" if empty else "")

    return wrapped


def _mutation(item: Item, evidence: Evidence, samples: list[SampleEvidence] | None = None) -> Measured:
    samples = evidence.samples if samples is None else samples
    scored = sum(s.mutants_scored for s in samples)
    caught = sum(s.mutants_caught for s in samples)
    if not scored:
        return "not measured", None, "no mutants were generated for the code under test"
    failing = [s for s in samples if not s.passes]
    note = (f"; {len(failing)} samples whose tests do not pass bring {sum(s.mutants_scored for s in failing)} "
            "mutants counted as missed") if failing else ""
    return _compare(item, caught / scored), caught / scored, f"caught {caught}/{scored} mutants{note}"


def _coverage_delta(kind: str):
    def measure(item: Item, evidence: Evidence) -> Measured:
        if not evidence.coverage_available:
            return "not measured", None, "coverage was not measured (--no-coverage, or no llvm tools)"
        deltas = []
        for s in evidence.samples:
            delta = s.branch_delta if kind == "branch" else s.line_delta
            if delta is not None:
                deltas.append(delta)
            elif not s.links:
                deltas.append(0.0)  # tests that do not build cover nothing
        if not deltas:
            return "not measured", None, f"no sample's code has {kind}es rustc records"
        value = sum(deltas) / len(deltas)
        return _compare(item, value), value, f"mean {kind} coverage delta {value:+.1%} over {len(deltas)} samples " \
                                             "(samples whose tests do not build count 0)"

    return measure


def _descriptive_names(item: Item, evidence: Evidence) -> Measured:
    tests = sum(s.tests for s in evidence.samples)
    if not tests:
        return "fail", 0.0, "no tests were found in the generated code"
    named = sum(s.descriptive_tests for s in evidence.samples)
    return _compare(item, named / tests), named / tests, f"{named}/{tests} tests have descriptive names"


def _property_names(item: Item, evidence: Evidence) -> Measured:
    with_properties = [s for s in evidence.samples if s.property_inputs is not None]
    if not with_properties:
        return "not measured", None, "no sample has proptest properties"
    good = [all(_descriptive_input(name) or name in s.parameter_names for name in s.property_inputs)
            for s in with_properties]
    return _compare(item, sum(good) / len(good)), sum(good) / len(good), \
        f"{sum(good)}/{len(good)} samples with properties name every input descriptively"


def _category(category: str):
    """g1-g5: x2 over one category. Passing is not enough: tests that cannot fail pass everywhere."""
    def measure(item: Item, evidence: Evidence) -> Measured:
        members = [s for s in evidence.samples if category in s.categories]
        if not members:
            return "not measured", None, f"the test set has no {category} functions"
        status, value, text = _mutation(item, evidence, members)
        return status, value, f"{len(members)} {category} functions: {text}"

    return measure


def _repro(attribute: str, describe: Callable[[ReproEvidence], str]):
    def measure(item: Item, evidence: Evidence) -> Measured:
        value = getattr(evidence.repro, attribute)
        if value is None:
            return "not measured", None, evidence.repro.note or "pass --repro-steps N to train twice and compare"
        ok = value < 1e-6 if attribute == "max_loss_difference" else bool(value)
        return ("pass" if ok else "fail"), float(ok), describe(evidence.repro)

    return measure


def _lock(item: Item, evidence: Evidence) -> Measured:
    lock = evidence.lock
    if lock is None:
        return "not measured", None, "no experiment directory (reproducibility.lock) for this adapter"
    if not lock.present:
        return "fail", 0.0, lock.note or "the experiment has no reproducibility.lock"
    problems = [f"missing {', '.join(lock.missing)}"] if lock.missing else []
    if not lock.adapter_listed:
        problems.append("the evaluated adapter's sha256 is not among the lock's adapters")
    return ("fail", 0.0, "; ".join(problems)) if problems else ("pass", 1.0, "complete; lists the evaluated adapter")


def _memory(item: Item, evidence: Evidence) -> Measured:
    memory = evidence.peak_memory
    if memory is None:
        return "not measured", None, evidence.memory_note
    return _compare(item, memory.gb), memory.gb, f"{memory.label} ({memory.source})"


def _training_time(item: Item, evidence: Evidence) -> Measured:
    if evidence.train_hours is None:
        return "not measured", None, "no training metrics.json for this adapter"
    return _compare(item, evidence.train_hours), evidence.train_hours, \
        f"{evidence.train_hours * 3600:.0f} s of training"


def _latency(item: Item, evidence: Evidence) -> Measured:
    seconds = evidence.generation_seconds_per_function
    if seconds is None:
        return "not measured", None, evidence.latency_note
    return _compare(item, seconds), seconds, f"{seconds:.3f} s per function ({evidence.latency_note})"


_MEASURES: dict[str, Callable[[Item, Evidence], Measured]] = {
    "r1": _repro("max_loss_difference", lambda r: f"{r.steps}-step runs: largest loss difference "
                                                  f"{r.max_loss_difference:.2e}"),
    "r2": _repro("same_adapter", lambda r: f"{r.steps}-step runs: adapters {' vs '.join(a[:12] for a in r.adapters)}"),
    "r3": _repro("same_generations", lambda r: f"{'the same' if r.same_generations else 'different'} generated tests "
                                               f"for {r.generations_compared} functions"
                                               f"{', so the same figures' if r.same_generations else ''}"),
    "r4": _lock,
    "c1": _with_tests(_samples_rate("parse", lambda s: s.tests > 0 and s.parses)),
    "c2": _with_tests(_samples_rate("type-check", lambda s: s.tests > 0 and s.checks)),
    "c3": _with_tests(_samples_rate("have no warning",
                                    lambda s: s.tests > 0 and s.clippy_warnings is not None and not s.clippy_warnings)),
    "c4": _with_tests(_samples_rate("link", lambda s: s.tests > 0 and s.links)),
    "x1": _samples_rate("pass", lambda s: s.passes),
    "x2": _mutation,
    "x3": _with_tests(_samples_rate("assert in every test", lambda s: s.tests > 0 and s.tests_asserting == s.tests)),
    "x4": _with_tests(_samples_rate("are free of tautologies", lambda s: s.tests > 0 and s.tautologies == 0)),
    "v1": _coverage_delta("branch"),
    "v2": _coverage_delta("line"),
    "v3": _with_tests(_samples_rate("probe an edge case", lambda s: s.tests > 0 and bool(s.edge_cases))),
    "e1": _memory,
    "e2": _training_time,
    "e3": _latency,
    **{f"g{i}": _category(category) for i, category in enumerate(CATEGORIES, start=1)},
    "d1": _descriptive_names,
    "d2": _with_tests(_samples_rate("carry a comment", lambda s: s.tests > 0 and s.has_comment)),
    "d3": _property_names,
}
assert set(_MEASURES) == set(ITEMS_BY_ID)


def score_checklist(evidence: Evidence) -> ChecklistReport:
    results = []
    for item in ITEMS:
        status, value, text = _MEASURES[item.id](item, evidence)
        results.append(ItemResult(item.id, item.name, item.points, item.describe_threshold(), item.source,
                                  item.hypothesis, status, value, text))
    by_id = {r.id: r for r in results}
    report = ChecklistReport(results, [])
    compile_rate = by_id["c4"].value  # the tests build into a test binary (with at least one test in it)
    mutation = by_id["x2"].value
    memory = evidence.peak_memory
    report.gates = [
        _gate("P-GATE-001", report.score, f"PopperianScore {report.score}/100, grade {report.grade}"),
        _gate("P-GATE-002", compile_rate, f"CompileRate {_figure(compile_rate)} (c4: {by_id['c4'].evidence})"),
        _gate("P-GATE-003", mutation, f"MutationScore {_figure(mutation)} (x2: {by_id['x2'].evidence})"),
        _gate("P-GATE-004", memory.gb if memory else None,
              memory.label if memory else f"memory not measured: {evidence.memory_note}"),
    ]
    return report


def _gate(gate_id: str, value: float | None, shown: str) -> GateResult:
    gate = GATES_BY_ID[gate_id]
    return GateResult(gate.id, gate.logic, gate.action, gate.hypothesis,
                      passed=value is not None and not gate.fails(value), value=shown, measured=value is not None)


def _figure(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3f}"


# --------------------------------------------------------------------------------------------------- helpers

_SHORT_NAME = re.compile(r"_?[a-z]\d*")  # x, n, a1, _s: names that say nothing


def _descriptive_input(name: str) -> bool:
    """A property input name that says what it is: not one letter (`x`, `n`, `a1`)."""
    return _SHORT_NAME.fullmatch(name.lower()) is None and len(name.strip("_")) >= 3
