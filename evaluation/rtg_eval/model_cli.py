"""rtg-eval with a model (spec §12, "evaluation only"): generate tests for a test set, judge them, score the
Popperian checklist, apply the gates.

    rtg-eval --test-set data/corpus/holdout.jsonl --output DIR     # the adapter rtg ships
    rtg-eval --adapter experiments/ft-testgen-001 --test-set data/corpus/holdout.jsonl \\
             [--output DIR] [--repair N] [--kill-survivors N] [--repro-steps N] [--no-gates]
    rtg-eval --adapter none --test-set FILE --output DIR          # the base model alone
    rtg-eval --backend openai --endpoint http://127.0.0.1:8000 --served-model NAME --test-set FILE --output DIR
    rtg-eval --backend reference --test-set FILE --output DIR   # the test set's own tests through the same report

Exit status: 0 done (and every gate passed, or --no-gates), 2 bad arguments or input, 3 sandbox, cargo, model or
endpoint unavailable, 4 a gate (spec §16.1) failed or could not be verified: the report names the falsified
hypotheses.

With `--backend local` and `--adapter`, the verdict also goes into the adapter directory as `gates.json`
(rtg_core.verdict): `rtg-train publish` and `rtg-serve` read it there. Other backends did not generate with the
adapter, so they leave it alone.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rtg_core.backends import (Backend, BackendError, LocalBackend, OpenAICompatibleBackend, ReplayBackend,
                               Sampling)
from rtg_core.cargo_env import CargoEnvError
from rtg_core.model import DeviceUnavailable, ModelUnavailable, choose_device, resolve_model
from rtg_core.prompt import answer, chat_prompt
from rtg_core.sandbox import SandboxUnavailable
from rtg_core.tiny_qwen2 import TINY_QWEN2
from rtg_core.verdict import write_verdict
from rtg_eval.checklist import ChecklistReport, ReproEvidence, score_checklist
from rtg_core.base_models import DEFAULT_BASE_MODEL, weights_summary
from rtg_eval.experiment import (ADAPTER_HELP, Experiment, ExperimentError, chosen_experiment, lock_evidence,
                                 model_sha256, training_figures)
from rtg_eval.judge import JudgeConfig
from rtg_eval.model_eval import EvalSettings, as_generation_targets, build_evidence, evaluate_model
from rtg_eval.repro_check import check_reproducibility
from rtg_eval.reports import ReportContext, summary_table, write_reports
from rtg_core.files import file_sha256
from rtg_eval.samples import JudgeSample, read_samples

GATES_FAILED = 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtg-eval", description=__doc__.split("\n\n")[0],
                                     epilog="Judging given tests instead: rtg-eval --tests-from FILE --output DIR")
    what = parser.add_argument_group("what to evaluate")
    what.add_argument("--adapter", metavar="DIR", help=ADAPTER_HELP)
    what.add_argument("--model", default=None,
                      help=f"base model: hub id or dir (default: the adapter's own base, else {DEFAULT_BASE_MODEL}); "
                           f"{TINY_QWEN2} means the experiment's {TINY_QWEN2}/ dir")
    what.add_argument("--test-set", type=Path, required=True, metavar="FILE.jsonl",
                      help="spec §3.2 lines (e.g. the corpus's holdout.jsonl) or HumanEvalPack-Rust lines")
    what.add_argument("--output", type=Path, metavar="DIR", help="default: <experiment>/evaluation")
    what.add_argument("--limit", type=int, default=None, help="only the first N functions")

    gen = parser.add_argument_group("generation")
    gen.add_argument("--backend", choices=("local", "openai", "replay", "reference"), default="local",
                     help="local: transformers + peft here; openai: an OpenAI-compatible server; replay: replies "
                          "recorded in --replay; reference: the test set's own tests")
    gen.add_argument("--endpoint", default="http://127.0.0.1:8000", help="openai: the server's root URL")
    gen.add_argument("--served-model", default=None, help="openai: the model name the server knows")
    gen.add_argument("--replay", type=Path, metavar="FILE.jsonl", help="replay: e.g. an earlier run's replay.jsonl")
    gen.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    gen.add_argument("--batch-size", type=int, default=8)
    gen.add_argument("--max-new-tokens", type=int, default=512)
    gen.add_argument("--no-4bit", action="store_true",
                     help="load the base model unquantised on CUDA too (default: NF4 4-bit on CUDA; on the CPU "
                          "unquantised, in bf16 where the CPU computes in it, else float32)")
    gen.add_argument("--candidates", type=int, default=1, metavar="N",
                     help="best-of-n: the greedy reply and N-1 seeded samples per function; every test is judged "
                          "alone and the smallest set of passing tests that kills the most mutants is kept. The "
                          "report shows n=1 (the greedy reply alone) and n=N side by side")
    gen.add_argument("--sample", action="store_true", help="seeded sampling instead of greedy decoding")
    gen.add_argument("--temperature", type=float, default=Sampling.temperature,
                     help="with --sample or --candidates; default: the model's own (Qwen: 0.7)")
    gen.add_argument("--top-p", type=float, default=Sampling.top_p, help="default: the model's own (Qwen: 0.8)")
    gen.add_argument("--sampling-seed", type=int, default=Sampling.seed)
    gen.add_argument("--allow-hub", action="store_true", help="allow downloading the base model")
    gen.add_argument("--no-salvage", action="store_true",
                     help="judge each raw reply as it is, not its complete items (ablation: the pipeline before "
                          "salvage; no repairs either)")
    gen.add_argument("--no-repairs", action="store_true",
                     help="skip the certain repairs (renamed shadowing tests, pasted copies removed)")
    gen.add_argument("--no-rustc-fixes", action="store_true",
                     help="drop a test that does not build even where rustc is sure of its fix (MachineApplicable)")

    loops = parser.add_argument_group("loops and checks")
    loops.add_argument("--repair", type=int, default=0, metavar="N", help="feed cargo's errors back, N rounds")
    loops.add_argument("--kill-survivors", type=int, default=0, metavar="N",
                       help="show the model the mutants its tests miss, N rounds")
    loops.add_argument("--repro-steps", type=int, default=0, metavar="N",
                       help="checklist r1-r3: retrain twice for N steps with the experiment's config and compare")
    loops.add_argument("--no-gates", action="store_true", help="report the gates without failing on them")
    loops.add_argument("--no-verdict", action="store_true",
                       help="leave the adapter's gates.json as it is (e.g. for a side evaluation on another set)")
    loops.add_argument("--no-clippy", action="store_true", help="skip clippy (c2, c3 not measured)")

    judge = parser.add_argument_group("judge (as in --tests-from)")
    judge.add_argument("--no-mutation", action="store_true")
    judge.add_argument("--no-coverage", action="store_true")
    judge.add_argument("--max-mutants", type=int, default=JudgeConfig.max_mutants, help="per sample")
    judge.add_argument("--timeout", type=float, default=JudgeConfig.test_timeout)
    judge.add_argument("--proptest-cases", type=int, default=JudgeConfig.proptest_cases)
    judge.add_argument("--seed", type=int, default=JudgeConfig.seed)
    judge.add_argument("--jobs", type=int, default=JudgeConfig.jobs)
    return parser


def _log(message: str) -> None:
    print(f"rtg-eval: {message}", file=sys.stderr, flush=True)


class UsageError(ValueError):
    pass


def base_model_name(args: argparse.Namespace, experiment: Experiment) -> str:
    if args.model == TINY_QWEN2 or (args.model is None and experiment.base_model() == TINY_QWEN2):
        if experiment.root is None or not (experiment.root / TINY_QWEN2).is_dir():
            raise UsageError(f"--model {TINY_QWEN2}: {TINY_QWEN2} is built inside each experiment; give --adapter "
                             f"an experiment dir that holds {TINY_QWEN2}/, or --model that directory")
        return str(experiment.root / TINY_QWEN2)
    if args.model:
        return args.model
    recorded = experiment.base_model()
    if recorded and recorded.startswith("/") and not Path(recorded).is_dir() and experiment.root is not None:
        moved = experiment.root / Path(recorded).name  # the experiment was moved since it trained
        if moved.is_dir():
            return str(moved)
    return recorded or DEFAULT_BASE_MODEL


def make_backend(args: argparse.Namespace, experiment: Experiment, targets: list[JudgeSample]
                 ) -> tuple[Backend, str | None]:
    """The backend, and the base model it runs (None where it is not known here)."""
    sampling = Sampling(args.temperature, args.top_p, args.sampling_seed) if args.sample else None
    if args.backend == "reference":
        if args.adapter or args.repair or args.kill_survivors:
            raise UsageError("--backend reference replays the test set's own tests: it takes no --adapter, "
                             "--repair or --kill-survivors")
        return ReplayBackend.from_replies({chat_prompt(s.code): answer(s.reference_tests or "") for s in targets},
                                          label="reference"), None
    if args.backend == "replay":
        if args.replay is None or not args.replay.is_file():
            raise UsageError("--backend replay needs --replay FILE.jsonl (e.g. an earlier evaluation's replay.jsonl)")
        return ReplayBackend(path=args.replay), None
    model = base_model_name(args, experiment)
    if args.backend == "openai":
        return OpenAICompatibleBackend(args.endpoint, args.served_model or model, sampling=sampling,
                                       parallel=args.batch_size), None
    return LocalBackend(model, adapter=experiment.adapter, device=args.device, allow_hub=args.allow_hub,
                        batch_size=args.batch_size, sampling=sampling,
                        load_in_4bit=not args.no_4bit and choose_device(args.device).type == "cuda"), model


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    try:
        if not args.test_set.is_file():
            raise UsageError(f"--test-set {args.test_set}: no such file")
        experiment = chosen_experiment(args.adapter, args.backend, args.model)
        output = args.output or experiment.default_output()
        if output is None:
            raise UsageError("--output DIR is needed when the adapter is not inside an experiment directory")
        samples, errors = read_samples(args.test_set)
        for error in errors:
            _log(f"{args.test_set}:{error} (skipped; the other lines are evaluated)")
        targets = as_generation_targets(samples[: args.limit] if args.limit is not None else samples)
        if args.candidates < 1 or (args.candidates > 1 and args.no_salvage):
            raise UsageError("--candidates N needs N >= 1, and judges each test alone, which needs salvage (drop "
                             "--no-salvage)")
        if not targets:
            raise UsageError(f"--test-set {args.test_set}: no usable lines")
        backend, model = make_backend(args, experiment, targets)
    except (UsageError, ExperimentError) as exc:
        _log(str(exc))
        return 2

    judge = JudgeConfig(mutation=not args.no_mutation, max_mutants=args.max_mutants, coverage=not args.no_coverage,
                        test_timeout=args.timeout, proptest_cases=args.proptest_cases, seed=args.seed,
                        jobs=args.jobs, rustc_fixes=not args.no_rustc_fixes)
    settings = EvalSettings(max_new_tokens=args.max_new_tokens, repair=args.repair,
                            kill_survivors=args.kill_survivors, judge=judge, clippy=not args.no_clippy,
                            salvage=not args.no_salvage, repairs=not args.no_repairs, candidates=args.candidates,
                            sampling=Sampling(args.temperature, args.top_p, args.sampling_seed))
    try:
        run = evaluate_model(targets, backend, settings, _log)
        if args.repro_steps > 0:
            repro = check_reproducibility(experiment, args.repro_steps, output / "repro",
                                          [s.code for s in targets[:3]], log=_log)
        else:
            repro = ReproEvidence(note="not run: pass --repro-steps N to train twice with one seed and compare")
    except (SandboxUnavailable, CargoEnvError, ModelUnavailable, DeviceUnavailable, BackendError) as exc:
        _log(str(exc))
        return 3

    training = training_figures(experiment) if experiment.root else (None, None, "no experiment directory")
    evidence = build_evidence(run, settings, repro, lock_evidence(experiment), training, backend.live)
    checklist = score_checklist(evidence)
    model_dir = _model_dir(model)
    context = ReportContext(
        test_set=str(args.test_set), dataset_sha256=file_sha256(args.test_set), backend=backend.describe(),
        live=backend.live, base_model=model, base_model_sha256=model_sha256(model_dir),
        base_model_weights=weights_summary(model_dir),
        adapter=str(experiment.adapter) if experiment.adapter else None, adapter_sha256=experiment.adapter_sha256,
        experiment=str(experiment.root) if experiment.root else None,
        settings={**asdict(settings), "judge": asdict(judge), "limit": args.limit, "repro_steps": args.repro_steps},
        command=["rtg-eval", *(sys.argv[1:] if argv is None else argv)], started=started_at,
        wall_seconds=time.monotonic() - started, input_errors=[str(e) for e in errors])
    metrics = write_reports(output, context, run, evidence, checklist)
    print(summary_table(context, metrics, checklist))
    _log(f"reports in {output}/ (metrics.json, checklist.json, mutation_report.html, metrics.jsonld, ...)")
    # Only an adapter named on the command line gets a verdict: a run that took the shipped adapter by default
    # (a quick look, a small set) must not rewrite the gates.json committed beside it.
    if args.backend == "local" and args.adapter is not None and experiment.adapter is not None \
            and not args.no_verdict:
        verdict = checklist.verdict(experiment.adapter_sha256, str(output / "checklist.json"), str(args.test_set),
                                    len(targets), started_at)
        try:
            _log(f"gate verdict for publish and serve: {write_verdict(experiment.adapter, verdict)}")
        except OSError as exc:  # e.g. a read-only adapter directory: the reports above still stand
            _log(f"could not write the gate verdict beside the adapter ({exc}); publish and serve will see it as "
                 "not evaluated")
    return gate_exit_status(checklist, enforce=not args.no_gates, log=_log)


def gate_exit_status(checklist: ChecklistReport, enforce: bool, log: Callable[[str], None]) -> int:
    """0 when every gate passed (or they are not enforced), else GATES_FAILED; each failed gate is logged."""
    failed = checklist.failed_gates
    for gate in failed:
        log(gate.summary())
    if failed and enforce:
        return GATES_FAILED
    if failed:
        log(f"{len(failed)} gate(s) failed; not enforced (--no-gates)")
    return 0


def _model_dir(model: str | None) -> Path | None:
    if model is None:
        return None
    try:
        return resolve_model(model, allow_download=False)
    except ModelUnavailable:
        return None


if __name__ == "__main__":
    sys.exit(main())
