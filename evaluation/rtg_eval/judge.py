"""The judge: does each sample's test code build against its function, pass, kill mutants, and cover the code?

Trusted and untrusted work are kept apart by name: everything the samples' code does runs through
`run_unit_tests` and `OfflineCargo.build_tests`, both in the sandbox; the LLVM tools that read the results run
outside it. Verdicts are deterministic: fixed RNG seed and case count for proptest and quickcheck, one test
thread, no failure persistence.
"""
from __future__ import annotations

import random
import shutil
import time
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

from rtg_core.cargo_env import RNG_SEED_ENV, Diagnostic, OfflineCargo, cache_dir
from rtg_core.rust_source import functions
from rtg_eval.coverage import (BRANCH_ENV, BRANCH_FLAGS, LINE_FLAGS, Coverage, CoverageUnavailable, coverage_of,
                               llvm_tools, merge_and_export)
from rtg_eval.crate import (
    ScratchCrate, TestRun, Unit, list_tests, run_unit_tests, run_unit_tests_one_by_one, test_module_name, unit_of,
)
from rtg_eval.mutation import MUTANT_ENV, MUTANT_SWITCH_RS, Mutant, MutantSet, generate_mutants, render_schema
from rtg_eval.samples import JudgeSample
from rtg_eval.static_checks import lint_tests

Outcome = Literal["caught", "missed", "unviable", "timeout"]
SCORED: tuple[Outcome, ...] = ("caught", "missed", "timeout")
MAX_SCHEMATA_ROUNDS = 8


@dataclass(frozen=True)
class JudgeConfig:
    mutation: bool = True
    mutation_strategy: Literal["schemata", "rebuild"] = "schemata"
    max_mutants: int = 80  # per sample; above it, a sample stratified by function complexity
    coverage: bool = True
    test_timeout: float = 60.0  # per sample's run on the original code
    proptest_cases: int = 64
    seed: int = 42
    jobs: int = 2
    batch_size: int = 200
    rustc_fixes: bool = True  # judge_candidates: a test takes rustc's sure fixes before it is dropped

    def test_env(self) -> dict[str, str]:
        return {
            RNG_SEED_ENV: str(self.seed),
            "PROPTEST_CASES": str(self.proptest_cases),
            "QUICKCHECK_TESTS": str(self.proptest_cases),
            "RUST_BACKTRACE": "0",
        }

    def mutant_timeout(self, reference_seconds: float) -> float:
        """A mutant gets a few times the time the original took; an infinite loop is then a timeout."""
        return max(2.0, 4.0 * reference_seconds + 1.0)


@dataclass(frozen=True)
class MutantVerdict:
    sample_id: str
    mutant: int  # index in the sample's mutant list; -1 for the real bug
    function: str
    operator: str
    line: int
    replacement: str
    outcome: Outcome
    failed_tests: tuple[str, ...] = ()


@dataclass
class SampleVerdict:
    id: str
    compiles: bool = False
    compile_errors: list[str] = field(default_factory=list)
    tests_total: int | None = None
    tests_passed: int | None = None
    passes: bool = False
    timed_out: bool = False
    mutants_total: int | None = None
    mutants_killed: int | None = None
    mutation_score: float | None = None
    line_coverage: float | None = None
    branch_coverage: float | None = None
    line_coverage_delta: float | None = None
    branch_coverage_delta: float | None = None
    tautologies: int = 0
    meaningless_asserts: int = 0
    edge_cases: list[str] = field(default_factory=list)
    real_bug_killed: bool | None = None

    KEYS = ("id", "compiles", "compile_errors", "tests_total", "tests_passed", "passes", "timed_out",
            "mutants_total", "mutants_killed", "mutation_score", "line_coverage", "branch_coverage",
            "line_coverage_delta", "branch_coverage_delta", "tautologies", "meaningless_asserts", "edge_cases",
            "real_bug_killed")

    def to_json(self) -> dict:
        return {key: getattr(self, key) for key in self.KEYS}


Progress = Callable[[str, int], None]  # (stage, units of work done)


