"""Benchmark rtg-serve over a real stdio pipe: code-action listing latency on a 5,000-line file, and the time of
each resolve stage when a model is given.

    .venv/bin/python benchmarks/serve_latency.py [--requests 50] [--model DIR --adapter DIR]

Prints figures; asserts nothing. Target: listing under 50 ms on a 5,000-line file.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

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


async def resolve_stages(client: LanguageClient, uri: str, text: str) -> list[tuple[str, float]]:
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri),
        range=types.Range(types.Position(4, 8), types.Position(4, 8)),
        context=types.CodeActionContext(diagnostics=[])))
    stamps: list[tuple[str, float]] = []

    @client.feature(types.PROGRESS)
    def on_progress(params: types.ProgressParams):
        value = params.value if isinstance(params.value, dict) else {}
        stamps.append((value.get("message") or value.get("title") or value.get("kind", "?"), time.perf_counter()))

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def on_create(params):
        return None

    start = time.perf_counter()
    resolved = await client.code_action_resolve_async(actions[0])
    end = time.perf_counter()
    marks = [("requested", start)] + stamps + [("edit returned" if resolved.edit else "no edit", end)]
    return [(label, t - start) for label, t in marks]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--model", help="base model dir for the resolve timing (e.g. a tiny-qwen2 dir)")
    parser.add_argument("--adapter")
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
    options = {"device": "cpu", "model": args.model or "Qwen/Qwen2.5-Coder-0.5B-Instruct", "adapter": args.adapter}
    capabilities = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True),
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
    if args.model:
        lib = crate / "src" / "lib.rs"
        previous = 0.0
        for label, seconds in await resolve_stages(client, lib.as_uri(), lib.read_text()):
            print(f"  resolve {label:>24}: at {seconds:6.2f} s (+{seconds - previous:5.2f} s)")
            previous = seconds
    else:
        print("resolve stages: not measured (pass --model DIR [--adapter DIR])")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
