"""rtg-serve end to end over a real stdio pipe, as VS Code and Neovim see it."""
import ast
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

FIXTURE = Path(__file__).parent / "fixtures" / "user_crate"
SERVER = [sys.executable, "-m", "rtg_serve"]


def at(line: int, character: int) -> types.Range:
    return types.Range(types.Position(line, character), types.Position(line, character))


async def open_fixture(client: LanguageClient, tmp_path: Path) -> tuple[str, str]:
    crate = tmp_path / "user_crate"
    shutil.copytree(FIXTURE, crate)
    lib = crate / "src" / "lib.rs"
    uri = lib.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id="rust", version=1, text=lib.read_text())))
    return uri, lib.read_text()


async def code_actions(client, uri, line, character) -> list:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri), range=at(line, character),
        context=types.CodeActionContext(diagnostics=[])))
    return list(result or [])


def initialize(client: LanguageClient, capabilities: types.ClientCapabilities, options: dict | None = None):
    return client.initialize_session(types.InitializeParams(
        capabilities=capabilities, initialization_options=options or {"device": "cpu"}))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def vscode(lsp_client: LanguageClient):
    await initialize(lsp_client, client_capabilities("visual-studio-code"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def old_client(lsp_client: LanguageClient):
    """A client without codeAction/resolve support (Neovim 0.7's capabilities, resolve taken away)."""
    capabilities = client_capabilities("neovim@v0.7.0")
    capabilities.text_document.code_action.resolve_support = None
    await initialize(lsp_client, capabilities)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_action_is_listed_on_a_function_and_not_on_a_test(vscode, tmp_path):
    uri, _ = await open_fixture(vscode, tmp_path)
    on_fn = await code_actions(vscode, uri, 4, 8)
    assert [a.title for a in on_fn] == ["Generate tests for `double`"]
    assert on_fn[0].kind == types.CodeActionKind.RefactorRewrite
    assert on_fn[0].data == {"uri": uri, "version": 1, "range": {"start": {"line": 4, "character": 8},
                                                               "end": {"line": 4, "character": 8}}}
    assert on_fn[0].edit is None  # the work waits for resolve
    assert await code_actions(vscode, uri, 31, 8) == []  # inside #[cfg(test)]
    assert [a.title for a in await code_actions(vscode, uri, 17, 10)] == ["Generate tests for `bump`"]


@pytest.mark.asyncio
async def test_clients_without_resolve_get_a_command(old_client, tmp_path):
    uri, _ = await open_fixture(old_client, tmp_path)
    (action,) = await code_actions(old_client, uri, 4, 8)
    # On the wire this is a CodeAction carrying a command; lsprotocol's client-side parse of the
    # `Command | CodeAction` union takes any object with a "command" key for a Command and stringifies the rest.
    command = ast.literal_eval(action.command) if isinstance(action, types.Command) else asdict(action.command)
    assert command["command"] == "rtg.generateTests"
    assert command["arguments"][0]["uri"] == uri and command["arguments"][0]["version"] == 1


@pytest.mark.asyncio
async def test_unknown_documents_and_stale_actions_give_no_edit(vscode, tmp_path):
    assert await code_actions(vscode, (tmp_path / "nowhere.rs").as_uri(), 0, 0) == []
    uri, text = await open_fixture(vscode, tmp_path)
    (action,) = await code_actions(vscode, uri, 4, 8)
    vscode.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text + "\n// edited\n")]))
    resolved = await vscode.code_action_resolve_async(action)
    assert resolved.edit is None
    assert any("changed since the action was offered" in m.message for m in vscode.messages)


@pytest.mark.asyncio
async def test_the_status_command_reports_the_backend(vscode):
    status = await vscode.workspace_execute_command_async(types.ExecuteCommandParams(command="rtg.status"))
    assert status["modelLoaded"] is False and status["model"] == "Qwen/Qwen2.5-Coder-0.5B-Instruct"


@pytest.mark.asyncio
async def test_garbage_requests_do_not_crash_the_server(vscode, tmp_path):
    uri, _ = await open_fixture(vscode, tmp_path)
    resolved = await vscode.code_action_resolve_async(types.CodeAction(title="x", data={"nonsense": 1}))
    assert resolved.edit is None
    huge = "fn f() {}\n" * 200_000
    vscode.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=(tmp_path / "huge.rs").as_uri(), language_id="rust", version=1, text=huge)))
    huge_actions = await code_actions(vscode, (tmp_path / "huge.rs").as_uri(), 199_999, 3)
    assert [a.title for a in huge_actions] == ["Generate tests for `f`"]
    assert [a.title for a in await code_actions(vscode, uri, 4, 8)] == ["Generate tests for `double`"]
