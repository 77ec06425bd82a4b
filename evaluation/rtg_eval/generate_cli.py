"""rtg-generate: tests for the public fns of a Rust file, validated by the judge; only tests that build and pass
are written (spec §12).

    rtg-generate --input src/geometry.rs --output tests/generated_tests.rs          # the adapter rtg ships
    rtg-generate --adapter experiments/ft-testgen-001 --input src/geometry.rs --output tests/generated_tests.rs
    rtg-generate --adapter DIR --input src/lib.rs --function area --output tests/area_tests.rs

How a test is validated: the file's code (its own test modules left out) is compiled on its own as
`pub mod target { ... }` beside the tests, which see it through `use super::target::*`, i.e. its public items
only, as an integration test in `tests/` sees the crate. The model writes `--candidates` replies per fn (the
greedy one and seeded samples); each of their tests is judged alone (built, run in the sandbox against the current
code, run against the judge's mutants of the code), and per fn the smallest set of passing tests that kills the
most mutants is written, as the editor would insert.
A file that needs the rest of its crate (`crate::`, `super::`, `mod x;`) does not build on its own: its tests are
all dropped, and the report says so.

Exit status: 0 tests written, 1 no test survived (nothing written), 2 bad arguments, 3 sandbox, cargo or model
unavailable.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rtg_core.backends import (Backend, BackendError, LocalBackend, OpenAICompatibleBackend, ReplayBackend,
                               Sampling, candidates)
from rtg_core.cargo_env import CargoEnvError
from rtg_core.model import DeviceUnavailable, ModelUnavailable, choose_device
from rtg_core.context import function_context
from rtg_core.prompt import chat_prompt
from rtg_core.rust_source import RustFunction, find_test_module, functions
from rtg_core.sandbox import SandboxUnavailable
from rtg_core.base_models import DEFAULT_BASE_MODEL
from rtg_eval.experiment import ADAPTER_HELP, ExperimentError, chosen_experiment
from rtg_eval.judge import JudgeConfig, judge_samples
from rtg_eval.samples import JudgeSample
from rtg_eval.selection import judge_candidates, select_tests
from rtg_core.test_items import TestItem
from rtg_core.test_repairs import read_reply

TARGET_MODULE = "target"
VALIDATION = JudgeConfig(coverage=False)  # build and pass is the bar; mutants choose among the passing tests


@dataclass
class Dropped:
    function: str
    test: str
    reason: str


@dataclass
class Generated:
    function: str
    kept: list[TestItem]
    shared: list[TestItem]
    dropped: list[Dropped]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtg-generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapter", metavar="DIR", help=ADAPTER_HELP)
    parser.add_argument("--model", default=None, help="base model (default: the adapter's own base)")
    parser.add_argument("--input", type=Path, required=True, metavar="src/FILE.rs")
    parser.add_argument("--function", default=None, metavar="NAME", help="only this fn (name or Type::name)")
    parser.add_argument("--output", type=Path, required=True, metavar="tests/FILE.rs")
    parser.add_argument("--backend", choices=("local", "openai", "replay"), default="local")
    parser.add_argument("--endpoint", default="http://127.0.0.1:8000")
    parser.add_argument("--served-model", default=None)
    parser.add_argument("--replay", type=Path, metavar="FILE.jsonl")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--sample", action="store_true", help="seeded sampling instead of greedy decoding")
    parser.add_argument("--sampling-seed", type=int, default=Sampling.seed)
    parser.add_argument("--candidates", type=int, default=4, metavar="N",
                        help="replies per fn: the greedy one and N-1 seeded samples; 1: the greedy reply alone")
    parser.add_argument("--allow-hub", action="store_true")
    parser.add_argument("--report", type=Path, metavar="FILE.json", help="also write what was kept and dropped")
    return parser


def _log(message: str) -> None:
    print(f"rtg-generate: {message}", file=sys.stderr, flush=True)


def code_without_tests(source: str) -> str:
    """The file without its `#[cfg(test)]` modules: the generated tests replace them in the scratch build."""
    while (module := find_test_module(source)) is not None:
        data = source.encode()
        source = (data[:module.start_byte] + data[module.end_byte:]).decode()
    return source


def targets(source: str, only: str | None) -> list[RustFunction]:
    found = [f for f in functions(source) if f.is_pub and not f.in_test_code]
    if only is not None:
        found = [f for f in found if only in (f.name, f.qualified_name, f"{f.impl_type}::{f.name}")]
    return found


def validation_code(code: str) -> str:
    return f"pub mod {TARGET_MODULE} {{\n{code.rstrip()}\n}}\n"


def validation_tests(items: list[TestItem]) -> str:
    return f"use super::{TARGET_MODULE}::*;\n\n" + "\n\n".join(item.text for item in items) + "\n"


def generate_for_file(source: str, functions_: list[RustFunction], backend: Backend, max_new_tokens: int,
                      n: int, sampling: Sampling) -> list[Generated]:
    """n replies per fn (the greedy one and n - 1 samples), every test judged alone against the file's code, and
    per fn the smallest set of passing tests that kills the most mutants (rtg_eval.selection)."""
    under_test = code_without_tests(source)
    code = validation_code(under_test)
    prompts = [chat_prompt(function_context(source, f)) for f in functions_]
    replies = candidates(backend, prompts, n, max_new_tokens, sampling) if n > 1 else \
        [[c] for c in backend.complete(prompts, max_new_tokens)]
    sees_target = TestItem(f"use super::{TARGET_MODULE}::*;", ())
    problems = [(JudgeSample(f.qualified_name, code, ""),
                 [[sees_target] + read_reply(c.text, under_test).items for c in completions])
                for f, completions in zip(functions_, replies)]
    results = []
    for function, judgement in zip(functions_, judge_candidates(problems, VALIDATION)):
        chosen = select_tests(judgement.tests, (function.name,))
        shared = []
        for test in chosen:
            shared += [item for item in test.shared if item != sees_target and item not in shared]
        dropped = [Dropped(function.qualified_name, ", ".join(t.item.names),
                           t.why or "passes, but kills no mutant the kept tests miss")
                   for t in judgement.tests if t not in chosen]
        if not judgement.tests:
            dropped.append(Dropped(function.qualified_name, "-", "no reply held a test"))
        results.append(Generated(function.qualified_name, [t.item for t in chosen], shared, dropped))
    return results


def combined_tests(results: list[Generated]) -> str:
    """Every kept test under one roof: shared items once each, a test whose name is taken renamed (`name_2`)."""
    seen_shared: set[str] = set()
    taken: set[str] = set()
    parts = []
    for result in results:
        if not result.kept:
            continue
        block = [f"// Tests for `{result.function}`."]
        for item in result.shared:
            if item.text not in seen_shared:
                seen_shared.add(item.text)
                block.append(item.text)
        for item in result.kept:
            text = item.text
            for name in item.names:
                if name in taken:
                    suffix = 2
                    while f"{name}_{suffix}" in taken:
                        suffix += 1
                    text = re.sub(rf"\bfn\s+{re.escape(name)}\b", f"fn {name}_{suffix}", text)
                    name = f"{name}_{suffix}"
                taken.add(name)
            block.append(text)
        parts.append("\n\n".join(block))
    return "\n\n".join(parts) + "\n"


def integration_header(input_file: Path, backend: Backend, kept: int, dropped: int, uses_proptest: bool) -> str:
    """`use` lines that give tests in `tests/` what `use super::target::*` gave them during validation."""
    crate, module = _crate_and_module(input_file)
    described = backend.describe()
    adapter = f", adapter {described['adapter']}" if described.get("adapter") else ""
    lines = [f"//! Tests generated by rtg-generate for {input_file} ({described.get('backend')}: "
             f"{described.get('model') or '-'}{adapter}).",
             f"//! Each test built and passed against the code in that file before it was kept; {dropped} were "
             f"dropped, {kept} kept."]
    if crate is None:
        lines.append(f"//! {input_file} is not in a cargo crate: bring its items into scope below.")
    else:
        lines.append(f"use {crate}{'::' + module if module else ''}::*;")
    if uses_proptest:  # the crate then needs proptest among its dev-dependencies
        lines.append("use proptest::prelude::*;")
    return "\n".join(lines) + "\n\n"


def _crate_and_module(file: Path) -> tuple[str | None, str]:
    for parent in file.resolve().parents:
        manifest = parent / "Cargo.toml"
        if manifest.is_file():
            data = tomllib.loads(manifest.read_text())
            name = (data.get("lib") or {}).get("name") or (data.get("package") or {}).get("name")
            try:
                relative = file.resolve().relative_to(parent / "src").with_suffix("")
            except ValueError:
                return (name.replace("-", "_") if name else None), ""
            parts = list(relative.parts)
            if parts and parts[-1] in ("lib", "main", "mod"):
                parts.pop()
            return (name.replace("-", "_") if name else None), "::".join(parts)
    return None, ""


def make_backend(args: argparse.Namespace) -> Backend:
    sampling = Sampling(seed=args.sampling_seed) if args.sample else None
    if args.backend == "replay":
        if args.replay is None or not args.replay.is_file():
            raise ValueError("--backend replay needs --replay FILE.jsonl")
        return ReplayBackend(path=args.replay)
    experiment = chosen_experiment(args.adapter, args.backend, args.model)
    model = args.model or experiment.base_model() or DEFAULT_BASE_MODEL
    if args.backend == "openai":
        return OpenAICompatibleBackend(args.endpoint, args.served_model or model, sampling=sampling)
    # NF4 where memory is short (CUDA); unquantised on the CPU, where it decodes faster (in fast_compute_dtype)
    return LocalBackend(model, adapter=experiment.adapter, device=args.device, allow_hub=args.allow_hub,
                        batch_size=args.batch_size, sampling=sampling,
                        load_in_4bit=choose_device(args.device).type == "cuda")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.input.is_file():
        _log(f"--input {args.input}: no such file")
        return 2
    source = args.input.read_text()
    chosen = targets(source, args.function)
    if not chosen:
        what = f"no public fn named {args.function!r}" if args.function else "no public fn"
        _log(f"{args.input}: {what}")
        return 2
    try:
        backend = make_backend(args)
    except (ValueError, ExperimentError) as exc:
        _log(str(exc))
        return 2
    _log(f"generating tests for {len(chosen)} fn(s) of {args.input}: {', '.join(f.qualified_name for f in chosen)}")
    try:
        results = generate_for_file(source, chosen, backend, args.max_new_tokens, args.candidates,
                                    Sampling(seed=args.sampling_seed))
    except (SandboxUnavailable, CargoEnvError, ModelUnavailable, DeviceUnavailable, BackendError) as exc:
        _log(str(exc))
        return 3
    kept = sum(len(r.kept) for r in results)
    dropped = [d for r in results for d in r.dropped]
    for result in results:
        _log(f"{result.function}: kept {len(result.kept)} test item(s), dropped {len(result.dropped)}")
        for drop in result.dropped:
            _log(f"  dropped {drop.test}: {drop.reason}")
    if args.report:
        args.report.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2) + "\n")
    if not kept:
        _log(f"no generated test built and passed; {args.output} was not written")
        return 1
    tests = combined_tests(results)
    together, _ = judge_samples([JudgeSample("all", validation_code(code_without_tests(source)),
                                             f"use super::{TARGET_MODULE}::*;\n\n{tests}")], VALIDATION)
    if not together[0].passes:
        errors = "; ".join(e.strip().splitlines()[0] for e in together[0].compile_errors[:3])
        _log(f"the kept tests do not build and pass together ({errors or 'a test fails'}); {args.output} was not "
             "written")
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    header = integration_header(args.input, backend, kept, len(dropped), "proptest!" in tests or "prop_" in tests)
    args.output.write_text(header + tests)
    _log(f"wrote {kept} test item(s) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
