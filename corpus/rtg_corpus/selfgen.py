"""Self-generated training tests (expert iteration, one round per call).

A model (the base model in round 0, the newest adapter after it) writes n candidate replies for training-split
functions through the backend protocol, so a vLLM or llama.cpp server does the same job (`--backend openai`).
The judge keeps a test only when it builds, passes, kills at least one of the judge's mutants and asserts
something that can fail; the mutation-guided rule of `rtg_eval.selection` picks among the kept ones, and the
composed tests are judged once more as a whole before they become a sample.

Work is written a chunk at a time: a run that is stopped resumes after the last chunk it wrote (`attempted` in the
state file lists every function tried, kept or not).
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rtg_core.backends import Backend, Sampling, candidates
from rtg_core.prompt import chat_prompt
from rtg_core.test_repairs import read_reply
from rtg_eval.judge import JudgeConfig
from rtg_eval.model_eval import requested_functions
from rtg_eval.samples import JudgeSample
from rtg_eval.selection import CandidateTest, calls_function, compose, judge_candidates, select_tests
from rtg_eval.static_checks import lint_tests
from rtg_corpus import card
from rtg_corpus.verify import verify

SOURCE = "self-generated"
PROPERTY = re.compile(r"^\s*(?:proptest!|#\[proptest\])", re.MULTILINE)  # a property, whatever comments sit above
BUILDS_ALONE_PROBE = "#[test]\nfn input_builds_alone() {}\n"
BUILD_CHECK_BATCH = 200
SELECTION_JUDGE = JudgeConfig(coverage=False, max_mutants=40, test_timeout=20.0)


@dataclass(frozen=True)
class SelfGenConfig:
    round: int  # 0: the base model; k: the adapter trained on rounds < k
    candidates: int = 4  # replies per function: the greedy one and n - 1 seeded samples
    max_new_tokens: int = 384
    max_prompt_tokens: int = 768  # longer inputs are left for a later round: they cost the most to generate for
    limit: int | None = None  # functions tried this round (after the build-alone check)
    chunk: int = 16  # functions generated for and judged together, then written
    seed: int = 42  # which training functions, in which order
    sampling: Sampling = field(default_factory=Sampling)


@dataclass
class RoundReport:
    tried: int = 0
    kept: int = 0
    tests_generated: int = 0
    tests_validated: int = 0
    tests_killing: int = 0
    tests_kept: int = 0
    generate_seconds: float = 0.0
    judge_seconds: float = 0.0


Log = Callable[[str], None]


def training_functions(corpus: Path, config: SelfGenConfig, count_tokens: Callable[[str], int]) -> list[dict]:
    """Training-split pairs to write tests for, one per distinct function, in a seeded order, those whose mined tests
    did not stand alone first (they add functions the mix lacks); the curated examples are people's and stay out."""
    records = [json.loads(line) for line in (corpus / "train.jsonl").read_text().splitlines() if line.strip()]
    seen, chosen = set(), []
    for record in records:
        if record["metadata"].get("source") == "curated" or record["function_code"] in seen:
            continue
        seen.add(record["function_code"])
        if count_tokens(record["input"]) <= config.max_prompt_tokens:
            chosen.append(record)
    random.Random(config.seed).shuffle(chosen)
    return sorted(chosen, key=lambda r: bool(r["metadata"].get("standalone")))


def build_alone(records: list[dict]) -> list[dict]:
    """The records whose input builds with no test of theirs: the only ones a generated test can pass on."""
    verdicts = verify([(r["id"], r["input"], BUILDS_ALONE_PROBE) for r in records])
    return [r for r in records if verdicts[r["id"]]["compiles"]]


def keepable(test: CandidateTest) -> bool:
    """Builds, passes, kills a mutant, asserts, and no assertion is a tautology."""
    if not (test.validated and test.kills):
        return False
    lint = lint_tests(test.item.text)
    return bool(lint.tests) and all(t.assertions > 0 for t in lint.tests) and lint.tautologies == 0


