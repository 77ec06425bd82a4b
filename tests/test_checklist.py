"""The Popperian checklist as a table and a scorer: points, thresholds, grade bands, "not measured", gates.

Measurements come from hand-made evidence here; tests/test_model_eval_cli.py scores real runs.
"""
import json
from dataclasses import replace

import pytest

from rtg_core.verdict import read_verdict, write_verdict
from rtg_eval.checklist import (CATEGORIES, GATES, ITEMS, ITEMS_BY_ID, PROJECT, Evidence, LockEvidence, PeakMemory,
                                ReproEvidence, SampleEvidence, grade, score_checklist)
from rtg_eval.experiment import Experiment, training_figures
from rtg_eval.model_cli import GATES_FAILED, gate_exit_status
from rtg_eval.model_eval import peak_memory

# Spec §9.2, item by item.
SPEC_POINTS = {
    "r1": 5, "r2": 5, "r3": 5, "r4": 5,
    "c1": 5, "c2": 5, "c3": 5, "c4": 5,
    "x1": 5, "x2": 5, "x3": 5, "x4": 5,
    "v1": 5, "v2": 5, "v3": 5,
    "e1": 3, "e2": 4, "e3": 3,
    "g1": 2, "g2": 2, "g3": 2, "g4": 2, "g5": 2,
    "d1": 2, "d2": 2, "d3": 1,
}


def sample(i: int = 0, **changes) -> SampleEvidence:
    """A sample whose tests do everything right."""
    good = SampleEvidence(
        id=f"s{i}", parses=True, checks=True, clippy_warnings=[], links=True, passes=True, mutants_scored=10,
        mutants_caught=9, line_delta=0.6, branch_delta=0.5, tests=3, tests_asserting=3, tautologies=0,
        edge_cases=["zero"], descriptive_tests=3, has_comment=True, property_inputs=["len"], parameter_names=["n"],
        categories=[CATEGORIES[i % len(CATEGORIES)]])
    return replace(good, **changes)


def evidence(samples=None, **changes) -> Evidence:
    perfect = Evidence(
        samples=samples if samples is not None else [sample(i) for i in range(10)],
        repro=ReproEvidence(steps=2, same_adapter=True, adapters=["a" * 64, "a" * 64], max_loss_difference=0.0,
                            same_generations=True, generations_compared=3),
        lock=LockEvidence(True, [], True), peak_memory=PeakMemory(5.0, "VRAM", "training on CUDA"), memory_note="",
        train_hours=1.0, generation_seconds_per_function=0.4, latency_note="batched")
    return replace(perfect, **changes)


def status(report, item_id: str) -> str:
    return next(i for i in report.items if i.id == item_id).status


def gate(report, gate_id: str):
    return next(g for g in report.gates if g.id == gate_id)


def exit_status(report) -> int:
    return gate_exit_status(report, enforce=True, log=lambda message: None)


def test_every_item_has_the_spec_points_and_they_sum_to_100():
    assert {item.id: item.points for item in ITEMS} == SPEC_POINTS
    assert [item.id for item in ITEMS] == list(SPEC_POINTS)
    assert sum(item.points for item in ITEMS) == 100


def test_a_perfect_report_earns_each_items_points_and_a_failed_item_loses_exactly_its_own():
    assert {i.id: i.earned for i in score_checklist(evidence()).items} == SPEC_POINTS
    slow = score_checklist(evidence(train_hours=5.0))  # e2: 4 points
    assert (status(slow, "e2"), slow.score) == ("fail", 96)
    no_proptest_names = score_checklist(evidence([sample(i, property_inputs=["x"]) for i in range(10)]))
    assert (status(no_proptest_names, "d3"), no_proptest_names.score) == ("fail", 99)  # d3: 1 point


def test_thresholds_the_spec_states_are_the_spec_s_and_the_rest_say_they_are_the_project_s():
    spec_given = {"r1", "r2", "r3", "r4", "c4", "x2", "v1", "v2", "e1", "e2", "e3"}
    assert {item.id for item in ITEMS if item.source != PROJECT} == spec_given
    assert all(item.source.startswith("spec §") for item in ITEMS if item.id in spec_given)
    thresholds = {i: (ITEMS_BY_ID[i].direction, ITEMS_BY_ID[i].threshold) for i in ("c4", "x2", "v1", "v2", "e1",
                                                                                        "e2", "e3")}
    assert thresholds == {"c4": (">=", 0.90), "x2": (">=", 0.70), "v1": (">=", 0.05), "v2": (">=", 0.10),
                          "e1": ("<", 8.0), "e2": ("<", 4.0), "e3": ("<", 1.0)}
    report = score_checklist(evidence()).to_json()
    assert all(entry["source"] == ITEMS_BY_ID[entry["id"]].source for entry in report["items"])
    assert "spec §9.2" in report["source"] and "§16.1" in report["source"] and "not available" not in report["source"]


