"""The reports of a model evaluation, in the experiment's `evaluation/` (spec §8.2):

    samples.jsonl, mutants.jsonl   the judge's verdicts, as `rtg-eval --tests-from` writes them
    generations.jsonl              every reply of the model, every round, with its latency and tokens
    replay.jsonl                   the same replies keyed by prompt sha256: `--backend replay --replay` re-runs
    compile_results.json           per sample: rustfmt, cargo check, clippy, link
    test_results.json              per sample: tests, pass, mutants, coverage, lint, strata
    metrics.json                   the EvaluationResult: figures with and without the loops, similarity,
                                   resources, the checklist, the gates, strata, hashes, configuration
    checklist.json                 the checklist alone
    mutation_report.html           per function: each mutant as a diff, which test caught it, survivors marked
    metrics.jsonld                 the metric set as JSON-LD, with sha256 of base model, adapter and dataset and a
                                   link from every generated test to its source function
"""
from __future__ import annotations

import hashlib
import html
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from rtg_core.backends import ReplayRecord
from rtg_eval.checklist import SOURCE, ChecklistReport, Evidence
from rtg_eval.judge import SCORED
from rtg_eval.loops import mutant_diff
from rtg_eval.metrics import aggregate
from rtg_eval.model_eval import (ModelRun, generation_figures, mutant_set_of, per_test_summary,
                                 process_peak_rss_bytes)
from rtg_eval.strata import categories_of, complexity_bucket, test_kinds

VOCABULARY = "urn:rtg:vocab#"
BLEU4_DEFINITION = ("corpus-level BLEU-4 over tree-sitter leaf tokens (comments dropped), uniform weights, add-one "
                    "smoothing for n > 1, brevity penalty; CodeBLEU's four components on the same tokens and trees, "
                    "Rust `let` data flow included, data flow None without reference edges (rtg_eval.similarity)")


@dataclass
class ReportContext:
    test_set: str
    dataset_sha256: str
    backend: dict
    live: bool
    base_model: str | None
    base_model_sha256: str | None
    base_model_weights: dict | None  # rtg_core.base_models.weights_summary: GGUF sha256 and lineage, or revision
    adapter: str | None
    adapter_sha256: str | None
    experiment: str | None
    settings: dict
    command: list[str]
    started: str  # ISO time
    wall_seconds: float
    input_errors: list[str]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_reports(out: Path, context: ReportContext, run: ModelRun, evidence: Evidence,
                  checklist: ChecklistReport) -> dict:
    """Write every report into `out`; return metrics.json's content."""
    out.mkdir(parents=True, exist_ok=True)
    _jsonl(out / "samples.jsonl", [v.to_json() for v in run.verdicts])
    _jsonl(out / "mutants.jsonl", [asdict(m) for m in run.mutants])
    _jsonl(out / "generations.jsonl", [asdict(a) for a in run.attempts])
    _jsonl(out / "replay.jsonl", [ReplayRecord(a.prompt_sha256, a.reply, a.seconds, a.new_tokens, a.copy,
                                               a.seed).to_json() for a in run.attempts])
    compile_results = _compile_results(run, evidence)
    (out / "compile_results.json").write_text(json.dumps(compile_results, indent=2) + "\n")
    (out / "test_results.json").write_text(json.dumps(_test_results(run, evidence), indent=2) + "\n")
    metrics = evaluation_result(context, run, evidence, checklist)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "checklist.json").write_text(json.dumps(checklist.to_json(), indent=2) + "\n")
    (out / "mutation_report.html").write_text(mutation_report_html(run, context))
    (out / "metrics.jsonld").write_text(json.dumps(json_ld(context, run, metrics, checklist), indent=2) + "\n")
    return metrics


def _jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")


