"""The 100-point Popperian checklist (spec §9.2), its grade bands and the gates P-GATE-001..004 (spec §16.1).

Every item is a falsifiable hypothesis about the adapter, scored from measurements only: it passes when its
measured value meets its threshold, fails when it does not, and is "not measured" (earning nothing) when there is
no measurement, e.g. VRAM on a CPU. The spec's own tables were not available when this was written: the items,
points, thresholds, grade bands and gates below follow the text of issue #5; change them here and every report
follows. (The issue speaks of 25 items but names 26 ids: r1-r4, c1-c4, x1-x4, v1-v3, e1-e3, g1-g5, d1-d3. All 26
are scored; their points sum to 100.)

Rates: a per-sample condition (e.g. "the tests compile") must hold for `threshold` of the samples; every sample of
the test set counts, so a sample whose tests do not build fails every condition that needs them. The fractions are
the `threshold` of the items whose `unit` says "of samples" (or "of tests"), and the report prints them.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

Status = Literal["pass", "fail", "not measured"]

# The holdout categories of g1-g5, read from the code under test (see `categories_of`).
CATEGORIES = ("generics", "lifetimes", "async", "unsafe", "macros")


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    points: int
    threshold: float
    direction: Literal[">=", "<"]
    unit: str  # what `threshold` is in: "of samples", "of tests", "mutation score", "GB", ...
    hypothesis: str  # one line: what a pass claims, and a fail falsifies

    def describe_threshold(self) -> str:
        if self.unit.startswith("of "):
            return f"{self.direction} {self.threshold:.0%} {self.unit}"
        return f"{self.direction} {self.threshold:g} {self.unit}"


ITEMS: tuple[Item, ...] = (
    # r: reproducibility, from two short training runs with one seed (--repro-steps) and the lockfile
    Item("r1", "same seed, same adapter bytes", 4, 1.0, ">=", "runs agreeing",
         "Two training runs with the same seed and config write bitwise-identical adapters."),
    Item("r2", "same seed, same losses", 4, 1.0, ">=", "runs agreeing",
         "Two training runs with the same seed log the same loss at every step (|difference| <= 1e-6)."),
    Item("r3", "same seed, same generated tests", 4, 1.0, ">=", "runs agreeing",
         "The adapters of two same-seed runs generate the same tests (greedy) for the same functions."),
    Item("r4", "lockfile pins the run", 3, 1.0, ">=", "lock complete",
         "reproducibility.lock records versions, commit, config hash, seed, and the sha256 of data, base model and "
         "of the very adapter evaluated."),
    # c: the tests build
    Item("c1", "tests parse (rustfmt)", 4, 0.95, ">=", "of samples",
         "The generated tests are syntactically valid Rust: rustfmt parses them."),
    Item("c2", "tests type-check (cargo check)", 6, 0.90, ">=", "of samples",
         "The generated tests type-check against the function (cargo check, via clippy's check build)."),
    Item("c3", "clippy without warnings", 4, 0.90, ">=", "of samples",
         "The generated tests draw no clippy or rustc warning (the code under test is not counted)."),
    Item("c4", "tests link", 4, 0.90, ">=", "of samples",
         "The generated tests link with the code under test into a test binary (the judge's build)."),
    # x: the tests run and find bugs
    Item("x1", "tests pass on the original", 6, 0.90, ">=", "of samples",
         "The generated tests pass on the correct function, each test in a sandboxed process of its own."),
    Item("x2", "mutation score", 8, 0.70, ">=", "mutation score",
         "The tests catch at least 70 % of the mutants (a sample whose tests do not pass catches none of its own)."),
    Item("x3", "meaningful assertions", 5, 0.90, ">=", "of samples",
         "Every generated test asserts something (assert*, prop_assert*, should_panic, a checked property)."),
    Item("x4", "no tautologies", 5, 0.95, ">=", "of samples",
         "No generated assertion is a tautology (assert!(true), assert_eq!(x, x), x == x ...)."),
    # v: the tests add value
    Item("v1", "branch coverage delta", 5, 0.05, ">=", "mean gain",
         "The tests raise branch coverage of the code under test by at least 5 points (mean over samples)."),
    Item("v2", "line coverage delta", 5, 0.10, ">=", "mean gain",
         "The tests raise line coverage of the code under test by at least 10 points (mean over samples)."),
    Item("v3", "edge cases present", 4, 0.75, ">=", "of samples",
         "The tests probe edge cases: zero, negatives, empty inputs, MIN/MAX, None/Err, boundaries +-1."),
    # e: efficiency
    Item("e1", "peak VRAM", 3, 8.0, "<", "GB",
         "Training and generation fit in 8 GB of GPU memory (peak allocated)."),
    Item("e2", "training time", 3, 4.0, "<", "hours",
         "The adapter trains in under 4 hours (the run's training seconds)."),
    Item("e3", "generation latency", 4, 1.0, "<", "s per function",
         "Generation takes under 1 s per function, batched (wall time / functions)."),
    # g: generalisation, per holdout category
    *(Item(f"g{i}", f"{category} functions", 2, 0.70, ">=", "mutation score",
           f"The tests catch bugs in functions with {category} too: x2's mutation score over that category alone.")
      for i, category in enumerate(CATEGORIES, start=1)),
    # d: the tests document
    Item("d1", "descriptive test names", 3, 0.80, ">=", "of tests",
         "Test names say what they check (not test1/it_works; two words or the name of the fn they call)."),
    Item("d2", "comments", 3, 0.50, ">=", "of samples",
         "The tests explain themselves: at least one comment in the sample's tests."),
    Item("d3", "proptest strategy names", 3, 0.80, ">=", "of samples",
         "Property inputs are named for what they are (`len in 0..100usize` or the parameter they feed, not "
         "`x in ...`), where there are property tests."),
)
TOTAL_POINTS = sum(item.points for item in ITEMS)
assert TOTAL_POINTS == 100, TOTAL_POINTS
ITEMS_BY_ID = {item.id: item for item in ITEMS}

GRADE_BANDS: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F"))


def grade(score: float) -> str:
    return next(letter for bound, letter in GRADE_BANDS if score >= bound)


@dataclass(frozen=True)
class Gate:
    id: str
    hypothesis: str
    threshold: str


GATES: tuple[Gate, ...] = (
    Gate("P-GATE-001", "the adapter's tests compile", "compile rate (c4) >= 0.90"),
    Gate("P-GATE-002", "the adapter's tests catch bugs", "mutation score (x2) >= 0.70"),
    Gate("P-GATE-003", "the adapter meets the Popperian bar", "checklist score >= 90"),
    Gate("P-GATE-004", "the adapter's training reproduces", "r1, r2 and r3 pass"),
)
COMPILE_GATE = 0.90
MUTATION_GATE = 0.70
SCORE_GATE = 90


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


@dataclass
class Evidence:
    samples: list[SampleEvidence]
    repro: ReproEvidence
    lock: LockEvidence | None  # None: no experiment directory
    peak_vram_gb: float | None  # None: no GPU measurement
    vram_note: str
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
    hypothesis: str
    threshold: str
    passed: bool
    value: str
    measured: bool = True  # False: no measurement, so the gate cannot pass (it refuses rather than assumes)


@dataclass
class ChecklistReport:
    items: list[ItemResult]
    gates: list[GateResult]

    @property
    def score(self) -> int:
        return sum(item.earned for item in self.items)

    @property
    def grade(self) -> str:
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
            "grade": self.grade,
            "max_score": TOTAL_POINTS,
            "grade_bands": {letter: bound for bound, letter in GRADE_BANDS},
            "source": "items, thresholds, grade bands and gates follow issue #5 (the spec's tables were not "
                      "available)",
            "items": [{**asdict(item), "earned": item.earned} for item in self.items],
            "gates": [asdict(gate) for gate in self.gates],
            "falsified": [f"{item.id}: {item.hypothesis}" for item in self.falsified],
        }


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
        ok = value <= 1e-6 if attribute == "max_loss_difference" else bool(value)
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


def _vram(item: Item, evidence: Evidence) -> Measured:
    if evidence.peak_vram_gb is None:
        return "not measured", None, evidence.vram_note
    return _compare(item, evidence.peak_vram_gb), evidence.peak_vram_gb, \
        f"{evidence.peak_vram_gb:.2f} GB peak ({evidence.vram_note})"


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
    "r1": _repro("same_adapter", lambda r: f"{r.steps}-step runs: adapters {' vs '.join(a[:12] for a in r.adapters)}"),
    "r2": _repro("max_loss_difference", lambda r: f"largest loss difference {r.max_loss_difference:.2e}"),
    "r3": _repro("same_generations", lambda r: f"{r.generations_compared} functions' tests compared"),
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
    "e1": _vram,
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
        results.append(ItemResult(item.id, item.name, item.points, item.describe_threshold(), item.hypothesis,
                                  status, value, text))
    by_id = {r.id: r for r in results}
    report = ChecklistReport(results, [])
    compile_rate = by_id["c4"].value  # the tests build into a test binary (with at least one test in it)
    mutation = by_id["x2"].value
    repro = [by_id[i] for i in ("r1", "r2", "r3")]
    report.gates = [
        GateResult(GATES[0].id, GATES[0].hypothesis, GATES[0].threshold,
                   compile_rate is not None and compile_rate >= COMPILE_GATE,
                   "not measured" if compile_rate is None else f"{compile_rate:.3f}", compile_rate is not None),
        GateResult(GATES[1].id, GATES[1].hypothesis, GATES[1].threshold,
                   mutation is not None and mutation >= MUTATION_GATE,
                   "not measured" if mutation is None else f"{mutation:.3f}", mutation is not None),
        GateResult(GATES[2].id, GATES[2].hypothesis, GATES[2].threshold, report.score >= SCORE_GATE,
                   f"{report.score}/100"),
        GateResult(GATES[3].id, GATES[3].hypothesis, GATES[3].threshold, all(r.status == "pass" for r in repro),
                   ", ".join(f"{r.id} {r.status}" for r in repro),
                   not any(r.status == "not measured" for r in repro)),
    ]
    return report


# --------------------------------------------------------------------------------------------------- helpers

_SHORT_NAME = re.compile(r"_?[a-z]\d*")  # x, n, a1, _s: names that say nothing


def _descriptive_input(name: str) -> bool:
    """A property input name that says what it is: not one letter (`x`, `n`, `a1`)."""
    return _SHORT_NAME.fullmatch(name.lower()) is None and len(name.strip("_")) >= 3
