"""The shape of the code base: dependencies point one way, and one definition of the prompt."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "rtg_core": ROOT / "core" / "rtg_core",
    "rtg_eval": ROOT / "evaluation" / "rtg_eval",
    "rtg_corpus": ROOT / "corpus" / "rtg_corpus",
    "rtg_train": ROOT / "training" / "rtg_train",
    "rtg_serve": ROOT / "server" / "rtg_serve",
}
# Who may import whom: the core imports none of the others.
ALLOWED = {
    "rtg_core": set(),
    "rtg_eval": {"rtg_core"},
    "rtg_train": {"rtg_core"},
    "rtg_corpus": {"rtg_core", "rtg_eval"},
    "rtg_serve": {"rtg_core", "rtg_eval"},
}


def imported_packages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_dependencies_point_one_way(package):
    forbidden = set(PACKAGES) - ALLOWED[package] - {package}
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & forbidden)
        for path in sorted(PACKAGES[package].rglob("*.py"))
        if imported_packages(path) & forbidden
    }
    assert offenders == {}


def test_no_import_package_is_called_rtg():
    assert not any((ROOT / where / "rtg").exists() for where in ("core", "evaluation", "corpus", "training", "server"))
    assert not (ROOT / "rtg").exists()


def test_the_chatml_markers_are_spelled_only_in_the_prompt_contract():
    spelled = [
        str(path.relative_to(ROOT))
        for package in PACKAGES.values()
        for path in sorted(package.rglob("*.py"))
        if "<|im_start|>" in path.read_text() and path.name != "prompt.py"
    ]
    assert spelled == []