def _compile_results(run: ModelRun, evidence: Evidence) -> dict:
    rows = []
    for sample, verdict, ev in zip(run.samples, run.verdicts, evidence.samples):
        clippy = run.clippy.get(sample.id)
        rows.append({
            "id": sample.id, "parses": ev.parses, "checks": ev.checks, "clippy_warnings": ev.clippy_warnings,
            "links": verdict.compiles, "compile_errors": verdict.compile_errors,
            "check_errors": clippy.errors if clippy else None,
        })
    count = lambda key: sum(bool(r[key]) for r in rows)
    return {"samples": len(rows), "parse": count("parses"), "check": count("checks"), "link": count("links"),
            "clippy_clean": sum(r["clippy_warnings"] == [] for r in rows), "results": rows}


def _test_results(run: ModelRun, evidence: Evidence) -> dict:
    rows = []
    for sample, verdict, ev in zip(run.samples, run.verdicts, evidence.samples):
        rows.append({**verdict.to_json(), "tests": sample.tests, "categories": ev.categories,
                     "metadata_category": sample.metadata.get("category"),
                     "complexity": complexity_bucket(sample.code), "test_kinds": test_kinds(sample.tests),
                     "tests_found": ev.tests, "tests_asserting": ev.tests_asserting,
                     "descriptive_tests": ev.descriptive_tests, "has_comment": ev.has_comment,
                     "property_inputs": ev.property_inputs})
    return {"samples": len(rows), "passing": sum(r["passes"] for r in rows), "results": rows}


# --------------------------------------------------------------------------------------------------- metrics


def stratify(run: ModelRun, key) -> dict[str, dict]:
    """Figures per stratum; `key(sample)` gives the sample's strata (a sample may sit in several, or none)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, sample in enumerate(run.samples):
        for stratum in key(sample):
            groups[stratum].append(i)
    result = {}
    for stratum, members in sorted(groups.items()):
        ids = {run.samples[i].id for i in members}
        figures = aggregate([run.samples[i] for i in members], [run.verdicts[i] for i in members],
                            [m for m in run.mutants if m.sample_id in ids])
        result[stratum] = {"samples": len(members), "compile_rate": figures["compile_rate"],
                           "pass_rate": figures["pass_rate"], "mutation_score": figures["mutation_score"],
                           "real_bugs": figures["real_bugs"]}
    return result


def _kinds_label(tests: str) -> list[str]:
    kinds = test_kinds(tests)
    return ["+".join(kinds) if kinds else "none"]


def evaluation_result(context: ReportContext, run: ModelRun, evidence: Evidence, checklist: ChecklistReport) -> dict:
    """metrics.json: spec §5.2's EvaluationResult as far as the issue names its fields, and what backs them."""
    figures = aggregate(run.samples, run.verdicts, run.mutants)
    x2 = next(item for item in checklist.items if item.id == "x2")
    generation = generation_figures(run, context.live)
    return {
        "evaluation_result": {
            "samples": figures["samples"],
            "compile_rate": figures["compile_rate"],
            "pass_rate": figures["pass_rate"],
            "mutation_score": x2.value,  # every sample counts; see checklist x2
            "mutation_score_passing_samples": figures["mutation_score"],  # the judge's: passing samples only
            "real_bugs": figures["real_bugs"],  # over the samples whose tests pass: only those are run on the bug
            "real_bugs_in_test_set": sum(s.real_bug is not None for s in run.samples),
            "line_coverage": figures["line_coverage"],
            "branch_coverage": figures["branch_coverage"],
            "line_coverage_delta": figures["line_coverage_delta"],
            "branch_coverage_delta": figures["branch_coverage_delta"],
            "bleu4": figures["bleu4"],
            "codebleu": figures["codebleu"],
            "similarity_definition": BLEU4_DEFINITION,
            "generation_seconds_per_function": generation["seconds_per_function"],
            "tokens_per_second": generation["tokens_per_second"],
            "popperian_score": checklist.score,
            "grade": str(checklist.grade),
            "gates_passed": not checklist.failed_gates,
        },
        "stages": run.stages,  # without the loops ("initial"), after repair, after kill-survivors
        # Every test of the first round judged alone, and what selection keeps from the greedy reply (n=1) and from
        # all n replies: the figures above are over each function's final tests as a whole (the whole greedy reply
        # at n = 1, the selected tests at n > 1); the checklist reads those.
        "per_test": per_test_summary(run),
        "per_test_definitions": PER_TEST_DEFINITIONS,
        "judge": figures,
        "generation": generation,
        "loops": _loop_figures(run),
        "resources": {
            "wall_seconds": round(context.wall_seconds, 2),
            "stage_seconds": {k: round(v, 2) for k, v in run.seconds.items()},
            "judge_stage_seconds": {k: round(v, 2) for k, v in run.judge_seconds.items()},
            "process_peak_rss_bytes": process_peak_rss_bytes(),
            "cuda_peak_allocated_bytes": run.cuda_peak_bytes,
            "training_hours": evidence.train_hours,
            # e1's and P-GATE-004's figure: VRAM, or the RSS of a CPU-only training run (label says which)
            "peak_memory": ({**asdict(evidence.peak_memory), "label": evidence.peak_memory.label}
                            if evidence.peak_memory else None),
        },
        "checklist": {"score": checklist.score, "grade": str(checklist.grade),
                      "falsified": [f"{i.id}: {i.hypothesis}" for i in checklist.falsified],
                      "not_measured": [i.id for i in checklist.items if i.status == "not measured"]},
        "gates": [asdict(g) for g in checklist.gates],
        "strata": {
            "category": stratify(run, lambda s: [s.metadata.get("category") or "uncategorised"]),
            "feature": stratify(run, lambda s: categories_of(s.code) or ["plain"]),
            "complexity": stratify(run, lambda s: [complexity_bucket(s.code)]),
            "test_kind": stratify(run, lambda s: _kinds_label(s.tests)),
        },
        "hashes": {"dataset_sha256": context.dataset_sha256, "base_model_sha256": context.base_model_sha256,
                   "adapter_sha256": context.adapter_sha256},
        "model": {"backend": context.backend, "base_model": context.base_model,
                  "base_model_weights": context.base_model_weights, "adapter": context.adapter,
                  "experiment": context.experiment},
        "test_set": context.test_set,
        "input_errors": context.input_errors,
        "settings": context.settings,
        "command": context.command,
        "started": context.started,
    }


