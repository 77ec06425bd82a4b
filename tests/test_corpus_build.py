"""`rtg-corpus build` on the fixture crates, without the judge: splits, card, manifest, determinism, loading."""
import json
import shutil
from pathlib import Path

import pytest

from rtg_corpus.build import BuildConfig, EvalSetsError, build, load_eval_sets
from rtg_corpus.cli import main
from rtg_corpus.push import PushError, prepare_push, push
from test_corpus_mine import DOCUMENTED_STATUS, one_file_crate

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
    assert sorted(p.name for p in corpus.iterdir()) == sorted([f"{s}.jsonl" for s in SPLITS] + [
        "README.md", "manifest.json", "eval_sets.json"])


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
    for name in [f"{s}.jsonl" for s in SPLITS] + ["README.md", "manifest.json", "eval_sets.json"]:
        assert (tmp_path / name).read_bytes() == (corpus / name).read_bytes(), name


def test_manifest_hashes_files_and_lists_sources(corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert set(manifest["files"]) == {f"{s}.jsonl" for s in SPLITS} | {"README.md", "eval_sets.json"}
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
    assert {"README.md", "eval_sets.json"} <= set(prepare_push(corpus))
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


def test_a_build_holds_out_what_an_earlier_build_held_out(corpus, tmp_path):
    """Every build writes its eval_sets.json; a build given one holds out those crates and fns, whatever its own
    split would be, keeps the held-out one of twins (textkit's `add`, not mathx's, which sorts first), and writes
    the given sets back whole."""
    written = json.loads((corpus / "eval_sets.json").read_text())
    assert written == {"validation_crates": ["asyncy"], "test_crates": [], "holdout_crates": [], "holdout": []}
    sets = tmp_path / "eval_sets.json"
    given = {"validation_crates": [], "test_crates": ["gone", "textkit"], "holdout_crates": [], "holdout": []}
    sets.write_text(json.dumps(given))  # "gone": a crate this build lacks, held out still for the next one
    _build(tmp_path / "kept", eval_sets=sets)
    kept = tmp_path / "kept"
    test_crates = {row["metadata"]["crate"] for row in _rows(kept, "test")}
    train = _rows(kept, "train")
    assert test_crates == {"textkit"} and "textkit" not in {row["metadata"]["crate"] for row in train}
    assert "asyncy" in {row["metadata"]["crate"] for row in train}  # validation when split afresh
    assert [row["metadata"]["crate"] for row in _rows(kept, "test") if row["metadata"]["function"] == "add"] == [
        "textkit"]
    assert not [row for row in train if row["metadata"]["function"] == "add"]
    manifest = json.loads((kept / "manifest.json").read_text())
    assert manifest["config"]["eval_sets"] == str(sets)
    assert "what an earlier build held out" in (kept / "README.md").read_text()
    assert json.loads((kept / "eval_sets.json").read_text()) == given


def test_cli_build_reports_evaluation_sets_it_cannot_hold_out(tmp_path, capsys):
    assert main(["build", "--source", str(FIXTURES), "--out", str(tmp_path / "out"), "--no-verify",
                 "--eval-sets", str(tmp_path / "nope.json")]) == 3
    assert "cannot hold out the evaluation sets of" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["{broken", "[]", '{"validation_crates": [], "test_crates": [], '
                                  '"holdout_crates": null, "holdout": []}',
                                  '{"validation_crates": [1], "test_crates": [], "holdout_crates": [], "holdout": []}'])
def test_evaluation_sets_that_cannot_be_held_out_are_named(tmp_path, text):
    (tmp_path / "eval_sets.json").write_text(text)
    with pytest.raises(EvalSetsError, match="cannot hold out the evaluation sets of"):
        load_eval_sets(tmp_path / "eval_sets.json")


@pytest.mark.skipif(shutil.which("cargo") is None or shutil.which("bwrap") is None,
                    reason="the judge needs cargo and bubblewrap (scripts/setup.sh installs them)")
def test_a_pair_that_builds_only_with_its_bare_input_takes_it(tmp_path):
    crate = tmp_path / "crates" / "status"
    crate.mkdir(parents=True)
    one_file_crate(crate, "status", DOCUMENTED_STATUS)
    out = tmp_path / "out"
    build(BuildConfig(sources=(tmp_path / "crates",), out=out, curated=False, jobs=1,
                      max_tokens=700), log=lambda message: None)
    pairs = {row["metadata"]["function"]: row for split in SPLITS for row in _rows(out, split)}
    pair = pairs["Status::is_success"]
    assert pair["metadata"]["standalone"], pair["metadata"]["judge"]
    assert "impl std::fmt::Display for Status" in pair["input"] and "An HTTP status code" not in pair["input"]
    funnel = dict(json.loads((out / "manifest.json").read_text())["funnel"])
    assert funnel["of which built with their context's comments left out"] == 1