def run_round(corpus: Path, out: Path, backend: Backend, config: SelfGenConfig, count_tokens: Callable[[str], int],
              log: Log) -> RoundReport:
    """Appends this round's kept samples to `out` (JSONL); `out`.state.json records what was checked and tried.
    `count_tokens(input)`: the prompt's tokens by the model's tokenizer."""
    state_path = out.with_suffix(".state.json")
    # What fixes the order of the pool: resuming with other settings or another corpus would skip or repeat functions.
    fixed = {"round": config.round, "seed": config.seed, "max_prompt_tokens": config.max_prompt_tokens,
             "train_sha256": hashlib.sha256((corpus / "train.jsonl").read_bytes()).hexdigest()}
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"attempted": [], "checked": 0,
                                                                              "builds_alone": [], **fixed}
    changed = [key for key, value in fixed.items() if state.get(key) != value]
    if changed:
        raise ValueError(f"{state_path} was written with other {', '.join(changed)}: resume with the same settings "
                         f"and corpus, or start the round afresh (another --out)")
    report = RoundReport(**state.get("report", {}))
    pool = training_functions(corpus, config, count_tokens)
    wanted = config.limit or len(pool)
    while len(state["builds_alone"]) < wanted and state["checked"] < len(pool):  # most inputs need more: look on
        batch = pool[state["checked"]:state["checked"] + BUILD_CHECK_BATCH]
        log(f"checking that {len(batch)} more training functions build alone ({len(state['builds_alone'])} of "
            f"{wanted} found in {state['checked']})")
        state["builds_alone"] += [r["id"] for r in build_alone(batch)]
        state["checked"] += len(batch)
        _save(state_path, state, report)
    by_id = {r["id"]: r for r in pool}
    todo = [by_id[i] for i in state["builds_alone"][:wanted] if i in by_id]
    attempted = set(state["attempted"])
    if out.is_file():  # kept samples written just before a stop that came ahead of the state's update
        attempted |= {json.loads(line)["metadata"]["origin_id"] for line in out.read_text().splitlines() if line}
    remaining = [r for r in todo if r["id"] not in attempted]
    log(f"round {config.round}: {len(todo)} functions build alone, {len(remaining)} left to try")
    with open(out, "a", encoding="utf-8", newline="\n") as sink:
        for start in range(0, len(remaining), config.chunk):
            chunk = remaining[start:start + config.chunk]
            for sample in _one_chunk(chunk, backend, config, report):
                sink.write(card.dumps(sample) + "\n")
            sink.flush()
            state["attempted"] += [r["id"] for r in chunk]
            _save(state_path, state, report)
            log(f"round {config.round}: {report.kept} of {report.tried} functions kept a test "
                f"({report.tests_kept} tests; generation {report.generate_seconds:.0f} s, judge "
                f"{report.judge_seconds:.0f} s)")
    return report


def _one_chunk(chunk: list[dict], backend: Backend, config: SelfGenConfig, report: RoundReport) -> list[dict]:
    began = time.monotonic()
    replies = candidates(backend, [chat_prompt(r["input"]) for r in chunk], config.candidates,
                         config.max_new_tokens, config.sampling)
    report.generate_seconds += time.monotonic() - began
    began = time.monotonic()
    problems = []
    for record, completions in zip(chunk, replies):
        items = [read_reply(c.text, record["input"]).items for c in completions]
        problems.append((JudgeSample(record["id"], record["input"], "", metadata=record["metadata"]), items))
    judgements = judge_candidates(problems, SELECTION_JUDGE)
    composed = {}
    for (sample, _), judgement in zip(problems, judgements):
        report.tried += 1
        report.tests_generated += len(judgement.tests)
        report.tests_validated += sum(t.validated for t in judgement.tests)
        keep = [t for t in judgement.tests if keepable(t)]
        report.tests_killing += len(keep)
        wanted = requested_functions(sample)
        chosen = select_tests(keep, wanted) if keep else []
        # a sample is stored under its function: at least one test must call it, not only the helpers it killed in
        if chosen and any(calls_function(t, name) for t in chosen for name in wanted):
            composed[sample.id] = chosen
    code = {sample.id: sample.code for sample, _ in problems}
    whole = verify([(i, code[i], compose(chosen)) for i, chosen in composed.items()]) if composed else {}
    report.judge_seconds += time.monotonic() - began
    samples = []
    for record, judgement in zip(chunk, judgements):
        chosen = composed.get(record["id"])
        if not chosen or not whole[record["id"]]["passes"]:
            continue
        report.kept += 1
        report.tests_kept += len(chosen)
        samples.append(self_generated_record(record, chosen, whole[record["id"]], config, backend,
                                             max(judgement.mutants_scored.values(), default=0)))
    return samples


def self_generated_record(origin: dict, chosen: list[CandidateTest], verdict: dict, config: SelfGenConfig,
                          backend: Backend, mutants_scored: int) -> dict:
    properties = [t.item.text.strip("\n") for t in chosen if PROPERTY.search(t.item.text)]
    units = [t.item.text.strip("\n") for t in chosen if not PROPERTY.search(t.item.text)]
    metadata = dict(origin["metadata"])
    metadata.update({
        "source": SOURCE, "round": config.round, "origin_id": origin["id"], "generator": backend.describe(),
        "candidates": config.candidates, "standalone": True, "judge": verdict,
        "test_kinds": sorted({"proptest" if PROPERTY.search(t.item.text) else "unit" for t in chosen}),
        "test_names": [n for t in chosen for n in t.item.names],
        "mutants_killed": len(frozenset().union(*(t.kills for t in chosen))), "mutants_scored": mutants_scored,
        "link": [], "mix_weight": 1.0,
    })
    return {"id": f"selfgen-r{config.round}-{origin['id']}", "input": origin["input"], "output": compose(chosen),
            "function_code": origin["function_code"], "unit_tests": units, "property_tests": properties,
            "metadata": metadata}


def _save(path: Path, state: dict, report: RoundReport) -> None:
    state["report"] = report.__dict__
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1) + "\n")
    temporary.replace(path)
