"""rtg-serve resolves "Generate tests" with a real model over a real stdio pipe.

tiny-qwen2 is trained here to memorise tests for two functions of the fixture crate: good ones for `double`, wrong
ones for `bump`. Real generation then yields tests the server must insert (double) or refuse (bump): no fake
backend anywhere.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from memorise import train_memorising_model
from rtg_core.rust_source import functions
from rtg_core.context import function_context

FIXTURE = Path(__file__).parent / "fixtures" / "user_crate"
GOOD_TESTS = "#[test]\nfn doubles_two_and_minus_three() {\n    assert_eq!(double(2), 4);\n    assert_eq!(double(-3), -6);\n}"
WRONG_TESTS = "#[test]\nfn bump_starts_at_two() {\n    let mut c = Counter::new();\n    assert_eq!(c.bump(), 2);\n}"


@pytest.fixture(scope="module")
def memorised(tmp_path_factory):
    """(base model dir, adapter dir) of a tiny-qwen2 that answers the fixture's functions with known tests."""
    work = tmp_path_factory.mktemp("memorised")
    source = (FIXTURE / "src" / "lib.rs").read_text()
    by_name = {f.name: f for f in functions(source)}
    rows = [{"id": "double", "input": function_context(source, by_name["double"]), "output": GOOD_TESTS,
             "metadata": {"test_kinds": ["unit"]}},
            {"id": "bump", "input": function_context(source, by_name["bump"]), "output": WRONG_TESTS,
             "metadata": {"test_kinds": ["unit"]}}]
    run = train_memorising_model(work, rows)
    return run / "tiny-qwen2", run / "checkpoints" / "best"


def options(memorised) -> dict:
    base, adapter = memorised
    return {"model": str(base), "adapter": str(adapter), "device": "cpu", "maxNewTokens": 120, "retries": 0,
            "candidates": 1}  # the greedy reply: what the model memorised


async def start(client: LanguageClient, capabilities, memorised, tmp_path):
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities, initialization_options=options(memorised)))
    crate = tmp_path / "user_crate"
    shutil.copytree(FIXTURE, crate)
    lib = crate / "src" / "lib.rs"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=lib.as_uri(), language_id="rust", version=1, text=lib.read_text())))
    return crate, lib


async def action_at(client, uri, line, character):
    (action,) = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri),
        range=types.Range(types.Position(line, character), types.Position(line, character)),
        context=types.CodeActionContext(diagnostics=[])))
    return action


def apply(text: str, edit: types.TextEdit) -> str:
    lines = text.split("\n")
    start = sum(len(l) + 1 for l in lines[: edit.range.start.line]) + edit.range.start.character
    end = sum(len(l) + 1 for l in lines[: edit.range.end.line]) + edit.range.end.character
    return text[:start] + edit.new_text + text[end:]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "rtg_serve"]))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_resolve_inserts_generated_tests_that_then_pass_in_the_users_crate(client, memorised, tmp_path):
    crate, lib = await start(client, client_capabilities("visual-studio-code"), memorised, tmp_path)
    action = await action_at(client, lib.as_uri(), 4, 8)
    resolved = await client.code_action_resolve_async(action)

    (change,) = resolved.edit.document_changes  # VS Code takes versioned edits
    assert change.text_document.version == 1
    new_text = apply(lib.read_text(), change.edits[0])
    assert "fn doubles_two_and_minus_three()" in new_text and new_text.count("mod tests") == 1
    stages = [p.message for reports in client.progress_reports.values() for p in reports
              if isinstance(p, types.WorkDoneProgressReport)]
    assert stages[:2] == ["loading model", "generating"] and stages[-2:] == ["checking", "final check"]
    assert all(s.startswith("generating (") and s.endswith("tokens, 1 reply)") for s in stages[2:-2])

    lib.write_text(new_text)
    cargo = subprocess.run(["cargo", "test", "--offline", "--quiet"], cwd=crate, capture_output=True, text=True,
                           timeout=300)
    assert cargo.returncode == 0, cargo.stdout + cargo.stderr
    assert "2 passed" in cargo.stdout  # the crate's own test and the inserted one


@pytest.mark.asyncio
async def test_generated_tests_that_fail_are_not_inserted(client, memorised, tmp_path):
    capabilities = client_capabilities("neovim@v0.10.0")
    crate, lib = await start(client, capabilities, memorised, tmp_path)
    action = await action_at(client, lib.as_uri(), 17, 10)
    assert action.title == "Generate tests for `bump`"
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is None
    assert any("reply 1: fails on the current code" in m.message for m in client.messages)


@pytest.mark.asyncio
async def test_a_cancelled_resolve_leaves_the_server_working(client, memorised, tmp_path):
    import asyncio

    crate, lib = await start(client, client_capabilities("visual-studio-code"), memorised, tmp_path)
    action = await action_at(client, lib.as_uri(), 4, 8)
    request = client.protocol.send_request(types.CODE_ACTION_RESOLVE, action, msg_id="resolve-to-cancel")
    await asyncio.sleep(1.0)  # the model is loading or generating by now
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="resolve-to-cancel"))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wrap_future(request)
    assert not any("inserted" in m.message for m in client.messages)
    again = await action_at(client, lib.as_uri(), 4, 8)
    resolved = await client.code_action_resolve_async(again)  # the queue is free again and the model still works
    assert resolved.edit is not None


@pytest.mark.asyncio
async def test_generation_stops_at_its_time_limit_and_says_so(client, memorised, tmp_path):
    log_file = tmp_path / "rtg-serve.log"
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        initialization_options={**options(memorised), "timeouts": {"generateSeconds": 0.001},
                                "logFile": str(log_file)}))
    crate = tmp_path / "user_crate"
    shutil.copytree(FIXTURE, crate)
    lib = crate / "src" / "lib.rs"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=lib.as_uri(), language_id="rust", version=1, text=lib.read_text())))
    resolved = await client.code_action_resolve_async(await action_at(client, lib.as_uri(), 4, 8))
    assert resolved.edit is None
    assert "generation stopped at the 0 s limit (timeouts.generateSeconds)" in log_file.read_text()