def judge_samples(
    samples: list[JudgeSample],
    config: JudgeConfig = JudgeConfig(),
    progress: Progress | None = None,
    stage_seconds: dict[str, float] | None = None,
) -> tuple[list[SampleVerdict], list[MutantVerdict]]:
    """Judge every sample; `stage_seconds`, if given, receives the wall time spent per stage."""
    cargo = OfflineCargo.prepared()
    clock = _StageClock(stage_seconds if stage_seconds is not None else {})
    tick = progress or (lambda stage, n: None)
    verdicts: list[SampleVerdict] = []
    mutants: list[MutantVerdict] = []
    scratch = cache_dir() / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="judge-", dir=scratch) as binaries_dir:
        for start in range(0, len(samples), config.batch_size):
            batch = samples[start : start + config.batch_size]
            batch_verdicts, batch_mutants = _judge_batch(batch, cargo, config, tick, clock, Path(binaries_dir))
            verdicts += batch_verdicts
            mutants += batch_mutants
    return verdicts, mutants


class _StageClock:
    def __init__(self, seconds: dict[str, float]):
        self.seconds = seconds
        self.last = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self.last
        self.last = now


def _judge_batch(samples, cargo, config, tick, clock, keep: Path) -> tuple[list[SampleVerdict], list[MutantVerdict]]:
    """Judge one batch; test binaries worth keeping are copied into `keep`, which the caller removes."""
    verdicts = [SampleVerdict(id=s.id) for s in samples]
    units = {f"s_{i:04d}": Unit(f"s_{i:04d}", s.code, s.tests) for i, s in enumerate(samples)}
    bug_units = {f"b_{i:04d}": Unit(f"b_{i:04d}", s.real_bug, s.tests) for i, s in enumerate(samples) if s.real_bug}
    for verdict, sample in zip(verdicts, samples):
        report = lint_tests(sample.tests)
        verdict.tautologies = report.tautologies
        verdict.meaningless_asserts = report.meaningless_asserts
        verdict.edge_cases = list(report.edge_cases)

    binaries, failures = _build_units(cargo, {**units, **bug_units}, keep)
    for name, errors in failures.items():
        if name.startswith("s_"):
            verdicts[int(name[2:])].compile_errors = [e.rendered for e in errors][:10]
    clock.lap("build")
    originals = {name: binary for name, binary in binaries.items() if name.startswith("s_")}
    runs = _run_all(originals, config, lambda name: config.test_env(), config.test_timeout, one_by_one=True)
    bugs = {name: binary for name, binary in binaries.items() if name.startswith("b_") and f"s_{name[2:]}" in runs}
    # A real bug is a mutant: its time limit comes from the original's run, so a bug that hangs costs seconds.
    runs.update(_run_all(bugs, config, lambda name: config.test_env(),
                         lambda name: config.mutant_timeout(runs[f"s_{name[2:]}"].wall_seconds)))
    clock.lap("test")
    tick("test", len(samples))
    mutant_verdicts: list[MutantVerdict] = []
    passing: list[int] = []
    for i, (verdict, sample) in enumerate(zip(verdicts, samples)):
        run = runs.get(f"s_{i:04d}")
        verdict.compiles = run is not None
        if run is None:
            continue
        verdict.tests_total, verdict.tests_passed, verdict.timed_out = run.tests_total, run.tests_passed, run.timed_out
        verdict.passes = run.ok and run.tests_total > 0
        if verdict.passes:
            passing.append(i)
        bug_run = runs.get(f"b_{i:04d}")
        if sample.real_bug and verdict.passes and bug_run is not None:
            verdict.real_bug_killed = not bug_run.ok
            outcome: Outcome = "timeout" if bug_run.timed_out else ("missed" if bug_run.ok else "caught")
            mutant_verdicts.append(MutantVerdict(sample.id, -1, "real bug", "people-written bug", 0, "", outcome,
                                                 bug_run.failed))

    if config.mutation and passing:
        by_sample = _mutate(cargo, [(i, samples[i], runs[f"s_{i:04d}"]) for i in passing], config, keep)
        for i in passing:
            mutant_verdicts += by_sample.get(i, [])
        clock.lap("mutation")
        tick("mutation", len(samples))
    for i in passing:
        own = [m for m in mutant_verdicts if m.sample_id == samples[i].id]
        if config.mutation or samples[i].real_bug:
            scored = [m for m in own if m.outcome in SCORED]
            verdicts[i].mutants_total = len(scored)
            verdicts[i].mutants_killed = sum(m.outcome == "caught" for m in scored)
            verdicts[i].mutation_score = verdicts[i].mutants_killed / len(scored) if scored else None

    if config.coverage:
        compiled = {name: units[name] for name in units if name in binaries}
        for name, cov in _coverage(cargo, compiled, config).items():
            verdict = verdicts[int(name[2:])]
            with_tests, without = cov
            verdict.line_coverage, verdict.branch_coverage = with_tests.line, with_tests.branch
            if with_tests.line is not None and without.line is not None:
                verdict.line_coverage_delta = with_tests.line - without.line
            if with_tests.branch is not None and without.branch is not None:
                verdict.branch_coverage_delta = with_tests.branch - without.branch
        clock.lap("coverage")
        tick("coverage", len(samples))
    return verdicts, mutant_verdicts


