"""`rtg-corpus build` on the fixture crates, without the judge: splits, card, manifest, determinism, loading."""
import json
from pathlib import Path

import pytest

from rtg_corpus.build import BuildConfig, build
from rtg_corpus.cli import main
from rtg_corpus.push import PushError, prepare_push, push

FIXTURES = Path(__file__).parent / "fixtures" / "crates"
SPLITS = ("train", "validation", "test", "holdout")


def _build(out: Path, **overrides) -> None:
    config = BuildConfig(sources=(FIXTURES,), out=out, verify=False, curated=False, jobs=1, **overrides)
    build(config, log=lambda message: None)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    _build(out)
    return out


def _rows(corpus: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (corpus / f"{split}.jsonl").read_text().splitlines()]


def test_writes_every_split_card_and_manifest(corpus):
    assert sorted(p.name for p in corpus.iterdir()) == sorted([f"{s}.jsonl" for s in SPLITS] + ["README.md",
                                                                                              "manifest.json"])


def test_lines_follow_spec_3_1_and_3_2(corpus):
    rows = [row for split in SPLITS for row in _rows(corpus, split)]
    assert rows
    for row in rows:
        assert set(row) == {"id", "input", "output", "metadata", "function_code", "unit_tests", "property_tests"}
        assert {"crate", "crate_version", "file", "complexity", "has_generics", "has_lifetimes", "is_async",
                "has_unsafe", "has_macros", "category", "test_kinds", "standalone", "license"} <= set(row["metadata"])
        assert row["metadata"]["standalone"] is False  # not judged in this build


def test_non_permissive_licence_dropped_and_duplicates_removed(corpus):
    rows = [row for split in SPLITS for row in _rows(corpus, split)]
    crates = {row["metadata"]["crate"] for row in rows}
    assert "gplcrate" not in crates
    adds = [row for row in rows if row["metadata"]["function"] == "add"]
    assert len(adds) == 1 and adds[0]["metadata"]["crate"] == "mathx"  # textkit's copy is the exact duplicate


def test_no_crate_in_two_splits(corpus):
    seen = {}
    for split in SPLITS:
        for row in _rows(corpus, split):
            assert seen.setdefault(row["metadata"]["crate"], split) == split


def test_rebuild_is_byte_identical(corpus, tmp_path):
    _build(tmp_path)
    for name in [f"{s}.jsonl" for s in SPLITS] + ["README.md", "manifest.json"]:
        assert (tmp_path / name).read_bytes() == (corpus / name).read_bytes(), name


def test_manifest_hashes_files_and_lists_sources(corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert set(manifest["files"]) == {f"{s}.jsonl" for s in SPLITS} | {"README.md"}
    assert [(s["crate"], s["version"]) for s in manifest["sources"]] == [
        ("asyncy", "0.1.0"), ("gplcrate", "0.1.0"), ("mathx", "0.2.0"), ("textkit", "1.0.0")]
    assert manifest["skipped_crates"][0][0] == "broken" and "Cargo.toml" in manifest["skipped_crates"][0][1]
    assert manifest["config"]["seed"] == 42


def test_card_has_counts_tables_and_front_matter(corpus):
    card = (corpus / "README.md").read_text()
    assert card.startswith("---\n") and "path: holdout.jsonl" in card
    for heading in ("### By category", "### By cyclomatic complexity", "### By test kind", "## Licences",
                    "## Training mix"):
        assert heading in card
    assert "| generics_lifetimes |" in card and "| proptest |" in card


def test_loads_with_datasets(corpus):
    datasets = pytest.importorskip("datasets")
    files = {split: str(corpus / f"{split}.jsonl") for split in SPLITS if _rows(corpus, split)}
    loaded = datasets.load_dataset("json", data_files=files)
    assert sum(len(loaded[s]) for s in files) == sum(len(_rows(corpus, s)) for s in SPLITS)
    assert "metadata" in loaded[next(iter(files))].column_names


def test_push_checks_the_folder_offline(corpus, tmp_path):
    assert "README.md" in prepare_push(corpus)
    with pytest.raises(PushError, match="no manifest.json"):
        prepare_push(tmp_path)
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for path in corpus.iterdir():
        (tampered / path.name).write_bytes(path.read_bytes())
    (tampered / "test.jsonl").write_text("{}\n")
    with pytest.raises(PushError, match="does not match manifest.json"):
        prepare_push(tampered)


def test_push_without_token_fails_clearly(corpus, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)  # no stored login either
    with pytest.raises(PushError, match="no Hugging Face token"):
        push(corpus, "someone/rtg-corpus")


def test_push_without_network_fails_clearly(corpus, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")  # this machine has no network: the Hub is unreachable
    assert main(["push", str(corpus), "--repo-id", "someone/rtg-corpus"]) == 4
    assert "push failed: could not publish to the Hub" in capsys.readouterr().err


def test_cli_build_reports_a_missing_source(tmp_path, capsys):
    assert main(["build", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "no such dir" in capsys.readouterr().err