PER_TEST_DEFINITIONS = {
    "tests_generated": "test items (a #[test] fn or a proptest!/quickcheck! block) in the replies, after salvage",
    "tests_building": "of those, items that build once rustc's errors in their neighbours are dropped",
    "tests_fixed_by_rustc": "of those, items that build after taking the fixes rustc was sure of (MachineApplicable "
                            "suggestions inside the item: a borrow, `mut`, a numeric conversion)",
    "tests_passing": "of those, items whose every test passes alone on the code under test",
    "tests_killing": "of those, items that fail on at least one generated mutant",
    "tests_selected": "items kept by mutation-guided selection (greedy set cover over the kill matrix)",
    "functions_with_a_validated_test": "functions for which selection kept at least one passing test",
    "selection_mutation_score": "generated mutants killed by the selected tests / mutants scored, over all "
                                "functions with a passing test",
}


def _loop_figures(run: ModelRun) -> dict:
    rounds: dict[str, dict] = defaultdict(lambda: {"prompts": 0, "accepted": 0})
    for attempt in run.attempts:
        if attempt.round != "initial":
            rounds[attempt.round]["prompts"] += 1
            rounds[attempt.round]["accepted"] += attempt.accepted
    return dict(rounds)


# --------------------------------------------------------------------------------------------------- JSON-LD


