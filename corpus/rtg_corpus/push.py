"""`rtg-corpus push OUT --repo-id ...`: publish a built corpus folder as a Hugging Face Hub dataset."""
from __future__ import annotations

import json
import os
from pathlib import Path

from rtg_corpus.card import SPLIT_NAMES
from rtg_core.files import file_sha256


class PushError(RuntimeError):
    pass


def prepare_push(out: Path) -> list[str]:
    """The files to upload, after checking the folder is a complete corpus whose files match manifest.json.
    Needs no network."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        raise PushError(f"{out} has no manifest.json: build it with `rtg-corpus build --out {out}` first")
    manifest = json.loads(manifest_path.read_text())
    wanted = [f"{name}.jsonl" for name in SPLIT_NAMES] + ["README.md"]
    wanted += [name for name in ("eval_sets.json",) if name in manifest["files"]]  # builds before 2026-12-04 lack it
    for name in wanted:
        path = out / name
        if not path.is_file():
            raise PushError(f"{out} lacks {name}; rebuild the corpus")
        recorded = manifest["files"].get(name, {}).get("sha256")
        if recorded != file_sha256(path):
            raise PushError(f"{name} does not match manifest.json (edited after the build?); rebuild the corpus")
    if not (out / "README.md").read_text().startswith("---\n"):
        raise PushError("README.md has no dataset-card front matter")
    return sorted(wanted + ["manifest.json"])


def push(out: Path, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Upload the corpus; returns the dataset's URL. Raises PushError with the fix when there is no token or no
    network."""
    files = prepare_push(out)
    from huggingface_hub import HfApi, get_token

    token = token or os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise PushError("no Hugging Face token: set HF_TOKEN or run `hf auth login`, then push again")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(out), repo_id=repo_id, repo_type="dataset", allow_patterns=files,
                          commit_message="rtg corpus")
    except Exception as exc:  # huggingface_hub raises requests/httpx errors, HfHubHTTPError, OSError...
        raise PushError(f"could not publish to the Hub ({type(exc).__name__}: {exc}); check the network and the "
                        f"token's write access to {repo_id}") from exc
    return f"https://huggingface.co/datasets/{repo_id}"
