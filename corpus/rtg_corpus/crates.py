"""Finding crates in source dirs and reading what the corpus needs from their Cargo.toml: name, version,
library name and licence."""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rtg_corpus.fetch import read_package_index

# SPDX ids the corpus accepts: permissive licences only (no copyleft, weak or strong).
PERMISSIVE = frozenset({
    "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "BSD-1-Clause", "0BSD", "ISC", "Zlib",
    "Unlicense", "CC0-1.0", "BSL-1.0", "Unicode-DFS-2016", "Unicode-3.0", "WTFPL", "X11", "PSF-2.0", "NCSA",
})
_SKIPPED_DIRS = frozenset({"target", ".git", "node_modules", "vendor", ".cargo", "fuzz"})
MAX_DEPTH = 5


@dataclass(frozen=True)
class CrateSource:
    name: str
    version: str
    root: Path
    lib_name: str  # how code refers to it: `use lib_name::...`
    license: str | None
    edition: str
    debian_package: str | None = None
    debian_version: str | None = None

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


class CrateError(ValueError):
    pass


def find_crate_dirs(source: Path) -> list[Path]:
    """Dirs under `source` (itself included) holding a Cargo.toml and a src/, sorted; a fetch cache's crates/ dir
    is used when given the cache itself. Crates nested in a crate are found only under a workspace root."""
    if (source / "crates").is_dir() and not (source / "Cargo.toml").exists():
        source = source / "crates"
    found = []
    for dirpath, dirnames, filenames in os.walk(source):
        depth = len(Path(dirpath).relative_to(source).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS and not d.startswith(".")
                             and depth < MAX_DEPTH)
        if "Cargo.toml" in filenames and (Path(dirpath) / "src").is_dir():
            found.append(Path(dirpath))
            # A crate's own sub-crates (benchmarks, test servers) are not published crates; a workspace's are.
            if not _is_workspace(Path(dirpath) / "Cargo.toml"):
                dirnames[:] = []
    return sorted(found)


def _is_workspace(manifest: Path) -> bool:
    try:
        return re.search(r"^\[workspace\]", manifest.read_text(encoding="utf-8", errors="replace"), re.M) is not None
    except OSError:
        return False


def read_crate(root: Path, debian: dict | None = None) -> CrateSource:
    """Raises CrateError with the reason when the manifest is unreadable or is not a package's."""
    try:
        manifest = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CrateError(f"unreadable Cargo.toml: {exc}") from exc
    package = manifest.get("package")
    if not isinstance(package, dict) or not isinstance(package.get("name"), str):
        raise CrateError("Cargo.toml has no [package] name (a workspace root?)")
    version = package.get("version")
    if not isinstance(version, str):
        raise CrateError("Cargo.toml has no literal version (inherited from a workspace?)")
    lib = manifest.get("lib") if isinstance(manifest.get("lib"), dict) else {}
    license = package.get("license")
    edition = package.get("edition")
    return CrateSource(
        name=package["name"],
        version=version,
        root=root,
        lib_name=str(lib.get("name") or package["name"]).replace("-", "_"),
        license=license.strip() if isinstance(license, str) else None,
        edition=edition if isinstance(edition, str) else "2015",
        debian_package=(debian or {}).get("package"),
        debian_version=(debian or {}).get("version"),
    )


def discover(sources: list[Path]) -> tuple[list[CrateSource], list[tuple[str, str]]]:
    """Every crate in the source dirs, sorted by (name, version, path), and (dir, reason) for those skipped.
    The same name and version found twice is kept once (the first path in sorted order). In a fetch cache
    (one with packages.json), only the packaged crates count."""
    crates: dict[tuple[str, str], CrateSource] = {}
    skipped = []
    for source in sources:
        index = read_package_index(source)
        for root in find_crate_dirs(source):
            if index and root.name not in index:
                continue  # a fetch cache: only the packaged crates, not crates nested in their sources
            try:
                crate = read_crate(root, index.get(root.name))
            except CrateError as exc:
                skipped.append((root.name, str(exc)))
                continue
            crates.setdefault((crate.name, crate.version), crate)
    return sorted(crates.values(), key=lambda c: (c.name, _version_key(c.version), str(c.root))), sorted(skipped)


def _version_key(version: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.+-]", version))


# --- licences -----------------------------------------------------------------------------------------------

_SPDX_TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+-]+")


def is_permissive(expression: str | None) -> bool:
    """Whether an SPDX expression (or cargo's old `MIT/Apache-2.0`) lets the code be used permissively: an OR
    needs one permissive side, an AND both, `X WITH exception` counts as X. No licence is not permissive."""
    if not expression:
        return False
    tokens = _SPDX_TOKEN.findall(expression.replace("/", " OR "))
    try:
        value, rest = _spdx_or(tokens)
    except IndexError:
        return False
    return value and not rest


def _spdx_or(tokens: list[str]) -> tuple[bool, list[str]]:
    value, tokens = _spdx_and(tokens)
    while tokens and tokens[0].upper() == "OR":
        right, tokens = _spdx_and(tokens[1:])
        value = value or right
    return value, tokens


def _spdx_and(tokens: list[str]) -> tuple[bool, list[str]]:
    value, tokens = _spdx_atom(tokens)
    while tokens and tokens[0].upper() == "AND":
        right, tokens = _spdx_atom(tokens[1:])
        value = value and right
    return value, tokens


def _spdx_atom(tokens: list[str]) -> tuple[bool, list[str]]:
    if tokens[0] == "(":
        value, rest = _spdx_or(tokens[1:])
        return value, rest[1:] if rest and rest[0] == ")" else rest
    value = tokens[0].removesuffix("+") in PERMISSIVE
    rest = tokens[1:]
    if len(rest) >= 2 and rest[0].upper() == "WITH":
        rest = rest[2:]
    return value, rest
