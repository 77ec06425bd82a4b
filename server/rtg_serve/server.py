"""The language server: thin pygls handlers around plain functions (actions, pipeline, backend).

The action list stays cheap: it carries {uri, version, range} and the work happens in codeAction/resolve (or the
`rtg.generateTests` command for clients without resolve support). Blocking work — the model, cargo — runs in
worker threads, one generation at a time; cancelling a request stops generation and kills cargo's process group.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

from cattrs.errors import BaseValidationError
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from rtg_core.cargo_env import cache_dir
from rtg_serve.actions import Position, position_at, target_at
from rtg_serve.backend import ModelBackend
from rtg_serve.pipeline import Outcome, PipelineSettings, Stage, generate_validated_tests
from rtg_serve.settings import ServerSettings, SettingsError
from rtg_serve.validation import Cancelled

GENERATE_COMMAND = "rtg.generateTests"
STATUS_COMMAND = "rtg.status"
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
log = logging.getLogger("rtg-serve")


_ANSWERED = object()  # a malformed request that has had its error response


class AnsweringProtocol(LanguageServerProtocol):
    """pygls, but a request whose params do not parse gets a JSON-RPC error response naming the problem.

    pygls itself only shows a message for such a request and never answers it, so the client waits forever.
    """

    def structure_message(self, data: dict[str, Any]):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise  # a notification or a response: nothing to answer
            if isinstance(exc, JsonRpcInvalidParams):
                exc = JsonRpcInvalidParams(message=f"invalid params for {data['method']}: {_problem(exc.__cause__)}")
            log.warning("answered request %s with error %s: %s", data["id"], exc.code, exc.message)
            self._send_response(data["id"], error=exc.to_response_error())
            return _ANSWERED

    def handle_message(self, message) -> None:
        if message is not _ANSWERED:
            super().handle_message(message)


def _problem(cause: BaseException | None) -> str:
    """The first concrete complaint inside cattrs' nested validation errors (e.g. a negative line number)."""
    while isinstance(cause, BaseValidationError) and cause.exceptions:
        cause = cause.exceptions[0]
    return str(cause) if cause is not None else "they do not match the request's type"


class RtgLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("rtg-serve", "0.1.0", protocol_cls=AnsweringProtocol)
        self.settings = ServerSettings()
        self.backend = ModelBackend(self.settings)
        self.generation_lock = asyncio.Lock()  # one generation at a time on the device; others queue

    def configure(self, options: dict[str, Any] | None) -> None:
        try:
            self.settings = self.settings.updated(options)
        except SettingsError as exc:
            self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"rtg: {exc}"))
            return
        self.backend.configure(self.settings)
        _log_to_file(self.settings.log_file)

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        log.info(message)
        self.window_log_message(types.LogMessageParams(kind, message))
        self.window_show_message(types.ShowMessageParams(kind, message))


server = RtgLanguageServer()


@server.feature(types.INITIALIZE)
def on_initialize(ls: RtgLanguageServer, params: types.InitializeParams) -> None:
    ls.configure(params.initialization_options if isinstance(params.initialization_options, dict) else None)


@server.feature(types.INITIALIZED)
def on_initialized(ls: RtgLanguageServer, params: types.InitializedParams) -> None:
    if ls.settings.load_model_at_start:
        ls.backend.load_in_background()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def on_configuration(ls: RtgLanguageServer, params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings if isinstance(params.settings, dict) else {}
    ls.configure(settings.get("rtg", settings))


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite], resolve_provider=True),
)
def code_actions(ls: RtgLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    document = ls.workspace.text_documents.get(params.text_document.uri)
    if document is None or len(document.source) > MAX_DOCUMENT_BYTES:
        return []
    start = params.range.start
    target = target_at(document.source, Position(start.line, start.character))
    if target is None:
        return []
    data = {"uri": document.uri, "version": document.version,
            "range": {"start": {"line": start.line, "character": start.character},
                      "end": {"line": start.line, "character": start.character}}}
    action = types.CodeAction(title=target.title, kind=types.CodeActionKind.RefactorRewrite, data=data)
    if not _client_resolves_edits(ls):
        action.command = types.Command(title=target.title, command=GENERATE_COMMAND, arguments=[data])
    return [action]


@server.feature(types.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: RtgLanguageServer, action: types.CodeAction) -> types.CodeAction:
    edit = await _generate_edit(ls, action.data)
    if edit is not None:
        action.edit = edit
    return action


@server.command(GENERATE_COMMAND)
async def generate_command(ls: RtgLanguageServer, data: dict) -> None:
    edit = await _generate_edit(ls, data)
    if edit is not None:
        result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="rtg tests"))
        if not result.applied:
            ls.tell(f"rtg: the editor did not apply the tests ({result.failure_reason or 'no reason given'})",
                    types.MessageType.Warning)


@server.command(STATUS_COMMAND)
def status_command(ls: RtgLanguageServer, *args) -> dict:
    return ls.backend.status()