def _build_units(cargo: OfflineCargo, units: dict[str, Unit], keep: Path
                 ) -> tuple[dict[str, Path], dict[str, list[Diagnostic]]]:
    """Build all units in one crate; a failure no module can be blamed for falls back to one crate per unit."""
    texts = {name: unit.text for name, unit in units.items()}
    with ScratchCrate(cargo, "judge") as crate:
        result, failures = crate.build_dropping_failures(texts)
        if result is not None and result.ok:
            built = {name for name in texts if name not in failures}
            binary = keep_binary(result.test_binary, keep)
            return {name: binary for name in built}, failures
    binaries: dict[str, Path] = {}
    for name in (n for n in texts if n not in failures):
        with ScratchCrate(cargo, "unit") as crate:
            crate.write({name: texts[name]})
            single = crate.build()
            if single.ok:
                binaries[name] = keep_binary(single.test_binary, keep)
            else:
                failures[name] = list(single.errors) or [_unattributed(single.stderr)]
    return binaries, failures


def keep_binary(binary: Path, keep: Path) -> Path:
    """Test binaries live in the shared target dir, which later builds overwrite: copy each one out."""
    kept = Path(tempfile.mkdtemp(prefix="bin-", dir=keep)) / binary.name
    shutil.copy2(binary, kept)
    return kept


def _unattributed(stderr: str) -> Diagnostic:
    return Diagnostic("error", "build failed", stderr[-2000:], None, None, None, None)


def _run_all(binaries: dict[str, Path], config: JudgeConfig, env_for, timeout: float | Callable[[str], float],
             skip=None, writable: Path | None = None, one_by_one: bool = False) -> dict[str, TestRun]:
    """Run each unit's tests from its binary, `config.jobs` at a time; `timeout` may depend on the unit."""
    seconds = timeout if callable(timeout) else (lambda name: timeout)
    listed = {binary: list_tests(binary, timeout=config.test_timeout, env=config.test_env())
              for binary in set(binaries.values())} if one_by_one else {}

    def run(name: str) -> tuple[str, TestRun]:
        if one_by_one:
            names = listed[binaries[name]]
            if names is None:
                return name, TestRun(0, 0, (), False, False, 0.0, "the test binary could not list its tests")
            return name, run_unit_tests_one_by_one(binaries[name], name, names, timeout=seconds(name),
                                                   env=env_for(name))
        return name, run_unit_tests(binaries[name], name, timeout=seconds(name), env=env_for(name),
                                    skip=skip(name) if skip else None, writable=writable)

    with ThreadPoolExecutor(max_workers=config.jobs) as pool:
        return dict(pool.map(run, sorted(binaries)))


# --------------------------------------------------------------------------------------------------- mutation


def mutant_verdicts(samples_and_runs: list[tuple[JudgeSample, TestRun]], config: JudgeConfig
                    ) -> list[list[MutantVerdict]]:
    """The generated mutants of each sample's code run against its tests, which pass on the code (`TestRun` of that
    pass sets each mutant's time limit): per sample, in order. Sample ids must be unique."""
    cargo = OfflineCargo.prepared()
    scratch = cache_dir() / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mutants-", dir=scratch) as keep:
        by_index = _mutate(cargo, [(i, s, run) for i, (s, run) in enumerate(samples_and_runs)], config, Path(keep))
    return [by_index.get(i, []) for i in range(len(samples_and_runs))]


def chosen_mutants(mutant_set: MutantSet, code: str, config: JudgeConfig) -> list[int]:
    """All mutants, or, above the cap, a sample stratified by function, each function's share by its complexity."""
    indices = list(range(len(mutant_set.mutants)))
    if len(indices) <= config.max_mutants:
        return indices
    complexity = {f.name: f.complexity for f in functions(code)}
    by_function: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        by_function[mutant_set.mutants[i].function].append(i)
    weights = {fn: complexity.get(fn.split("::")[-1], 1) for fn in by_function}
    total = sum(weights.values())
    rng = random.Random(config.seed)
    chosen: list[int] = []
    for fn in sorted(by_function):
        quota = max(1, round(config.max_mutants * weights[fn] / total))
        members = by_function[fn]
        chosen += members if len(members) <= quota else rng.sample(members, quota)
    return sorted(rng.sample(chosen, config.max_mutants) if len(chosen) > config.max_mutants else chosen)