def test_every_rate_states_the_fraction_of_samples_it_needs():
    rates = [item for item in ITEMS if item.unit.startswith("of ")]
    assert {item.id for item in rates} >= {"c1", "c2", "c3", "c4", "x1", "x3", "x4", "v3", "d2", "d3"}
    assert ITEMS_BY_ID["c2"].describe_threshold() == ">= 90% of samples"
    assert ITEMS_BY_ID["x2"].describe_threshold() == ">= 0.7 mutation score"
    assert all(0 < item.threshold <= 1 for item in rates)


@pytest.mark.parametrize("score, band", [
    (100, "A+ (Excellent)"), (95, "A+ (Excellent)"), (94, "A (Very Good)"), (90, "A (Very Good)"),
    (89, "B+ (Good)"), (85, "B+ (Good)"), (84, "B (Satisfactory)"), (80, "B (Satisfactory)"),
    (79, "C (Needs Improvement)"), (70, "C (Needs Improvement)"), (69, "F (Failing)"), (0, "F (Failing)"),
])
def test_grade_bands(score, band):
    assert str(grade(score)) == band


def test_the_report_grades_its_own_score_at_the_band_edges():
    loss_differs = ReproEvidence(steps=2, same_adapter=True, adapters=["a" * 64] * 2, max_loss_difference=1e-3,
                                 same_generations=True, generations_compared=3)
    at_95 = score_checklist(evidence(repro=loss_differs))
    assert (at_95.score, str(at_95.grade)) == (95, "A+ (Excellent)")
    at_94 = score_checklist(evidence([sample(i, property_inputs=["x"]) for i in range(10)], repro=loss_differs))
    assert (at_94.score, str(at_94.grade)) == (94, "A (Very Good)")
    assert at_94.to_json()["grade"] == "A (Very Good)"
    assert [band["min_score"] for band in at_94.to_json()["grade_bands"]] == [95, 90, 85, 80, 70, 0]


def test_perfect_evidence_scores_100_and_passes_every_gate():
    report = score_checklist(evidence())
    assert (report.score, str(report.grade)) == (100, "A+ (Excellent)")
    assert not report.falsified and not report.failed_gates
    assert [g.id for g in report.gates] == [g.id for g in GATES]
    assert exit_status(report) == 0


def test_the_gates_are_the_spec_s_with_the_hypotheses_they_falsify():
    assert [(g.id, g.logic, g.hypothesis) for g in GATES] == [
        ("P-GATE-001", "PopperianScore < 90", None),
        ("P-GATE-002", "CompileRate < 0.9", "Syntactic Understanding"),
        ("P-GATE-003", "MutationScore < 0.7", "Semantic Utility"),
        ("P-GATE-004", "VRAM > 8GB", "Efficiency"),
    ]
    assert GATES[0].action == "reject the adapter; forbid deployment"


def test_what_is_not_measured_earns_nothing_and_is_not_called_falsified():
    report = score_checklist(evidence(peak_memory=None, memory_note="no training metrics.json",
                                      generation_seconds_per_function=None, latency_note="replayed"))
    assert status(report, "e1") == status(report, "e3") == "not measured"
    assert report.score == 100 - ITEMS_BY_ID["e1"].points - ITEMS_BY_ID["e3"].points
    assert {"e1", "e3"}.isdisjoint(i.id for i in report.falsified)


def test_tautologies_in_one_sample_in_ten_falsify_x4():
    samples = [sample(i) for i in range(10)]
    samples[3] = sample(3, tautologies=2)
    report = score_checklist(evidence(samples))
    x4 = next(i for i in report.items if i.id == "x4")
    assert (x4.status, x4.value) == ("fail", 0.9)
    assert "9/10 samples are free of tautologies" in x4.evidence


def test_a_sample_without_tests_fails_the_static_test_checks():
    samples = [sample(i) for i in range(9)] + [sample(9, tests=0, tests_asserting=0, descriptive_tests=0)]
    report = score_checklist(evidence(samples))
    assert status(report, "x4") == "fail"
    assert "1 have no test at all" in next(i for i in report.items if i.id == "x4").evidence


