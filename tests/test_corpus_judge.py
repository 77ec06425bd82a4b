"""The judge's verdicts in the corpus: the curated examples all build and pass, and a judged build marks the
fixture pairs that build on their own as standalone. These run cargo (one scratch crate each)."""
import json
import shutil
from pathlib import Path

import pytest

from rtg_corpus.build import BuildConfig, build
from rtg_corpus.curated import load_curated
from rtg_corpus.verify import VERIFY_CONFIG, VerifyError, verify
from rtg_eval.judge import SampleVerdict

FIXTURES = Path(__file__).parent / "fixtures" / "crates"
needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None or shutil.which("bwrap") is None,
                                 reason="the judge needs cargo and bubblewrap")


def test_curated_examples_are_well_formed():
    curated = load_curated()
    assert 30 <= len(curated) <= 60
    categories = {c.category for c in curated}
    assert categories == {"async", "error_handling", "stdlib", "generics_lifetimes"}
    assert sum(c.category == "async" for c in curated) >= 20
    assert all(c.test_names and c.function_code in c.input for c in curated)


@needs_cargo
def test_every_curated_example_builds_and_passes():
    curated = load_curated()
    verdicts = verify([(c.id, c.input, c.output) for c in curated])
    failing = {i: v for i, v in verdicts.items() if not v["passes"]}
    assert not failing


@needs_cargo
def test_judged_build_marks_standalone_pairs(tmp_path):
    build(BuildConfig(sources=(FIXTURES,), out=tmp_path, curated=False, jobs=1), log=lambda message: None)
    rows = [json.loads(line) for split in ("train", "validation", "test", "holdout")
            for line in (tmp_path / f"{split}.jsonl").read_text().splitlines()]
    standalone = {r["metadata"]["function"]: r["metadata"]["standalone"] for r in rows}
    assert standalone == {"add": True, "parse_hex": True, "clamp": True, "reverse": True, "double": True,
                          "Stack::pop": True, "delayed": True, "shout": True, "count_words": True}
    judged = next(r for r in rows if r["metadata"]["function"] == "clamp")["metadata"]["judge"]
    assert judged["compiles"] and judged["tests_total"] == judged["tests_passed"] == 1


def test_a_batch_whose_tests_never_ran_is_judged_again():
    calls = []

    def judge(samples, config):
        calls.append(len(samples))
        broken = len(calls) == 1
        return [SampleVerdict(id=s.id, compiles=True, tests_total=0 if broken else 1, tests_passed=0 if broken else 1,
                              passes=not broken) for s in samples], []

    pairs = [(f"p{i}", "fn f() {}", "#[test] fn t() {}") for i in range(40)]
    verdicts = verify(pairs, VERIFY_CONFIG, judge=judge)
    assert calls == [40, 40] and all(v["passes"] for v in verdicts.values())

    never = lambda samples, config: ([SampleVerdict(id=s.id, compiles=True, tests_total=0) for s in samples], [])
    with pytest.raises(VerifyError, match="ran no test"):
        verify(pairs, VERIFY_CONFIG, judge=never)