def _mutate(cargo, passing, config, keep: Path) -> dict[int, list[MutantVerdict]]:
    plans = {}
    for i, sample, run in passing:
        mutant_set = generate_mutants(sample.code)
        plans[i] = (sample, run, mutant_set, chosen_mutants(mutant_set, sample.code, config))
    if config.mutation_strategy == "rebuild":
        results = {i: _rebuild_mutants(cargo, i, plan, plan[3], config) for i, plan in plans.items()}
    else:
        results = _schemata_mutants(cargo, plans, config, keep)
    return results


def _verdict(sample: JudgeSample, index: int, mutant: Mutant, outcome: Outcome, failed=()) -> MutantVerdict:
    return MutantVerdict(sample.id, index, mutant.function, mutant.operator, mutant.line, mutant.replacement,
                         outcome, tuple(failed))


def _outcome(run: TestRun) -> Outcome:
    if run.timed_out:
        return "timeout"
    return "missed" if run.ok else "caught"


def _rebuild_mutants(cargo, i: int, plan, indices: list[int], config) -> list[MutantVerdict]:
    """The baseline strategy: one build per mutant."""
    sample, run, mutant_set, _ = plan
    name = f"s_{i:04d}"
    verdicts = []
    with ScratchCrate(cargo, "rebuild") as crate:
        for index in indices:
            mutant = mutant_set.mutants[index]
            crate.write({name: Unit(name, mutant.apply(sample.code), sample.tests).text})
            built = crate.build()
            if not built.ok:
                verdicts.append(_verdict(sample, index, mutant, "unviable"))
                continue
            mutant_run = run_unit_tests(built.test_binary, name, timeout=config.mutant_timeout(run.wall_seconds),
                                        env=config.test_env())
            verdicts.append(_verdict(sample, index, mutant, _outcome(mutant_run), mutant_run.failed))
    return verdicts


def _schemata_mutants(cargo, plans: dict, config: JudgeConfig, keep: Path) -> dict[int, list[MutantVerdict]]:
    """Every passing sample's mutants in one binary; rustc errors inside a mutant's own text make it unviable."""
    next_id = 1
    ids: dict[int, dict[int, int]] = {}
    for i, (_, _, _, chosen) in sorted(plans.items()):
        ids[i] = {index: next_id + k for k, index in enumerate(chosen)}
        next_id += len(chosen)
    unviable: dict[int, set[int]] = defaultdict(set)
    fallback: dict[int, set[int]] = defaultdict(set)
    binary = None
    active: dict[int, set[int]] = {}
    with ScratchCrate(cargo, "schemata") as crate:
        for _ in range(MAX_SCHEMATA_ROUNDS):
            active = {i: set(plan[3]) - unviable[i] - fallback[i] for i, plan in plans.items()}
            schemas = {i: render_schema(plans[i][2], active[i], {k: ids[i][k] for k in active[i]}) for i in plans}
            texts = {f"s_{i:04d}": Unit(f"s_{i:04d}", schemas[i].code, plans[i][0].tests).text for i in plans}
            crate.write(texts, root_extra=MUTANT_SWITCH_RS)
            built = crate.build()
            if built.ok:
                binary = keep_binary(built.test_binary, keep)
                break
            blamed = False
            for error in built.errors:
                name = unit_of(error)
                if name is None or error.byte_start is None:
                    continue
                i = int(name[2:])
                blamed = True
                outcome, culprits = blame(schemas[i], error.byte_start, active[i])
                (unviable if outcome == "unviable" else fallback)[i] |= culprits
            if not blamed:
                for i in plans:
                    fallback[i] |= active[i]
    if binary is None:  # out of rounds: whatever is still active goes the slow way
        for i in plans:
            fallback[i] |= active.get(i, set())
        active = {i: set() for i in plans}

    jobs = [(i, index) for i in sorted(plans) for index in sorted(active[i])]

    def run(job: tuple[int, int]) -> MutantVerdict:
        i, index = job
        sample, reference, mutant_set, _ = plans[i]
        env = {**config.test_env(), MUTANT_ENV: str(ids[i][index])}
        mutant_run = run_unit_tests(binary, f"s_{i:04d}", timeout=config.mutant_timeout(reference.wall_seconds),
                                    env=env)
        return _verdict(sample, index, mutant_set.mutants[index], _outcome(mutant_run), mutant_run.failed)

    with ThreadPoolExecutor(max_workers=config.jobs) as pool:
        ran = list(pool.map(run, jobs))
    results: dict[int, list[MutantVerdict]] = defaultdict(list)
    for verdict in ran:
        results[_index_of(plans, verdict.sample_id)].append(verdict)
    for i, plan in plans.items():
        sample, _, mutant_set, _ = plan
        results[i] += [_verdict(sample, index, mutant_set.mutants[index], "unviable") for index in unviable[i]]
        if fallback[i]:
            results[i] += _rebuild_mutants(cargo, i, plan, sorted(fallback[i]), config)
        results[i].sort(key=lambda v: v.mutant)
    return results