def json_ld(context: ReportContext, run: ModelRun, metrics: dict, checklist: ChecklistReport) -> dict:
    """The metric set as JSON-LD. Terms are schema.org's where it has them, else `rtg:` (urn:rtg:vocab#); the
    spec's App. C vocabulary was not available, so this is the project's own mapping."""
    dataset_key = context.dataset_sha256[:16]
    result = metrics["evaluation_result"]

    def value(name: str, number, unit: str | None = None) -> dict:
        entry = {"@type": "PropertyValue", "name": name, "value": number}
        return {**entry, "unitText": unit} if unit else entry

    tests = []
    for sample, verdict in zip(run.samples, run.verdicts):
        tests.append({
            "@id": f"urn:rtg:test:{dataset_key}:{sample.id}",
            "@type": "rtg:GeneratedTest",
            "rtg:sha256": _sha(sample.tests),
            "rtg:testsFunction": {"@id": f"urn:rtg:function:{dataset_key}:{sample.id}",
                                  "@type": "SoftwareSourceCode", "programmingLanguage": "Rust",
                                  "identifier": sample.id, "rtg:sha256": _sha(sample.code)},
            "rtg:compiles": verdict.compiles,
            "rtg:passes": verdict.passes,
            "rtg:mutationScore": verdict.mutation_score,
        })
    return {
        "@context": {"@vocab": "https://schema.org/", "rtg": VOCABULARY},
        "@type": "rtg:EvaluationRun",
        "@id": f"urn:rtg:evaluation:{_sha(json.dumps(result, sort_keys=True))[:16]}",
        "dateCreated": context.started,
        "description": "rtg-eval model evaluation. Vocabulary: schema.org plus rtg: terms; spec App. C's own "
                       "vocabulary was not available.",
        "rtg:baseModel": {"@type": "rtg:Model", "name": context.base_model,
                          "rtg:sha256": context.base_model_sha256, "rtg:weights": context.base_model_weights},
        "rtg:adapter": {"@type": "rtg:Adapter", "name": context.adapter, "rtg:sha256": context.adapter_sha256},
        "rtg:dataset": {"@type": "Dataset", "name": context.test_set, "rtg:sha256": context.dataset_sha256},
        "rtg:backend": context.backend,
        "variableMeasured": [
            value("compile_rate", result["compile_rate"]),
            value("pass_rate", result["pass_rate"]),
            value("mutation_score", result["mutation_score"]),
            value("line_coverage_delta", result["line_coverage_delta"]),
            value("branch_coverage_delta", result["branch_coverage_delta"]),
            value("bleu4", result["bleu4"]),
            *(value(f"codebleu_{k}", v) for k, v in (result["codebleu"] or {}).items()),
            value("generation_seconds_per_function", result["generation_seconds_per_function"], "s"),
            value("popperian_score", result["popperian_score"], "points of 100"),
            value("grade", result["grade"]),
        ],
        "rtg:checklist": [
            {"@type": "PropertyValue", "identifier": item.id, "name": item.name, "value": item.value,
             "rtg:threshold": item.threshold, "rtg:thresholdSource": item.source, "rtg:status": item.status,
             "rtg:points": item.earned, "rtg:hypothesis": item.hypothesis, "rtg:evidence": item.evidence}
            for item in checklist.items
        ],
        "rtg:gates": [{"identifier": g.id, "rtg:logic": g.logic, "rtg:action": g.action,
                       "rtg:hypothesis": g.hypothesis, "rtg:passed": g.passed, "rtg:measured": g.measured,
                       "value": g.value} for g in checklist.gates],
        "hasPart": tests,
    }


