"""`rtg-corpus fetch --debian`: Debian's `librust-*-dev` crate packages, downloaded and unpacked into a cache.

Debian ships each crate's published source (its `#[cfg(test)]` modules, `tests/` dir and doc tests included)
under /usr/share/cargo/registry/NAME-VERSION/. `apt-get download` fetches the .deb without installing it, and
`dpkg-deb -x` unpacks it; only that registry dir is kept, as `crates/NAME-VERSION/`. `packages.json` lists every
package with its version, the .deb's sha256 and where its crate went, or why it has none.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from rtg_core.cargo_env import cache_dir
from rtg_core.files import file_sha256

# Real crate packages: `librust-NAME-dev`, not the `librust-NAME+FEATURE-dev` metapackages.
_CRATE_PACKAGE = re.compile(r"^librust-[a-z0-9][a-z0-9.-]*-dev$")
_REGISTRY = Path("usr/share/cargo/registry")
PACKAGES_FILE = "packages.json"
DOWNLOAD_BATCH = 100


class FetchError(RuntimeError):
    pass


@dataclass(frozen=True)
class FetchedPackage:
    package: str
    version: str | None
    deb: str | None  # file name under debs/
    deb_sha256: str | None
    crate_dirs: tuple[str, ...]  # dir names under crates/ (a few packages ship two crates)
    error: str | None


def default_cache() -> Path:
    return cache_dir() / "debian-crates"


def debian_crate_packages() -> list[str]:
    """Every `librust-*-dev` crate package apt knows, sorted; feature metapackages left out."""
    try:
        dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise FetchError(f"apt-cache dumpavail failed ({exc}); is this a Debian machine with apt?") from exc
    names = {line.split(":", 1)[1].strip() for line in dump.splitlines() if line.startswith("Package: ")}
    found = sorted(name for name in names if _CRATE_PACKAGE.match(name) and "+" not in name)
    if not found:
        raise FetchError("apt knows no librust-*-dev package: run `apt-get update` first")
    return found


def fetch_debian(cache: Path, limit: int | None = None, packages: list[str] | None = None) -> list[FetchedPackage]:
    """Download and unpack the packages (all of apt's, or the first `limit`) into `cache`; already unpacked
    ones are kept. A package that fails is recorded with its reason; the others go on."""
    names = packages if packages is not None else debian_crate_packages()
    names = names[:limit] if limit is not None else names
    debs, crates = cache / "debs", cache / "crates"
    debs.mkdir(parents=True, exist_ok=True)
    crates.mkdir(parents=True, exist_ok=True)
    debs.chmod(0o755)  # apt's `_apt` user drops its privileges to write here
    previous = {p["package"]: p for p in _read_packages(cache)}
    results: dict[str, FetchedPackage] = {}
    todo = []
    for name in names:
        old = previous.get(name)
        if old and old.get("crate_dirs") and all((crates / d).is_dir() for d in old["crate_dirs"]) \
                and (debs / old["deb"]).is_file():
            results[name] = FetchedPackage(**{**old, "crate_dirs": tuple(old["crate_dirs"])})
        else:
            todo.append(name)
    errors = _download(todo, debs)
    for name in tqdm(todo, desc="unpacking", unit="pkg", disable=None):
        if name in errors:
            results[name] = FetchedPackage(name, None, None, None, (), errors[name])
            continue
        results[name] = _unpack(name, debs, crates)
    fetched = [results[name] for name in names]
    _write_packages(cache, fetched)
    return fetched


def _download(names: list[str], debs: Path) -> dict[str, str]:
    """apt-get download in batches; a failed batch is retried one package at a time. Returns errors by name."""
    errors: dict[str, str] = {}
    batches = [names[i:i + DOWNLOAD_BATCH] for i in range(0, len(names), DOWNLOAD_BATCH)]
    with tqdm(total=len(names), desc="downloading", unit="pkg", disable=None) as bar:
        for batch in batches:
            if _apt_download(batch, debs) is not None:
                for name in batch:
                    error = _apt_download([name], debs)
                    if error is not None:
                        errors[name] = error
            bar.update(len(batch))
    return errors


def _apt_download(names: list[str], debs: Path) -> str | None:
    result = subprocess.run(["apt-get", "download", "-q", *names], cwd=debs, capture_output=True, text=True)
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.splitlines() if line.startswith("E:")]
    return (lines[0] if lines else result.stderr.strip()[-300:]) or f"apt-get exited {result.returncode}"


def _deb_of(name: str, debs: Path) -> Path | None:
    candidates = sorted(debs.glob(f"{name}_*.deb"))
    return candidates[-1] if candidates else None


def _unpack(name: str, debs: Path, crates: Path) -> FetchedPackage:
    deb = _deb_of(name, debs)
    if deb is None:
        return FetchedPackage(name, None, None, None, (), "apt-get download left no .deb")
    version = deb.name.split("_")[1].replace("%3a", ":")
    sha = file_sha256(deb)
    with tempfile.TemporaryDirectory(prefix="rtg-deb-") as tmp:
        result = subprocess.run(["dpkg-deb", "-x", str(deb), tmp], capture_output=True, text=True)
        if result.returncode != 0:
            return FetchedPackage(name, version, deb.name, sha, (), f"dpkg-deb -x failed: {result.stderr.strip()}")
        registry = Path(tmp) / _REGISTRY
        dirs = sorted(p for p in registry.iterdir() if p.is_dir()) if registry.is_dir() else []
        if not dirs:
            return FetchedPackage(name, version, deb.name, sha, (), f"no crate under /{_REGISTRY}")
        for crate_dir in dirs:
            dest = crates / crate_dir.name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.move(str(crate_dir), dest)
    return FetchedPackage(name, version, deb.name, sha, tuple(d.name for d in dirs), None)


def _read_packages(cache: Path) -> list[dict]:
    path = cache / PACKAGES_FILE
    return json.loads(path.read_text())["packages"] if path.is_file() else []


def _write_packages(cache: Path, fetched: list[FetchedPackage]) -> None:
    """Merge into packages.json, so that `--limit` runs add to the cache rather than forget it."""
    merged = {p["package"]: p for p in _read_packages(cache) if "crate_dirs" in p}
    merged.update({p.package: asdict(p) for p in fetched})
    document = {"source": "debian", "packages": [merged[name] for name in sorted(merged)]}
    (cache / PACKAGES_FILE).write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def read_package_index(source: Path) -> dict[str, dict]:
    """crate dir name -> its Debian package record, for a fetch cache (or its crates/ dir); {} for other dirs."""
    for candidate in (source, source.parent):
        path = candidate / PACKAGES_FILE
        if path.is_file():
            packages = json.loads(path.read_text())["packages"]
            return {d: p for p in packages for d in p.get("crate_dirs") or ()}
    return {}
