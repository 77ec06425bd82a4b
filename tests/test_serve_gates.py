"""rtg-serve and the adapter's gate verdict (spec §16.1): an adapter that failed P-GATE-001 is refused unless
`allowFailedAdapter` is set, and then the status and log say it failed; an unevaluated one loads, and the status says
it was not evaluated.

Verdicts come from real checklist reports written into the adapter directory as rtg-eval writes them. The refusal
needs no model (it comes before loading); the last test loads a freshly built tiny-qwen2 with a real LoRA adapter.
"""
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from rtg_core.files import file_sha256
from rtg_core.verdict import write_verdict
from rtg_eval.checklist import CATEGORIES, Evidence, LockEvidence, PeakMemory, ReproEvidence, SampleEvidence, \
    score_checklist
from rtg_core import adapters
from rtg_serve.backend import AdapterRejected, ModelBackend, served_adapter
from rtg_serve.settings import ServerSettings

MISSING_MODEL = "/nonexistent/rtg-test-model"  # loading it fails: a test that gets that far was admitted


def report(compiling: int):
    """A scored checklist for 10 functions of which `compiling` build (10: 100 points; 3: it fails P-GATE-001)."""
    good = SampleEvidence(
        id="s", parses=True, checks=True, clippy_warnings=[], links=True, passes=True, mutants_scored=10,
        mutants_caught=9, line_delta=0.6, branch_delta=0.5, tests=3, tests_asserting=3, tautologies=0,
        edge_cases=["zero"], descriptive_tests=3, has_comment=True, property_inputs=["len"], parameter_names=["n"],
        categories=[])
    samples = [replace(good, id=f"s{i}", categories=[CATEGORIES[i % 5]]) for i in range(compiling)]
    samples += [replace(good, id=f"s{i}", links=False, passes=False, checks=False, clippy_warnings=None,
                        mutants_caught=0, line_delta=None, branch_delta=None) for i in range(compiling, 10)]
    return score_checklist(Evidence(
        samples=samples, repro=ReproEvidence(steps=2, same_adapter=True, adapters=["a" * 64] * 2,
                                             max_loss_difference=0.0, same_generations=True, generations_compared=3),
        lock=LockEvidence(True, [], True), peak_memory=PeakMemory(5.0, "VRAM", "training on CUDA"), memory_note="",
        train_hours=0.1, generation_seconds_per_function=0.2, latency_note="batched"))


def evaluate(adapter: Path, compiling: int) -> None:
    sha = file_sha256(adapter / "adapter_model.safetensors")
    write_verdict(adapter, report(compiling).verdict(sha, "checklist.json", "holdout.jsonl", 10, "2025-01-01"))


@pytest.fixture
def adapter(tmp_path) -> Path:
    (tmp_path / "adapter_model.safetensors").write_bytes(b"weights")
    return tmp_path


def test_the_shipped_adapter_that_failed_its_gates_gives_way_to_the_base_model(adapter, monkeypatch, caplog):
    monkeypatch.setattr(adapters, "SHIPPED_DIR", adapter)  # stands for adapters/rtg-qwen2.5-coder-0.5b-testgen
    evaluate(adapter, compiling=3)
    default = ServerSettings(device="cpu")  # adapter "default" on its base model
    with caplog.at_level(logging.WARNING, logger="rtg-serve"):
        assert served_adapter(default) is None
    assert "failed its gates" in caplog.text and "serving the base model alone" in caplog.text
    status = ModelBackend(default).status()
    assert status["adapter"] is None and status["adapterRequested"] == str(adapter)
    assert status["adapterGates"]["message"].endswith("the base model is served instead")
    assert served_adapter(replace(default, allow_failed_adapter=True)) == adapter
    with pytest.raises(AdapterRejected):  # named by the user, it is refused, not swapped
        served_adapter(replace(default, adapter=str(adapter)))


def test_the_setting_is_camel_case_and_off_by_default():
    assert ServerSettings().allow_failed_adapter is False
    assert ServerSettings().updated({"allowFailedAdapter": True}).allow_failed_adapter is True