# --------------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
h2{border-top:1px solid #ccc;padding-top:1em}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}
tr.missed{background:#fde2e2} tr.missed td.outcome{font-weight:bold;color:#a40000}
tr.caught td.outcome{color:#176f2c} tr.timeout td.outcome{color:#8a5a00} tr.unviable{color:#888}
pre{margin:0;font-size:.85em;white-space:pre-wrap}
.add{color:#176f2c} .del{color:#a40000} .hunk{color:#555}
.summary{font-size:.95em;color:#333}
"""


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.splitlines()[2:]:  # the ---/+++ header says nothing here
        css = "add" if line.startswith("+") else "del" if line.startswith("-") else "hunk" if line.startswith(
            "@@") else ""
        lines.append(f'<span class="{css}">{html.escape(line)}</span>' if css else html.escape(line))
    return "<pre>" + "\n".join(lines) + "</pre>"


def mutation_report_html(run: ModelRun, context: ReportContext) -> str:
    """One section per function: its verdict, the tests, and every mutant as a diff with who caught it."""
    by_sample: dict[str, list] = defaultdict(list)
    for m in run.mutants:
        by_sample[m.sample_id].append(m)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>rtg mutation report</title>"
             f"<style>{_CSS}</style></head><body>",
             "<h1>Mutation report</h1>",
             f"<p class='summary'>Test set <code>{html.escape(context.test_set)}</code> (sha256 "
             f"{context.dataset_sha256[:16]}…), backend {html.escape(json.dumps(context.backend))}. "
             "Rows in red are <b>survivors</b>: mutants no test caught.</p>"]
    totals = {o: sum(m.outcome == o for m in run.mutants) for o in ("caught", "missed", "timeout", "unviable")}
    parts.append("<p>" + ", ".join(f"{n} {o}" for o, n in totals.items()) + "</p>")
    for sample, verdict in zip(run.samples, run.verdicts):
        mutants = sorted(by_sample.get(sample.id, []), key=lambda m: m.mutant)
        scored = [m for m in mutants if m.outcome in SCORED]
        caught = sum(m.outcome == "caught" for m in scored)
        anchor = html.escape(sample.id)
        parts.append(f"<h2 id='{anchor}'>{anchor}</h2>")
        if not verdict.compiles:
            status = "the tests do not build, so no mutant was run"
        elif not verdict.passes:
            status = (f"{verdict.tests_passed}/{verdict.tests_total} tests pass on the original, so no mutant was "
                      "run")
        else:
            status = f"all {verdict.tests_total} tests pass; {caught}/{len(scored)} mutants caught"
        parts.append(f"<p class='summary'>{html.escape(status)}</p>")
        parts.append(f"<details><summary>generated tests</summary><pre>{html.escape(sample.tests)}</pre></details>")
        if verdict.compile_errors:
            parts.append("<details><summary>compile errors</summary><pre>"
                         + html.escape("\n\n".join(verdict.compile_errors[:3])) + "</pre></details>")
        if not mutants:
            continue
        parts.append("<table><tr><th>#</th><th>operator</th><th>line</th><th>outcome</th><th>caught by</th>"
                     "<th>diff</th></tr>")
        mutant_set = mutant_set_of(sample.code)
        for m in mutants:
            if m.mutant < 0:
                diff = mutant_diff(sample.code, sample.real_bug or "", "real bug", context=2)
            else:
                diff = mutant_diff(sample.code, mutant_set.mutants[m.mutant].apply(sample.code), f"mutant {m.mutant}")
            caught_by = ", ".join(t.rsplit("::", 1)[-1] for t in m.failed_tests) or "—"
            parts.append(f"<tr class='{m.outcome}'><td>{'bug' if m.mutant < 0 else m.mutant}</td>"
                         f"<td>{html.escape(m.operator)}</td><td>{m.line or ''}</td>"
                         f"<td class='outcome'>{'SURVIVED' if m.outcome == 'missed' else m.outcome}</td>"
                         f"<td>{html.escape(caught_by)}</td><td>{_diff_html(diff)}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------- terminal


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def summary_table(context: ReportContext, metrics: dict, checklist: ChecklistReport) -> str:
    result = metrics["evaluation_result"]
    stages = metrics["stages"]
    lines = [f"rtg-eval: {result['samples']} functions from {context.test_set}, backend "
             f"{context.backend.get('backend')} ({context.base_model or '-'}"
             f"{' + ' + context.adapter if context.adapter else ''}), {context.wall_seconds:.0f} s", ""]
    names = list(stages)
    lines.append(f"{'':24}" + "".join(f"{'+' + n if n != 'initial' else 'without loops':>20}" for n in names))
    for key, label in (("compile_rate", "compile rate"), ("pass_rate", "pass rate"),
                       ("mutation_score", "mutation score*"), ("line_coverage_delta", "line coverage delta"),
                       ("branch_coverage_delta", "branch coverage delta")):
        lines.append(f"{label:24}" + "".join(f"{_pct(stages[n][key]):>20}" for n in names))
    in_set = result["real_bugs_in_test_set"]
    lines.append(f"{'real bugs caught':24}" + "".join(
        f"{str(stages[n]['real_bugs']['killed']) + '/' + str(in_set):>20}" for n in names))
    lines.append("* over the samples whose tests pass (the judge's figure); checklist x2 counts every sample. A real "
                 "bug is run only where the tests pass on the original.")
    per_test = metrics.get("per_test") or {}
    if per_test:
        lines += ["", f"each test judged alone{'':9}" + "".join(f"{label:>12}" for label in per_test)]
        for key in ("tests_generated", "tests_building", "tests_fixed_by_rustc", "tests_passing", "tests_killing",
                    "tests_selected", "functions_with_a_validated_test"):
            lines.append(f"{key.replace('_', ' '):32}" + "".join(f"{str(f.get(key)):>12}" for f in per_test.values()))
        lines.append(f"{'selection mutation score':32}" + "".join(
            f"{_pct(f['selection_mutation_score']):>12}" for f in per_test.values()))
        lines.append("The rates above and the checklist judge each function's final tests as a whole: the greedy "
                     "reply at n=1, the selected tests at n>1.")
    codebleu = result["codebleu"]
    if result["bleu4"] is not None:
        lines.append(f"BLEU-4 {result['bleu4']:.4f} (corpus-level, tree-sitter tokens, add-one smoothing n > 1); "
                     f"CodeBLEU {codebleu['score']:.4f} (ngram {codebleu['ngram']:.4f}, weighted "
                     f"{codebleu['weighted_ngram']:.4f}, syntax {codebleu['syntax_match']:.4f}, dataflow "
                     f"{'n/a' if codebleu['dataflow_match'] is None else format(codebleu['dataflow_match'], '.4f')})")
    seconds = result["generation_seconds_per_function"]
    lines.append(f"generation: {'not measured (replayed)' if seconds is None else f'{seconds:.3f} s per function'}"
                 + ("" if result["tokens_per_second"] is None else f", {result['tokens_per_second']:.1f} tokens/s"))
    lines += ["", "by stratum: samples, compile rate, pass rate, mutation score*"]
    for kind, strata in metrics["strata"].items():
        cells = [f"{name} {f['samples']}/{_pct(f['compile_rate'])}/{_pct(f['pass_rate'])}/{_pct(f['mutation_score'])}"
                 for name, f in strata.items()]
        lines.append(f"  {kind:11} " + "; ".join(cells))
    lines += ["", f"Popperian checklist ({SOURCE})", f"{'id':4}{'item':32}{'pts':>4}  {'threshold':30}"
              f"{'measured':>10}  {'status':14}evidence"]
    for item in checklist.items:
        measured = "-" if item.value is None else f"{item.value:.3g}"
        lines.append(f"{item.id:4}{item.name[:31]:32}{item.earned:>2}/{item.points:<2} {item.threshold[:29]:30}"
                     f"{measured:>10}  {item.status:14}{item.evidence}")
    lines.append(f"score {checklist.score}/100, grade {checklist.grade}")
    for item in checklist.falsified:
        lines.append(f"  falsified {item.id}: {item.hypothesis}")
    lines.append("")
    for gate in checklist.gates:
        verdict = "PASS" if gate.passed else "FAIL" if gate.measured else "FAIL (not measured)"
        lines.append(f"{gate.id} {verdict}: fails when {gate.logic}, then {gate.action}; measured {gate.value}")
    return "\n".join(lines)
