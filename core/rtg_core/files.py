"""File facts every package records: one definition of a file's sha256, and of a directory's."""
from __future__ import annotations

import hashlib
from pathlib import Path


def tree_sha256(directory: Path, skip: tuple[str, ...] = ("README.md",)) -> dict[str, str]:
    """sha256 of each file directly in `directory` (symlinks followed, as in the hub cache), dotfiles left out."""
    return {p.name: file_sha256(p) for p in sorted(Path(directory).iterdir())
            if p.is_file() and p.name not in skip and not p.name.startswith(".")}


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks (model weights do not fit in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
