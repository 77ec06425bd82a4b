"""Benchmark rtg-serve over a real stdio pipe: code-action listing latency on a 5,000-line file, then "Generate
tests" on every function of the fixture crate with the model warm (loaded at start), each edit applied before the
next, and at the end `cargo test` in the crate with every inserted test.

    .venv/bin/python benchmarks/serve_latency.py [--requests 50] [--model ID|DIR] [--adapter DIR]
                                                 [--candidates 4] [--max-new-tokens 384] [--no-resolve]

Prints figures; asserts nothing. Targets: listing under 50 ms on a 5,000-line file; with the base 0.5B on a 2-core
CPU, median resolve <= 20 s and validated tests for >= 80 % of the functions.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from rtg_core.base_models import DEFAULT_BASE_MODEL
from rtg_core.rust_source import functions
from rtg_serve.actions import position_at
from rtg_serve.settings import ServerSettings

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "user_crate"


def five_thousand_lines() -> str:
    block = "/// Distance between a and b.\npub fn f{i}(a: i32, b: i32) -> i32 {{\n    if a > b {{ a - b }} else {{ b - a }}\n}}\n\n"
    return "".join(block.format(i=i) for i in range(1000))


async def list_latency(client: LanguageClient, uri: str, requests: int) -> list[float]:
    timings = []
    for k in range(requests):
        line = 5 * ((k * 97) % 1000) + 2
        start = time.perf_counter()
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(types.Position(line, 6), types.Position(line, 6)),
            context=types.CodeActionContext(diagnostics=[])))
        timings.append(time.perf_counter() - start)
        assert actions, "no action offered"
    return timings


async def resolve_every_function(client: LanguageClient, path: Path, stamps: list) -> list[dict]:
    """"Generate tests" on every non-test fn of `path`, in order, each edit applied (and sent) before the next."""
    text, version, rows = path.read_text(), 1, []
    names = [f.qualified_name for f in functions(text) if not f.in_test_code]
    for name in names:
        function = next(f for f in functions(text) if f.qualified_name == name)
        start = position_at(text, function.start_byte + function.signature.index("fn "))
        (action,) = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(path.as_uri()),
            range=types.Range(types.Position(start.line, start.character + 3),
                              types.Position(start.line, start.character + 3)),
            context=types.CodeActionContext(diagnostics=[])))
        stamps.clear()
        began = time.perf_counter()
        resolved = await client.code_action_resolve_async(action)
        seconds = time.perf_counter() - began
        stages = {}
        for label, at in stamps:
            stages.setdefault(label.split(" (")[0], at - began)
        inserted = 0
        if resolved.edit is not None:
            (change,) = resolved.edit.document_changes
            before = len(functions(text))
            text = apply(text, change.edits[0])
            inserted = len(functions(text)) - before
            version += 1
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=path.as_uri()),
                [types.TextDocumentContentChangeWholeDocument(text)]))
        rows.append({"function": name, "seconds": seconds, "inserted": inserted, "stages": stages})
    path.write_text(text)
    return rows


def apply(text: str, edit: types.TextEdit) -> str:
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: edit.range.start.line]) + edit.range.start.character
    end = sum(len(line) + 1 for line in lines[: edit.range.end.line]) + edit.range.end.character
    return text[:start] + edit.new_text + text[end:]


async def wait_until_loaded(client: LanguageClient, limit: float = 600.0) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        status = await client.workspace_execute_command_async(types.ExecuteCommandParams("rtg.status"))
        if status.get("error"):
            raise SystemExit(f"the model did not load: {status['error']}")
        if status.get("modelLoaded"):
            return time.perf_counter() - began
        await asyncio.sleep(1.0)
    raise SystemExit("the model did not load in time")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--model", default=DEFAULT_BASE_MODEL, help="base model (hub id or dir)")
    parser.add_argument("--adapter", default="default", help="default (the shipped one), none, or a directory")
    parser.add_argument("--candidates", type=int, default=ServerSettings.candidates)
    parser.add_argument("--max-new-tokens", type=int, default=ServerSettings.max_new_tokens)
    parser.add_argument("--no-resolve", action="store_true", help="only the listing latency (no model)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rtg-serve-bench-"))
    crate = work / "user_crate"
    shutil.copytree(FIXTURE, crate)
    big = crate / "src" / "big.rs"
    big.write_text(five_thousand_lines())

    client = LanguageClient("rtg-bench", "0")

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams):
        print(f"  server: {params.message}", file=sys.stderr)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_show(params: types.ShowMessageParams):
        pass  # the same text arrives as a log message

    await client.start_io(sys.executable, "-m", "rtg_serve")
    options = {"device": "cpu", "model": args.model, "adapter": args.adapter, "candidates": args.candidates,
               "maxNewTokens": args.max_new_tokens, "loadModelAtStart": not args.no_resolve}
    capabilities = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True),
                                            workspace=types.WorkspaceClientCapabilities(
                                                workspace_edit=types.WorkspaceEditClientCapabilities(
                                                    document_changes=True)),
                                            text_document=types.TextDocumentClientCapabilities(
                                                code_action=types.CodeActionClientCapabilities(
                                                    resolve_support=types.ClientCodeActionResolveOptions(["edit"]))))
    await client.initialize_async(types.InitializeParams(capabilities=capabilities, initialization_options=options))
    client.initialized(types.InitializedParams())
    for path in (big, crate / "src" / "lib.rs"):
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=path.as_uri(), language_id="rust", version=1, text=path.read_text())))

    timings = await list_latency(client, big.as_uri(), args.requests)
    ms = sorted(1000 * t for t in timings)
    print(f"code-action listing on a {big.read_text().count(chr(10))}-line file, {len(ms)} requests: "
          f"median {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * len(ms)) - 1]:.1f} ms, max {ms[-1]:.1f} ms")
    if not args.no_resolve:
        stamps: list[tuple[str, float]] = []

        @client.feature(types.PROGRESS)
        def on_progress(params: types.ProgressParams):
            value = params.value if isinstance(params.value, dict) else {}
            stamps.append((value.get("message") or value.get("title") or value.get("kind", "?"), time.perf_counter()))

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def on_create(params):
            return None

        print(f"model loaded (warm) in {await wait_until_loaded(client):.1f} s: {args.model}"
              f", adapter {args.adapter}, {args.candidates} candidates, "
              f"{args.max_new_tokens} new tokens at most")
        lib = crate / "src" / "lib.rs"
        rows = await resolve_every_function(client, lib, stamps)
        print(f"\n{'function':18}{'resolve s':>10}{'generated at':>14}{'checked at':>12}  inserted tests")
        for row in rows:
            stages = row["stages"]
            print(f"{row['function']:18}{row['seconds']:>10.1f}{stages.get('checking', float('nan')):>14.1f}"
                  f"{stages.get('final check', float('nan')):>12.1f}  {row['inserted']}")
        seconds = [row["seconds"] for row in rows]
        with_tests = sum(row["inserted"] > 0 for row in rows)
        print(f"median resolve {statistics.median(seconds):.1f} s (target <= 20 s); validated tests for {with_tests} "
              f"of {len(rows)} functions = {100 * with_tests / len(rows):.0f} % (target >= 80 %)")
        cargo = subprocess.run(["cargo", "test", "--offline", "--quiet"], cwd=crate, capture_output=True, text=True,
                               timeout=600, env={**os.environ, "CARGO_TARGET_DIR": str(work / "target")})
        tail = [line for line in cargo.stdout.splitlines() if line.startswith("test result")]
        print(f"cargo test in the crate with every inserted test: exit {cargo.returncode}, {'; '.join(tail)}")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
