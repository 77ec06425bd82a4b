"""rtg_core.backends with a real tiny-qwen2: local generation, an OpenAI-compatible HTTP server in front of it, replay.

The HTTP server is started here on 127.0.0.1 and answers every request by generating with LocalBackend: the
OpenAI backend is tested against real generation, not canned replies.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rtg_core.backends import (BackendError, LocalBackend, OpenAICompatibleBackend, ReplayBackend, ReplayMiss,
                               Sampling, candidates, prompt_sha256)
from rtg_core.prompt import IM_END, chat_prompt
from rtg_core.tiny_qwen2 import build_tiny_qwen2
from rtg_serve.backend import ModelBackend
from rtg_serve.settings import ServerSettings

CORPUS = Path(__file__).parent / "fixtures" / "tiny_corpus"
TOKENS = 12
PROMPTS = [chat_prompt("pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"),
           chat_prompt("pub fn is_even(n: u32) -> bool {\n    n % 2 == 0\n}\n")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    rows = [json.loads(line) for line in (CORPUS / "train.jsonl").read_text().splitlines()]
    return build_tiny_qwen2([chat_prompt(r["input"]) + r["output"] for r in rows],
                            tmp_path_factory.mktemp("tiny") / "tiny-qwen2")


@pytest.fixture(scope="module")
def local(tiny) -> LocalBackend:
    backend = LocalBackend(str(tiny), device="cpu")
    backend.load()
    return backend


@pytest.fixture(scope="module")
def greedy(local):
    return local.complete(PROMPTS, TOKENS)


def test_local_generation_is_greedy_repeatable_and_measured(local, greedy):
    again = local.complete(PROMPTS, TOKENS)
    assert [c.text for c in again] == [c.text for c in greedy]
    for completion in greedy:
        assert 0 < completion.new_tokens <= TOKENS
        assert completion.seconds > 0
    assert local.live and local.describe()["device"] == "cpu"


def test_seeded_sampling_repeats_for_a_seed_and_differs_from_greedy(tiny, greedy):
    first = LocalBackend(str(tiny), device="cpu", sampling=Sampling(temperature=1.0, top_p=1.0, seed=7))
    texts = [c.text for c in first.complete(PROMPTS, TOKENS)]
    assert [c.text for c in first.complete(PROMPTS, TOKENS)] == texts
    assert texts != [c.text for c in greedy]
    other_seed = LocalBackend(str(tiny), device="cpu", sampling=Sampling(temperature=1.0, top_p=1.0, seed=8))
    assert [c.text for c in other_seed.complete(PROMPTS, TOKENS)] != texts


def test_a_cancelled_request_returns_empty_replies(local):
    cancel = threading.Event()
    cancel.set()
    assert [c.text for c in local.complete(PROMPTS, TOKENS, cancel)] == ["", ""]


# --- an OpenAI-compatible server in front of the local backend ----------------------------------------------------


class _Completions(BaseHTTPRequestHandler):
    backend: LocalBackend
    requests: list

    def do_POST(self):
        if self.path != "/v1/completions":
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        (completion,) = self.backend.complete([body["prompt"]], body["max_tokens"])
        text, finish = completion.text, "length"
        for stop in body.get("stop") or []:
            if stop in text:  # as servers do: cut at the stop sequence, leave it out, say why it stopped
                text, finish = text.split(stop, 1)[0], "stop"
        reply = {"object": "text_completion", "model": body["model"],
                 "choices": [{"index": 0, "text": text, "finish_reason": finish}],
                 "usage": {"completion_tokens": completion.new_tokens}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(local):
    handler = type("Handler", (_Completions,), {"backend": local, "requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    httpd.shutdown()
    httpd.server_close()


def test_the_openai_backend_gets_what_the_model_generates(server, greedy):
    url, requests = server
    backend = OpenAICompatibleBackend(url, "tiny-qwen2", parallel=1)
    completions = backend.complete(PROMPTS, TOKENS)
    assert [c.text for c in completions] == [c.text for c in greedy]
    assert [c.new_tokens for c in completions] == [c.new_tokens for c in greedy]
    assert requests[-1]["stop"] == [IM_END] and requests[-1]["prompt"] == PROMPTS[-1]
    assert requests[-1]["temperature"] == 0.0


def test_the_openai_backend_accepts_a_url_ending_in_v1(server):
    url, _ = server
    assert OpenAICompatibleBackend(url + "/v1/", "m").base_url == url


def test_an_unreachable_endpoint_says_what_to_check():
    backend = OpenAICompatibleBackend("http://127.0.0.1:9", "m", timeout=5)
    with pytest.raises(BackendError, match="is the server running"):
        backend.complete(PROMPTS[:1], TOKENS)


# --- replay -------------------------------------------------------------------------------------------------------


def test_recording_then_replaying_gives_the_same_replies(tmp_path, local, greedy):
    path = tmp_path / "replay.jsonl"
    recorded = ReplayBackend.recording(path, local).complete(PROMPTS, TOKENS)
    assert [c.text for c in recorded] == [c.text for c in greedy]
    assert len(path.read_text().splitlines()) == 2
    replay = ReplayBackend(path=path)
    assert not replay.live
    assert [c.text for c in replay.complete(list(reversed(PROMPTS)), TOKENS)] == [c.text for c in reversed(greedy)]


def test_a_prompt_missing_from_the_replay_is_an_error_naming_it(tmp_path):
    replay = ReplayBackend.from_replies({PROMPTS[0]: "#[test]\nfn t() {}\n"})
    with pytest.raises(ReplayMiss, match=prompt_sha256(PROMPTS[1])):
        replay.complete(PROMPTS, TOKENS)


def test_a_malformed_replay_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt_sha256": "a", "text": "b"}) + "\n{not json\n")
    with pytest.raises(BackendError, match="bad.jsonl:2"):
        ReplayBackend(path=path)


# --- the language server's model holder goes through LocalBackend ------------------------------------------------


def test_the_servers_model_backend_generates_through_the_local_backend_in_bf16_on_the_cpu(tiny):
    holder = ModelBackend(ServerSettings(model=str(tiny), device="cpu", max_new_tokens=40))
    holder.ensure_loaded(lambda: None)
    code = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
    bf16 = LocalBackend(str(tiny), device="cpu", load_in_4bit=False)
    progress: list[int] = []
    assert holder.generate(code, 1, 42, threading.Event(), progress.append) == [c.text for c in bf16.complete(
        [chat_prompt(code)], 40)]
    assert progress == [32]  # decoded tokens, every 32
    sampled = holder.generate(code, 3, 42, threading.Event(), progress.append)
    assert len(set(sampled)) == 3 and holder.generate(code, 3, 42, threading.Event(), progress.append) == sampled
    status = holder.status()
    assert status["modelLoaded"] and status["device"] == "cpu"


def test_candidates_are_the_greedy_reply_then_distinct_seeded_samples_and_replay_exactly(tmp_path, local, greedy):
    sampling = Sampling(temperature=1.0, top_p=1.0, seed=7)
    path = tmp_path / "candidates.jsonl"
    recorded = candidates(ReplayBackend.recording(path, local), PROMPTS, 3, TOKENS, sampling)
    assert [[c.text for c in replies][0] for replies in recorded] == [c.text for c in greedy]
    assert all(len({c.text for c in replies}) == 3 for replies in recorded)  # copies of one prompt differ
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((r["candidate"], r["seed"] or -1) for r in rows) == [(0, -1), (0, -1), (0, 7), (0, 7), (1, 7), (1, 7)]
    replayed = candidates(ReplayBackend(path=path), PROMPTS, 3, TOKENS, sampling)
    assert [[c.text for c in r] for r in replayed] == [[c.text for c in r] for r in recorded]
    with pytest.raises(ReplayMiss, match="candidate 2, sampling seed 7"):
        candidates(ReplayBackend(path=path), PROMPTS, 4, TOKENS, sampling)