async def _generate_edit(ls: RtgLanguageServer, data: Any) -> types.WorkspaceEdit | None:
    """Run the pipeline for the action's {uri, version, range}; None (and a message) when nothing is inserted."""
    if not isinstance(data, dict) or not {"uri", "version", "range"} <= data.keys():
        ls.tell("rtg: this action carries no document data; ask for code actions again", types.MessageType.Error)
        return None
    document = ls.workspace.text_documents.get(data["uri"])
    if document is None:
        ls.tell(f"rtg: {data['uri']} is not open in the editor", types.MessageType.Error)
        return None
    if document.version != data["version"]:
        ls.tell("rtg: the document changed since the action was offered; ask for the action again",
                types.MessageType.Warning)
        return None
    source = document.source
    start = data["range"]["start"]
    target = target_at(source, Position(start["line"], start["character"]))
    if target is None:
        ls.tell("rtg: no function to test at this position", types.MessageType.Warning)
        return None
    cancel = threading.Event()
    progress = _Progress(ls, f"Generating tests for `{target.function.name}`")
    try:
        async with ls.generation_lock:
            await progress.begin()
            work = asyncio.get_running_loop().run_in_executor(
                None, _run_pipeline, ls, Path(to_fs_path(document.uri)), source, target, progress.report, cancel
            )
            try:
                outcome: Outcome = await asyncio.shield(work)
            except asyncio.CancelledError:
                cancel.set()  # stops generation and kills cargo; the lock is held until the worker has stopped
                await asyncio.wait([work])
                raise
    except (asyncio.CancelledError, Cancelled):
        progress.end("cancelled")
        log.info("generation for %s cancelled", target.function.name)
        raise asyncio.CancelledError()
    except Exception as exc:  # the server stays up whatever one request does
        log.exception("generation failed")
        progress.end("failed")
        ls.tell(f"rtg: generating tests failed: {exc}", types.MessageType.Error)
        return None
    progress.end(outcome.message)
    if outcome.new_source is None:
        ls.tell(f"rtg: no tests inserted for `{target.function.name}`: {outcome.message}", types.MessageType.Warning)
        return None
    current = ls.workspace.text_documents.get(data["uri"])
    if current is None or current.version != data["version"]:
        ls.tell("rtg: the document changed while tests were generated; nothing was inserted", types.MessageType.Warning)
        return None
    ls.tell(f"rtg: {outcome.message}")
    return _workspace_edit(ls, document.uri, document.version, source, outcome.new_source)


def _run_pipeline(ls: RtgLanguageServer, path: Path, source: str, target, report, cancel) -> Outcome:
    settings = ls.settings
    ls.backend.ensure_loaded(lambda: report("loading model"))
    return generate_validated_tests(
        path, source, target.function, ls.backend.generate,
        PipelineSettings(settings.candidates, settings.retries, settings.validation, settings.mutants, settings.seed,
                         settings.check_seconds, settings.run_seconds),
        report, cancel,
    )


def _workspace_edit(ls, uri: str, version: int, old: str, new: str) -> types.WorkspaceEdit:
    """One minimal text edit; versioned documentChanges where the client supports them (a stale edit is refused)."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    start = position_at(old, len(old[:prefix].encode()))
    end = position_at(old, len(old[: len(old) - suffix].encode()))
    edit = types.TextEdit(
        range=types.Range(types.Position(start.line, start.character), types.Position(end.line, end.character)),
        new_text=new[prefix : len(new) - suffix],
    )
    capabilities = ls.client_capabilities.workspace
    if capabilities and capabilities.workspace_edit and capabilities.workspace_edit.document_changes:
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits=[edit])])
    return types.WorkspaceEdit(changes={uri: [edit]})


def _client_resolves_edits(ls: RtgLanguageServer) -> bool:
    text_document = ls.client_capabilities.text_document
    code_action = text_document.code_action if text_document else None
    support = code_action.resolve_support if code_action else None
    return bool(support and "edit" in support.properties)


class _Progress:
    """Server-initiated work-done progress, where the client supports it; stages reported from worker threads."""

    def __init__(self, ls: RtgLanguageServer, title: str):
        self.ls = ls
        self.title = title
        self.token = str(uuid.uuid4())
        window = ls.client_capabilities.window
        self.enabled = bool(window and window.work_done_progress)
        self.loop = asyncio.get_running_loop()

    async def begin(self) -> None:
        if self.enabled:
            await self.ls.work_done_progress.create_async(self.token)
            self.ls.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(title=self.title,
                                                                                    cancellable=True))

    def report(self, stage: Stage) -> None:
        log.info("%s: %s", self.title, stage)
        if self.enabled:
            self.loop.call_soon_threadsafe(
                self.ls.work_done_progress.report, self.token, types.WorkDoneProgressReport(message=stage))

    def end(self, message: str) -> None:
        if self.enabled and self.token in self.ls.work_done_progress.tokens:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message[:200]))


def _log_to_file(path: str | None) -> None:
    target = Path(path) if path else cache_dir() / "serve" / "rtg-serve.log"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == target for h in log.handlers):
        for handler in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
            log.removeHandler(handler)
        handler = logging.FileHandler(target)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rtg-serve", description="rtg's language server (LSP over stdio or TCP)")
    parser.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2087)
    args = parser.parse_args(argv)
    _log_to_file(None)
    if args.tcp:
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return 0
