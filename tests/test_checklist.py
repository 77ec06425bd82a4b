"""The Popperian checklist as a table and a scorer: points, thresholds, grade bands, "not measured", gates.

Measurements come from hand-made evidence here; tests/test_model_eval_cli.py scores real runs.
"""
from dataclasses import replace

import pytest

from rtg_eval.checklist import (CATEGORIES, GATES, ITEMS, ITEMS_BY_ID, Evidence, LockEvidence, ReproEvidence,
                                SampleEvidence, grade, score_checklist)


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
        lock=LockEvidence(True, [], True), peak_vram_gb=5.0, vram_note="training on CUDA", train_hours=1.0,
        generation_seconds_per_function=0.4, latency_note="batched")
    return replace(perfect, **changes)


def status(report, item_id: str) -> str:
    return next(i for i in report.items if i.id == item_id).status


def test_the_table_has_the_26_items_the_issue_names_worth_100_points():
    # The issue says "25 items" but names 26 ids (r1-r4, c1-c4, x1-x4, v1-v3, e1-e3, g1-g5, d1-d3): all are scored.
    assert len(ITEMS) == 26
    assert sum(item.points for item in ITEMS) == 100
    assert {item.id[0] for item in ITEMS} == set("rcxvegd")
    assert [item.id for item in ITEMS if item.id.startswith("g")] == ["g1", "g2", "g3", "g4", "g5"]


def test_every_rate_states_the_fraction_of_samples_it_needs():
    rates = [item for item in ITEMS if item.unit.startswith("of ")]
    assert {item.id for item in rates} >= {"c1", "c2", "c3", "c4", "x1", "x3", "x4", "v3", "d2", "d3"}
    assert ITEMS_BY_ID["c2"].describe_threshold() == ">= 90% of samples"
    assert ITEMS_BY_ID["x2"].describe_threshold() == ">= 0.7 mutation score"
    assert all(0 < item.threshold <= 1 for item in rates)


@pytest.mark.parametrize("score, letter", [(100, "A"), (90, "A"), (89, "B"), (80, "B"), (70, "C"), (60, "D"),
                                           (59, "F"), (0, "F")])
def test_grade_bands(score, letter):
    assert grade(score) == letter


def test_perfect_evidence_scores_100_and_passes_every_gate():
    report = score_checklist(evidence())
    assert (report.score, report.grade) == (100, "A")
    assert not report.falsified and not report.failed_gates
    assert [g.id for g in report.gates] == [g.id for g in GATES]


def test_what_is_not_measured_earns_nothing_and_is_not_called_falsified():
    report = score_checklist(evidence(peak_vram_gb=None, vram_note="no GPU", generation_seconds_per_function=None,
                                      latency_note="replayed"))
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
    gate = next(g for g in report.gates if g.id == "P-GATE-002")
    assert not gate.passed and gate.value == "0.450"


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


def test_repro_gate_fails_when_runs_disagree_and_cannot_pass_unmeasured():
    differing = score_checklist(evidence(repro=ReproEvidence(steps=2, same_adapter=False, adapters=["a", "b"],
                                                             max_loss_difference=1e-3, same_generations=True)))
    gate = next(g for g in differing.gates if g.id == "P-GATE-004")
    assert (gate.passed, gate.measured) == (False, True)
    assert {"r1", "r2"} <= {i.id for i in differing.falsified}
    unmeasured = score_checklist(evidence(repro=ReproEvidence(note="not run")))
    gate = next(g for g in unmeasured.gates if g.id == "P-GATE-004")
    assert (gate.passed, gate.measured) == (False, False)


def test_the_compile_gate_fails_below_90_percent_and_an_empty_reply_does_not_compile_anything():
    samples = [sample(i) for i in range(9)] + [sample(9, links=False, passes=False, mutants_caught=0)]
    gate = next(g for g in score_checklist(evidence(samples)).gates if g.id == "P-GATE-001")
    assert gate.passed and gate.value == "0.900"
    samples[8] = sample(8, tests=0, tests_asserting=0, descriptive_tests=0)  # builds, but holds no test
    report = score_checklist(evidence(samples))
    assert "P-GATE-001" in [g.id for g in report.failed_gates]
    assert status(report, "c1") == "fail"
