"""Aggregate figures over judged samples (metrics.json)."""
from __future__ import annotations

from statistics import mean

from rtg_eval.judge import SCORED, MutantVerdict, SampleVerdict
from rtg_eval.samples import JudgeSample
from rtg_eval.similarity import bleu4, codebleu


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return mean(present) if present else None


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def aggregate(samples: list[JudgeSample], verdicts: list[SampleVerdict], mutants: list[MutantVerdict]) -> dict:
    outcomes = {o: sum(m.outcome == o for m in mutants) for o in ("caught", "missed", "unviable", "timeout")}
    scored = sum(outcomes[o] for o in SCORED)
    real_bugs = [v.real_bug_killed for v in verdicts if v.real_bug_killed is not None]
    metrics = {
        "samples": len(verdicts),
        # a sample counts as compiling only with a test in it: an empty (or wholly salvaged-away) reply builds
        # trivially and tests nothing
        "compile_rate": _rate([v.compiles and bool(v.tests_total) for v in verdicts]),
        "pass_rate": _rate([v.passes for v in verdicts]),
        "timed_out": sum(v.timed_out for v in verdicts),
        # caught / (caught + missed + timeout) over all mutants of passing samples; unviable ones left out
        "mutation_score": outcomes["caught"] / scored if scored else None,
        "mutation_score_mean": _mean(v.mutation_score for v in verdicts),
        "mutants": outcomes,
        "real_bugs": {"total": len(real_bugs), "killed": sum(real_bugs)},
        "line_coverage": _mean(v.line_coverage for v in verdicts),
        "branch_coverage": _mean(v.branch_coverage for v in verdicts),
        "line_coverage_delta": _mean(v.line_coverage_delta for v in verdicts),
        "branch_coverage_delta": _mean(v.branch_coverage_delta for v in verdicts),
        "tautologies": sum(v.tautologies for v in verdicts),
        "meaningless_asserts": sum(v.meaningless_asserts for v in verdicts),
        "bleu4": None,
        "codebleu": None,
    }
    pairs = [(s.tests, s.reference_tests) for s in samples if s.reference_tests]
    if pairs:
        hypotheses, references = zip(*pairs)
        metrics["bleu4"] = bleu4(list(hypotheses), list(references))
        cb = codebleu(list(hypotheses), list(references))
        metrics["codebleu"] = {"score": cb.score, "ngram": cb.ngram, "weighted_ngram": cb.weighted_ngram,
                               "syntax_match": cb.syntax_match, "dataflow_match": cb.dataflow_match}
        metrics["similarity_pairs"] = len(pairs)
    return metrics
