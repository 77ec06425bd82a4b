"""`rtg-corpus fetch --debian` without the network: apt-get is replaced by copying .debs built here."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from rtg_corpus import fetch
from rtg_corpus.crates import discover

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


def _deb(tmp: Path, package: str, crate_dirs: list[str]) -> Path:
    root = tmp / f"{package}-root"
    for crate_dir in crate_dirs:
        src = root / "usr/share/cargo/registry" / crate_dir / "src"
        src.mkdir(parents=True)
        name, version = crate_dir.rsplit("-", 1)
        (src.parent / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "{version}"\nlicense = "MIT"\n')
        (src / "lib.rs").write_text("pub fn one() -> u8 { 1 }\n")
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(f"Package: {package}\nVersion: 1.0-1\nArchitecture: all\n"
                                         "Maintainer: rtg <rtg@example.com>\nDescription: test\n")
    deb = tmp / f"{package}_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True,
                   capture_output=True)
    return deb


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    debs = {"librust-tiny-dev": _deb(tmp_path, "librust-tiny-dev", ["tiny-0.1.0"]),
            "librust-pair-dev": _deb(tmp_path, "librust-pair-dev", ["pair-1.0.0", "pair-macros-1.0.0"])}

    def download(names, dest):
        missing = [n for n in names if n not in debs]
        if missing:
            return f"E: Unable to locate package {missing[0]}"
        for name in names:
            shutil.copy(debs[name], dest / debs[name].name)
        return None

    monkeypatch.setattr(fetch, "_apt_download", download)
    return debs


def test_fetch_unpacks_crates_and_records_failures(tmp_path, fake_apt):
    cache = tmp_path / "cache"
    fetched = fetch.fetch_debian(cache, packages=["librust-gone-dev", "librust-pair-dev", "librust-tiny-dev"])
    by_name = {p.package: p for p in fetched}
    assert by_name["librust-gone-dev"].error == "E: Unable to locate package librust-gone-dev"
    assert by_name["librust-tiny-dev"].crate_dirs == ("tiny-0.1.0",)
    assert by_name["librust-pair-dev"].crate_dirs == ("pair-1.0.0", "pair-macros-1.0.0")
    assert (cache / "crates/tiny-0.1.0/src/lib.rs").is_file()
    index = json.loads((cache / "packages.json").read_text())
    assert [p["package"] for p in index["packages"]] == ["librust-gone-dev", "librust-pair-dev", "librust-tiny-dev"]
    assert index["packages"][2]["version"] == "1.0-1" and len(index["packages"][2]["deb_sha256"]) == 64


def test_fetched_cache_is_a_build_source_with_package_versions(tmp_path, fake_apt):
    cache = tmp_path / "cache"
    fetch.fetch_debian(cache, packages=["librust-tiny-dev"])
    crates, skipped = discover([cache])
    assert [(c.name, c.debian_package, c.debian_version) for c in crates] == [
        ("tiny", "librust-tiny-dev", "1.0-1")]


def test_refetch_keeps_what_is_unpacked(tmp_path, fake_apt, monkeypatch):
    cache = tmp_path / "cache"
    fetch.fetch_debian(cache, packages=["librust-tiny-dev"])
    monkeypatch.setattr(fetch, "_apt_download", lambda names, dest: pytest.fail(f"downloaded {names} again"))
    (fetched,) = fetch.fetch_debian(cache, packages=["librust-tiny-dev"])
    assert fetched.crate_dirs == ("tiny-0.1.0",)


def test_package_list_leaves_out_feature_metapackages(monkeypatch):
    dump = "Package: librust-serde-dev\n\nPackage: librust-serde+derive-dev\n\nPackage: libfoo\n\n" \
           "Package: librust-nom-3-dev\n"
    monkeypatch.setattr(fetch.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=dump, stderr=""))
    assert fetch.debian_crate_packages() == ["librust-nom-3-dev", "librust-serde-dev"]