def test_samples_whose_tests_fail_count_their_mutants_as_missed():
    samples = [sample(i) for i in range(5)] + [sample(i, passes=False, mutants_caught=0) for i in range(5, 10)]
    report = score_checklist(evidence(samples))
    x2 = next(i for i in report.items if i.id == "x2")
    assert x2.value == pytest.approx(45 / 100)
    assert x2.status == "fail" and "5 samples whose tests do not pass" in x2.evidence
    mutation_gate = gate(report, "P-GATE-003")
    assert not mutation_gate.passed and mutation_gate.value.startswith("MutationScore 0.450 (x2: caught 45/100")


def test_tests_that_do_not_build_cover_nothing():
    samples = [sample(i, line_delta=0.2) for i in range(5)]
    samples += [sample(i, links=False, passes=False, line_delta=None, branch_delta=None) for i in range(5, 10)]
    report = score_checklist(evidence(samples))
    assert next(i for i in report.items if i.id == "v2").value == pytest.approx(0.1)


def test_a_category_without_samples_is_not_measured():
    samples = [replace(sample(i), categories=["async"]) for i in range(10)]
    report = score_checklist(evidence(samples))
    assert status(report, "g3") == "pass"
    assert {status(report, g) for g in ("g1", "g2", "g4", "g5")} == {"not measured"}


def test_a_category_is_scored_by_the_bugs_its_tests_catch_not_by_passing():
    samples = [sample(i, categories=["generics"], mutants_caught=0) for i in range(5)]  # pass, catch nothing
    samples += [sample(i, categories=["async"]) for i in range(5, 10)]
    report = score_checklist(evidence(samples))
    assert (status(report, "g1"), status(report, "g3")) == ("fail", "pass")
    assert "5 generics functions: caught 0/50 mutants" in next(i for i in report.items if i.id == "g1").evidence


def test_property_inputs_named_after_the_parameters_count_as_descriptive():
    named = [sample(i, property_inputs=["n", "x"], parameter_names=["n", "x"]) for i in range(10)]
    assert status(score_checklist(evidence(named)), "d3") == "pass"
    single_letters = [sample(i, property_inputs=["x"], parameter_names=["value"]) for i in range(10)]
    assert status(score_checklist(evidence(single_letters)), "d3") == "fail"


def test_the_loss_curves_must_agree_within_1e_6_for_r1():
    def with_difference(difference: float):
        return score_checklist(evidence(repro=ReproEvidence(steps=2, same_adapter=True, adapters=["a" * 64] * 2,
                                                            max_loss_difference=difference, same_generations=True,
                                                            generations_compared=3)))
    assert status(with_difference(9e-7), "r1") == "pass"
    assert status(with_difference(1e-6), "r1") == "fail"  # spec §9.3: |l1 - l2| < 1e-6
    differing = score_checklist(evidence(repro=ReproEvidence(steps=2, same_adapter=False, adapters=["a", "b"],
                                                             max_loss_difference=0.0, same_generations=False,
                                                             generations_compared=3)))
    assert [status(differing, i) for i in ("r1", "r2", "r3")] == ["pass", "fail", "fail"]
    assert "different generated tests for 3 functions" in next(i for i in differing.items if i.id == "r3").evidence
    unmeasured = score_checklist(evidence(repro=ReproEvidence(note="not run")))
    assert {status(unmeasured, i) for i in ("r1", "r2", "r3")} == {"not measured"}
    # reproducibility is r1-r4's: left unmeasured it costs 15 points (and so P-GATE-001), not a gate of its own
    assert unmeasured.score == 85 and [g.id for g in unmeasured.failed_gates] == ["P-GATE-001"]


def test_the_compile_gate_reads_c4_and_an_empty_reply_does_not_compile_anything():
    samples = [sample(i) for i in range(9)] + [sample(9, links=False, passes=False, mutants_caught=0)]
    compile_gate = gate(score_checklist(evidence(samples)), "P-GATE-002")
    assert compile_gate.passed and compile_gate.value.startswith("CompileRate 0.900 (c4: 9/10 samples link")
    samples[8] = sample(8, tests=0, tests_asserting=0, descriptive_tests=0)  # builds, but holds no test
    report = score_checklist(evidence(samples))
    assert "P-GATE-002" in [g.id for g in report.failed_gates]
    assert status(report, "c1") == "fail"


# --- each gate on both sides of its threshold: verdict and rtg-eval's exit status ------------------------------