def test_an_adapter_that_failed_p_gate_001_is_refused_before_the_model_is_touched(adapter):
    evaluate(adapter, compiling=3)
    backend = ModelBackend(ServerSettings(model=MISSING_MODEL, adapter=str(adapter), device="cpu"))
    with pytest.raises(AdapterRejected) as refused:
        backend.load_in_background().result()
    score = report(3).score
    assert f"Popperian score {score}/100" in str(refused.value) and "rtg.allowFailedAdapter" in str(refused.value)
    status = backend.status()
    assert status["modelLoaded"] is False and "failed its gates" in status["error"]
    assert status["adapterGates"]["state"] == "rejected" and status["adapterGates"]["score"] == score
    assert "P-GATE-001" in status["adapterGates"]["failedGates"]
    assert status["adapterGates"]["message"].startswith("this adapter FAILED its gates, so it is not loaded")


def test_with_allow_failed_adapter_it_is_admitted_and_the_log_and_status_say_it_failed(adapter, caplog):
    evaluate(adapter, compiling=3)
    settings = ServerSettings(model=MISSING_MODEL, adapter=str(adapter), device="cpu", allow_failed_adapter=True)
    with caplog.at_level(logging.WARNING, logger="rtg-serve"):
        assert served_adapter(settings) == adapter
    assert "although it failed its gates (rtg.allowFailedAdapter is set)" in caplog.text
    assert ModelBackend(settings).status()["adapterGates"]["message"] == (
        "this adapter FAILED its gates; loaded only because rtg.allowFailedAdapter is set")


def test_an_unevaluated_adapter_is_admitted_and_the_status_says_it_was_not_evaluated(adapter, caplog):
    settings = ServerSettings(model=MISSING_MODEL, adapter=str(adapter), device="cpu")
    with caplog.at_level(logging.WARNING, logger="rtg-serve"):
        assert served_adapter(settings) == adapter
    assert "has not been evaluated" in caplog.text
    gates = ModelBackend(settings).status()["adapterGates"]
    assert gates["state"] == "not evaluated" and "no gates.json" in gates["reason"]
    assert gates["message"].startswith("this adapter has not been evaluated")


def test_a_passing_adapter_is_admitted_and_reported_as_accepted(adapter):
    evaluate(adapter, compiling=10)
    settings = ServerSettings(model=MISSING_MODEL, adapter=str(adapter), device="cpu")
    assert served_adapter(settings) == adapter
    status = ModelBackend(settings).status()
    assert status["adapterGates"]["state"] == "accepted" and status["adapterGates"]["score"] == 100
    assert status["adapterSha256"] == file_sha256(adapter / "adapter_model.safetensors")


def test_no_adapter_has_no_verdict():
    assert ModelBackend(ServerSettings(adapter="none")).status()["adapterGates"] is None


@pytest.fixture(scope="module")
def tiny_with_adapter(tmp_path_factory) -> tuple[Path, Path]:
    """A freshly built tiny-qwen2 and a real (untrained) LoRA adapter for it."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from rtg_core.tiny_qwen2 import build_tiny_qwen2

    work = tmp_path_factory.mktemp("tiny")
    base = build_tiny_qwen2(["pub fn add(a: i32, b: i32) -> i32 { a + b }",
                             "#[test]\nfn adds() {\n    assert_eq!(add(1, 2), 3);\n}"], work / "base")
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=2, target_modules=["q_proj"]))
    peft_model.save_pretrained(work / "adapter")
    return base, work / "adapter"


def test_a_failed_adapter_loads_for_real_only_once_it_is_allowed(tiny_with_adapter):
    base, adapter = tiny_with_adapter
    evaluate(adapter, compiling=3)
    settings = ServerSettings(model=str(base), adapter=str(adapter), device="cpu")
    backend = ModelBackend(settings)
    with pytest.raises(AdapterRejected):
        backend.load_in_background().result()
    backend.configure(replace(settings, allow_failed_adapter=True))  # the setting alone triggers a new load
    backend.load_in_background().result()
    status = backend.status()
    assert status["modelLoaded"] is True and status["error"] is None
    assert status["adapterGates"]["state"] == "rejected"
    assert "loaded only because rtg.allowFailedAdapter is set" in status["adapterGates"]["message"]
