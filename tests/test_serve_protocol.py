"""Every request gets an answer: malformed frames, bad params and out-of-range positions over a real stdio pipe."""
from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "user_crate"


def frame(payload: dict | bytes) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_messages(process: subprocess.Popen, wanted: set, seconds: float = 60) -> dict:
    """Responses by id until every id in `wanted` is answered (or the time is up)."""
    buffer, answered = b"", {}
    deadline = time.monotonic() + seconds
    while wanted - answered.keys() and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            chunk = process.stdout.read1(65536)
            if not chunk:
                break
            buffer += chunk
        while b"\r\n\r\n" in buffer:
            header, rest = buffer.split(b"\r\n\r\n", 1)
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            if len(rest) < length:
                break
            message, buffer = json.loads(rest[:length]), rest[length:]
            if "id" in message and "method" not in message:
                answered[message["id"]] = message
    return answered


def code_action(request_id, uri, line, character):
    position = {"line": line, "character": character}
    return {"jsonrpc": "2.0", "id": request_id, "method": "textDocument/codeAction",
            "params": {"textDocument": {"uri": uri}, "range": {"start": position, "end": position},
                       "context": {"diagnostics": []}}}


def test_every_request_id_is_answered_and_the_server_stays_up(tmp_path):
    lib = FIXTURE / "src" / "lib.rs"
    uri = lib.as_uri()
    process = subprocess.Popen([sys.executable, "-m", "rtg_serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        send = lambda data: (process.stdin.write(frame(data)), process.stdin.flush())  # noqa: E731
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"capabilities": {}, "initializationOptions": {"device": "cpu"}}})
        send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "rust", "version": 1, "text": lib.read_text()}}})
        send(b"{this is not json")  # no id to answer: it must only not take the server down
        send(code_action(2, uri, -1, 0))  # a negative line: not a uinteger
        send({"jsonrpc": "2.0", "id": 3, "method": "textDocument/codeAction", "params": {"textDocument": 7}})
        send(code_action(4, uri, 100_000, 5))  # past the end of the document
        send(code_action(5, "file:///nowhere/lib.rs", 0, 0))  # a document the server never saw
        send({"jsonrpc": "2.0", "id": 6, "method": "rtg/noSuchMethod", "params": {}})
        send(code_action(7, uri, 3, 8))  # a good request after all of that: on `double`
        answered = read_messages(process, {1, 2, 3, 4, 5, 6, 7})
        assert set(answered) == {1, 2, 3, 4, 5, 6, 7}, f"unanswered: {sorted({1, 2, 3, 4, 5, 6, 7} - set(answered))}"
        for bad in (2, 3):
            error = answered[bad]["error"]
            assert error["code"] == -32602 and "textDocument/codeAction" in error["message"], error
        assert "-1" in answered[2]["error"]["message"] or "line" in answered[2]["error"]["message"]
        assert answered[4].get("result") in (None, []) or "error" in answered[4]
        assert answered[6]["error"]["code"] == -32601
        titles = [action["title"] for action in answered[7]["result"]]
        assert any("Generate tests" in title for title in titles), titles
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