def score_evidence(points_lost: int) -> Evidence:
    """Evidence losing exactly `points_lost` (0, 10 or 11) points, none of them through a gate's own figure."""
    repro = {0: evidence().repro,
             10: ReproEvidence(steps=2, same_adapter=False, adapters=["a", "b"], max_loss_difference=1.0,
                               same_generations=True, generations_compared=3)}
    if points_lost == 11:
        return evidence([sample(i, property_inputs=["x"]) for i in range(10)], repro=repro[10])
    return evidence(repro=repro[points_lost])


def compile_evidence(linking: int) -> Evidence:
    """10 samples, `linking` of them build; the others type-check but do not link, and bring no mutants and no
    category, so that only c4, x1 and the compile rate move."""
    samples = [sample(i) for i in range(linking)]
    samples += [sample(i, links=False, passes=False, mutants_scored=0, mutants_caught=0, line_delta=None,
                       branch_delta=None, categories=[]) for i in range(linking, 10)]
    return evidence(samples)


def mutation_evidence(plain_caught: int) -> Evidence:
    """10 category samples catching 9/10 mutants and 10 plain ones catching `plain_caught`/10: x2 moves, g1-g5 not."""
    samples = [sample(i) for i in range(10)]
    samples += [sample(i, mutants_caught=plain_caught, categories=[]) for i in range(10, 20)]
    return evidence(samples)


def memory_evidence(gb: float) -> Evidence:
    return evidence(peak_memory=PeakMemory(gb, "VRAM", "training on CUDA"))


@pytest.mark.parametrize("gate_id, passing, failing, score_when_failing", [
    ("P-GATE-001", score_evidence(10), score_evidence(11), 89),  # score 90 passes, 89 fails
    ("P-GATE-002", compile_evidence(9), compile_evidence(8), 90),  # compile rate 0.90 passes, 0.80 fails
    ("P-GATE-003", mutation_evidence(5), mutation_evidence(4), 95),  # mutation score 0.70 passes, 0.65 fails
    ("P-GATE-004", memory_evidence(8.0), memory_evidence(8.01), 97),  # 8 GB passes (VRAM > 8GB fails), 8.01 fails
])
def test_each_gate_passes_at_its_threshold_and_fails_beyond_it_with_exit_status_4(gate_id, passing, failing,
                                                                                 score_when_failing):
    passed, failed = score_checklist(passing), score_checklist(failing)
    assert gate(passed, gate_id).passed and not passed.failed_gates
    assert exit_status(passed) == 0
    assert [g.id for g in failed.failed_gates] == [gate_id]  # this gate alone, on its own figure
    assert gate(failed, gate_id).measured and failed.score == score_when_failing
    assert exit_status(failed) == GATES_FAILED == 4
    assert gate_exit_status(failed, enforce=False, log=lambda message: None) == 0  # --no-gates only reports


def test_a_failed_gate_is_logged_with_its_value_and_the_hypothesis_it_falsifies():
    messages = []
    assert gate_exit_status(score_checklist(compile_evidence(8)), enforce=True, log=messages.append) == 4
    assert messages[0].startswith("P-GATE-002 failed (CompileRate 0.800 (c4: 8/10 samples link")
    assert messages[0].endswith('CompileRate < 0.9): falsify the "Syntactic Understanding" hypothesis')
    messages.clear()
    gate_exit_status(score_checklist(score_evidence(11)), enforce=True, log=messages.append)
    assert messages == ["P-GATE-001 failed (PopperianScore 89/100, grade B+ (Good); PopperianScore < 90): reject "
                        "the adapter; forbid deployment"]


def test_e1_holds_the_spec_s_strict_bound_where_p_gate_004_allows_exactly_8_gb():
    assert [status(score_checklist(memory_evidence(gb)), "e1") for gb in (7.99, 8.0)] == ["pass", "fail"]


def test_unmeasured_memory_fails_p_gate_004_as_unverified_not_as_falsified():
    report = score_checklist(evidence(peak_memory=None, memory_note="no training metrics.json; generation did not "
                                                                    "run on CUDA either"))
    memory_gate = gate(report, "P-GATE-004")
    assert (memory_gate.passed, memory_gate.measured) == (False, False)
    assert status(report, "e1") == "not measured"
    assert memory_gate.summary().startswith("P-GATE-004 could not be verified (memory not measured: no training")
    assert exit_status(report) == 4


# --- e1 and P-GATE-004 on a CPU-only training run ----------------------------------------------------------------


