"""rtg-serve with the real Qwen2.5-Coder-0.5B-Instruct (setup fetches it) and the adapter rtg ships, default
settings, over a real stdio pipe: "Generate tests" on the fixture crate inserts only tests that then pass in the
user's crate.

The default settings are what a user gets: 4 seeded candidates in one batch, on the CPU in the dtype it computes
fastest in, every test judged alone in a scratch copy of the crate with the function's mutants, the selection
checked once more in place. About a minute on 2 cores.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from rtg_core.adapters import SHIPPED_DIR
from rtg_core.rust_source import functions
from rtg_core.verdict import read_verdict
from test_serve_generation import apply

FIXTURE = Path(__file__).parent / "fixtures" / "user_crate"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "rtg_serve"]))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_real_model_inserts_tests_that_pass_in_the_users_crate(client, tmp_path):
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"device": "cpu"}))
    crate = tmp_path / "user_crate"
    shutil.copytree(FIXTURE, crate)
    lib = crate / "src" / "lib.rs"
    text = lib.read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=lib.as_uri(), language_id="rust", version=1, text=text)))
    double = next(f for f in functions(text) if f.name == "double")
    line = text[:double.start_byte].count("\n") + 1  # the `pub fn double` line, below its doc comment
    (action,) = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(lib.as_uri()),
        range=types.Range(types.Position(line, 8), types.Position(line, 8)),
        context=types.CodeActionContext(diagnostics=[])))
    assert action.title == "Generate tests for `double`"

    resolved = await client.code_action_resolve_async(action)

    assert resolved.edit is not None, [m.message for m in client.messages]
    (change,) = resolved.edit.document_changes
    new_text = apply(text, change.edits[0])
    assert new_text.count("mod tests") == 1 and new_text.count("#[test]") > text.count("#[test]")
    assert any("inserted" in m.message and "mutants of `double`" in m.message for m in client.messages)
    lib.write_text(new_text)
    cargo = subprocess.run(["cargo", "test", "--offline", "--quiet"], cwd=crate, capture_output=True, text=True,
                           timeout=600)
    assert cargo.returncode == 0, cargo.stdout + cargo.stderr
    passed = int(re.search(r"test result: ok\. (\d+) passed; 0 failed", cargo.stdout).group(1))
    assert passed > 1  # the crate's own test and the inserted ones
    status = await client.workspace_execute_command_async(types.ExecuteCommandParams("rtg.status"))
    # The default is the shipped adapter, held to its gate verdict: served when it passed P-GATE-001, else the base
    # model is served and the status says why (spec §16.1 forbids deploying an adapter that failed).
    admitted = read_verdict(SHIPPED_DIR).state != "rejected"
    assert status["adapterRequested"] == str(SHIPPED_DIR) and status["modelLoaded"]
    assert status["adapter"] == (str(SHIPPED_DIR) if admitted else None)
    assert admitted or status["adapterGates"]["message"].endswith("the base model is served instead")