def _index_of(plans: dict, sample_id: str) -> int:
    return next(i for i, plan in plans.items() if plan[0].id == sample_id)


def blame(schema, byte: int, active: set[int]) -> tuple[Outcome | None, set[int]]:
    """Who an error at `byte` belongs to: the innermost mutant whose own text holds it (unviable), else the
    mutants of the innermost site around it (rebuilt one by one), else all of the sample's (rebuilt)."""
    owners = [(end - start, index) for index, ranges in schema.mutant_ranges.items() if index in active
              for start, end in ranges if start <= byte < end]
    if owners:
        return "unviable", {min(owners)[1]}
    sites = [(end - start, set(indices) & active) for start, end, indices in schema.site_ranges
             if start <= byte < end and set(indices) & active]
    return None, (min(sites, key=lambda s: s[0])[1] if sites else set(active))


# --------------------------------------------------------------------------------------------------- coverage


def _coverage(cargo, units: dict[str, Unit], config: JudgeConfig) -> dict[str, tuple[Coverage, Coverage]]:
    """Coverage with the sample's tests and without them (only the tests the code itself carries, if any)."""
    if not units:
        return {}
    try:
        llvm_tools()
    except CoverageUnavailable:
        return {}
    texts = {name: unit.text for name, unit in units.items()}
    with ScratchCrate(cargo, "coverage") as crate:
        branches = True
        result, _ = crate.build_dropping_failures(texts, rustc_args=BRANCH_FLAGS, env=BRANCH_ENV)
        if result is None or not result.ok:
            branches = False
            result, _ = crate.build_dropping_failures(texts, rustc_args=LINE_FLAGS)
        if result is None or not result.ok:
            return {}
        binary = result.test_binary
        built = {name for name in units if (crate.dir / "src" / f"{name}.rs").exists()}
        profiles = crate.dir / "profiles"
        shutil.rmtree(profiles, ignore_errors=True)
        (profiles / "base").mkdir(parents=True)
        env_for = lambda name: {**config.test_env(), "LLVM_PROFILE_FILE": str(profiles / f"{name}.profraw")}
        _run_all({n: binary for n in built}, config, env_for, config.test_timeout, writable=profiles)
        own_tests = {n for n in built if any(f.is_test for f in functions(units[n].code))}
        base_env = lambda name: {**config.test_env(), "LLVM_PROFILE_FILE": str(profiles / "base" / f"{name}.profraw")}
        _run_all({n: binary for n in own_tests}, config, base_env, config.test_timeout,
                 skip=lambda name: f"{name}::{test_module_name(units[name].tests)}::", writable=profiles)
        with_tests = _export(sorted(profiles.glob("*.profraw")), binary, profiles)
        without = _export(sorted((profiles / "base").glob("*.profraw")), binary, profiles / "base")
        results = {}
        for name in sorted(built):
            path = str(crate.dir / "src" / f"{name}.rs")
            lines = _code_lines(units[name])
            counts = with_tests.get(path)
            results[name] = (coverage_of(counts, lines, branches),
                             coverage_of(without.get(path) or (counts and counts.zeroed()), lines, branches))
        return results


def _export(profiles: list[Path], binary: Path, out_dir: Path) -> dict:
    return merge_and_export(profiles, binary, out_dir) if profiles else {}


def _code_lines(unit: Unit) -> set[int]:
    """Lines of the code under test, less any test code it carries itself."""
    lines = set(range(1, unit.code_lines + 1))
    for function in functions(unit.code):
        if function.in_test_code:
            lines -= set(range(function.start_line, function.end_line + 1))
    return lines