def write_training_metrics(root, kind: str, peak_bytes: int):
    (root / "metrics.json").write_text(json.dumps({"train_seconds": 7200, "peak_memory_kind": kind,
                                                   "peak_memory_bytes": peak_bytes}))
    return Experiment(None, root)


def test_a_cpu_only_training_run_is_held_to_8_gb_by_its_peak_rss_and_says_so(tmp_path):
    hours, memory, _ = training_figures(write_training_metrics(tmp_path, "cpu_max_rss", 3_200_000_000))
    assert (hours, memory.gb, memory.kind) == (2.0, 3.2, "RSS")
    report = score_checklist(evidence(peak_memory=peak_memory(memory, None)))
    e1, memory_gate = next(i for i in report.items if i.id == "e1"), gate(report, "P-GATE-004")
    label = "3.20 GB peak RSS of the CPU-only training process, not VRAM (spec §6.2: QLoRA needs 8 GB of RAM)"
    assert (e1.status, e1.value) == ("pass", 3.2) and e1.evidence.startswith(label)
    assert memory_gate.passed and memory_gate.value == label
    written = json.dumps(report.to_json())  # checklist.json
    assert written.count("peak RSS of the CPU-only training process, not VRAM") == 2  # e1 and P-GATE-004

    _, heavy, _ = training_figures(write_training_metrics(tmp_path, "cpu_max_rss", 9_000_000_000))
    over = score_checklist(evidence(peak_memory=peak_memory(heavy, None)))
    assert status(over, "e1") == "fail" and [g.id for g in over.failed_gates] == ["P-GATE-004"]
    assert "9.00 GB peak RSS" in gate(over, "P-GATE-004").summary()


def test_on_cuda_the_figure_is_peak_vram_of_training_and_generation(tmp_path):
    _, training, _ = training_figures(write_training_metrics(tmp_path, "cuda_max_memory_allocated", 5_000_000_000))
    assert (training.gb, training.kind) == (5.0, "VRAM")
    assert peak_memory(training, 6_000_000_000) == PeakMemory(
        6.0, "VRAM", "training on CUDA, torch.cuda.max_memory_allocated: 5.00 GB VRAM; generation on CUDA: 6.00 GB "
                     "VRAM")
    report = score_checklist(evidence(peak_memory=peak_memory(training, 6_000_000_000)))
    assert gate(report, "P-GATE-004").value == "6.00 GB peak VRAM"
    assert peak_memory(None, None) is None
    assert peak_memory(None, 1_000_000_000).kind == "VRAM"


def test_a_metrics_file_without_a_known_memory_kind_measures_nothing(tmp_path):
    _, memory, note = training_figures(write_training_metrics(tmp_path, "something_else", 1))
    assert memory is None and "no known peak memory (something_else)" in note


# --- the adapter's verdict, for publish and serve ---------------------------------------------------------------


def adapter_dir(tmp_path, weights: bytes = b"weights"):
    (tmp_path / "adapter_model.safetensors").write_bytes(weights)
    return tmp_path


def test_the_verdict_beside_the_weights_accepts_or_rejects_them_by_p_gate_001(tmp_path):
    from rtg_core.files import file_sha256

    adapter = adapter_dir(tmp_path)
    sha = file_sha256(adapter / "adapter_model.safetensors")
    passing = score_checklist(compile_evidence(8))  # 90 points; P-GATE-002 failed
    write_verdict(adapter, passing.verdict(sha, "eval/checklist.json", "holdout.jsonl", 10, "2025-01-01T00:00:00"))
    accepted = read_verdict(adapter)
    assert accepted.state == "accepted" and accepted.verdict.score == 90
    assert [g.id for g in accepted.verdict.failed_gates] == ["P-GATE-002"]  # reported, but deployment is P-GATE-001's

    failing = score_checklist(score_evidence(11))
    write_verdict(adapter, failing.verdict(sha, "eval/checklist.json", "holdout.jsonl", 10, "2025-01-01T00:00:00"))
    rejected = read_verdict(adapter)
    assert rejected.state == "rejected"
    assert rejected.reason == ("Popperian score 89/100, grade B+ (Good); failed gates: P-GATE-001; falsified items: "
                               "r1, r2, d3")
    assert json.loads((adapter / "gates.json").read_text())["gates"][0]["summary"].startswith(
        "P-GATE-001 failed (PopperianScore 89/100")

    (adapter / "adapter_model.safetensors").write_bytes(b"other weights")
    stale = read_verdict(adapter)
    assert stale.state == "not evaluated" and "judged other weights" in stale.reason
