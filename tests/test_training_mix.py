"""The adapter's training data: self-generated tests kept only on the judge's word, the mix of verified sources,
and decontamination against every evaluation set."""
import json

import pytest

from rtg_core.backends import ReplayBackend, ReplayRecord, prompt_sha256
from rtg_core.prompt import IM_END, chat_prompt
from rtg_corpus.decontaminate import EvalFunction, evaluation_functions, overlaps
from rtg_corpus.mix import MixError, mix
from rtg_corpus.selfgen import SelfGenConfig, run_round

CLAMP = """pub fn clamp_percent(value: i32) -> i32 {
    if value < 0 {
        0
    } else if value > 100 {
        100
    } else {
        value
    }
}
"""
NEEDS_MORE = "pub fn uses_a_helper(x: u8) -> u8 {\n    helper_not_shown(x)\n}\n"
GREEDY = f"""```rust
#[test]
fn clamps_negative_to_zero() {{
    assert_eq!(clamp_percent(-5), 0);
}}

#[test]
fn same_call_twice() {{
    assert_eq!(clamp_percent(3), clamp_percent(3));
}}

#[test]
fn wrong_expectation() {{
    assert_eq!(clamp_percent(150), 150);
}}
```{IM_END}"""
SAMPLED = f"""```rust
#[test]
fn caps_large_values() {{
    assert_eq!(clamp_percent(150), 100);
    assert_eq!(clamp_percent(100), 100);
}}
```{IM_END}"""


def record(sample_id: str, code: str, tests: str = "", standalone: bool = True, source: str = "debian",
           properties: tuple[str, ...] = ()) -> dict:
    return {"id": sample_id, "input": code, "output": tests, "function_code": code, "unit_tests": [tests],
            "property_tests": list(properties),
            "metadata": {"source": source, "standalone": standalone, "function": code.split("(")[0].split()[-1],
                         "test_kinds": ["proptest"] if properties else ["unit"]}}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    write_jsonl(root / "train.jsonl", [record("clamp", CLAMP, standalone=False), record("helper", NEEDS_MORE,
                                                                                         standalone=False)])
    for split in ("validation", "test", "holdout"):
        write_jsonl(root / f"{split}.jsonl", [])
    return root


def test_a_round_keeps_only_tests_that_build_pass_kill_and_can_fail(corpus, tmp_path):
    prompt = chat_prompt(CLAMP)
    backend = ReplayBackend([ReplayRecord(prompt_sha256(prompt), GREEDY),
                             ReplayRecord(prompt_sha256(prompt), SAMPLED, seed=SelfGenConfig.seed)])
    out = tmp_path / "round-0.jsonl"
    config = SelfGenConfig(round=0, candidates=2)
    report = run_round(corpus, out, backend, config, count_tokens=len, log=lambda message: None)

    assert (report.tried, report.kept) == (1, 1)  # the fn that does not build alone is never asked for
    (kept,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert kept["id"] == "selfgen-r0-clamp" and kept["input"] == CLAMP
    assert "fn clamps_negative_to_zero()" in kept["output"] and "fn caps_large_values()" in kept["output"]
    assert "same_call_twice" not in kept["output"] and "wrong_expectation" not in kept["output"]
    meta = kept["metadata"]
    assert (meta["source"], meta["round"], meta["origin_id"], meta["standalone"]) == ("self-generated", 0, "clamp",
                                                                                      True)
    assert meta["judge"]["passes"] and meta["mutants_killed"] >= 2
    assert report.tests_generated == 4 and report.tests_validated == 3 and report.tests_killing == 2

    again = run_round(corpus, out, backend, config, count_tokens=len, log=lambda message: None)
    assert again.tried == 1 and len(out.read_text().splitlines()) == 1  # resumed: nothing tried twice
    with pytest.raises(ValueError, match="other seed"):  # another order of functions: not a resume
        run_round(corpus, out, backend, SelfGenConfig(round=0, candidates=2, seed=7), count_tokens=len,
                  log=lambda message: None)


HUMANEVAL_FN = "pub fn add_one(x: i32) -> i32 {\n    x + 1\n}\n"


def humaneval_file(tmp_path):
    path = tmp_path / "he.jsonl"
    declaration = "use std::collections::HashMap;\n\nfn add_one(x: i32) -> i32 {\n"
    write_jsonl(path, [{"task_id": "Rust/0", "declaration": declaration, "canonical_solution": "    x + 1\n}\n",
                        "test": "", "entry_point": "add_one"}])
    return path


def test_overlap_is_found_through_formatting_and_comments_but_not_between_unrelated_fns():
    evaluation = [EvalFunction("HumanEvalPack-Rust Rust/0", HUMANEVAL_FN)]
    reformatted = "pub fn add_one(x: i32) -> i32 { // plus one\n x + 1 }"
    hits = overlaps([{"id": "copy", "function_code": reformatted}, {"id": "other", "function_code": CLAMP}],
                    evaluation)
    assert [(h.sample_id, h.origin, h.jaccard) for h in hits] == [("copy", "HumanEvalPack-Rust Rust/0", 1.0)]


def test_the_mix_takes_verified_bug_catching_samples_only_and_leaves_out_every_evaluation_function(corpus, tmp_path):
    clamp_tests = ("#[test]\nfn clamps() {\n    assert_eq!(clamp_percent(-5), 0);\n    assert_eq!(clamp_percent(150), 100);\n"
                   "    assert_eq!(clamp_percent(42), 42);\n}")
    proptest = ("proptest! {\n    #[test]\n    fn stays_in_range(v in any::<i32>()) {\n        let c = clamp(v);\n"
                "        prop_assert!((0..=100).contains(&c));\n        if (0..=100).contains(&v) { prop_assert_eq!(c, v); }\n"
                "    }\n}")
    write_jsonl(corpus / "train.jsonl", [
        record("clamp", CLAMP, clamp_tests),
        record("props", CLAMP.replace("clamp_percent", "clamp"), proptest, properties=(proptest,)),
        record("asserts-nothing", CLAMP.replace("clamp_percent", "clamp_quietly"),
               "#[test]\nfn runs() {\n    clamp_quietly(3);\n}"),
        record("unverified", NEEDS_MORE, standalone=False),
        record("copy-of-humaneval", HUMANEVAL_FN, "#[test]\nfn adds() {\n    assert_eq!(add_one(1), 2);\n}"),
        record("copy-of-holdout", "pub fn tripled(n: u64) -> u64 {\n    n * 3\n}\n",
               "#[test]\nfn triples() {\n    assert_eq!(tripled(2), 6);\n}"),
        record("curated-1", "pub fn halve(n: u32) -> u32 {\n    n / 2\n}\n",
               "#[test]\nfn halves() {\n    assert_eq!(halve(8), 4);\n}", source="curated"),
    ])
    write_jsonl(corpus / "holdout.jsonl", [record("h1", "pub fn tripled(n: u64) -> u64 { n * 3 }")])
    generated = tmp_path / "round-0.jsonl"
    selfgen = record("selfgen-r0-clamp", CLAMP, "#[test]\nfn s() { assert_eq!(clamp_percent(-1), 0); }",
                     source="self-generated")
    selfgen["metadata"].update(round=0, origin_id="clamp")
    write_jsonl(generated, [selfgen])
    out = tmp_path / "mix"
    messages = []

    report = mix(corpus, [generated], out, humaneval_file(tmp_path), messages.append)

    written = [json.loads(line)["id"] for line in (out / "train.jsonl").read_text().splitlines()]
    assert written == ["clamp", "curated-1", "props", "selfgen-r0-clamp"]
    assert {c["id"] for c in report.contaminated} == {"copy-of-humaneval", "copy-of-holdout"}
    assert report.remaining_overlap == 0 and "overlap in the files written, read back: 0" in messages[-1]
    assert report.counts["train"] == {"corpus (judge-verified standalone)": 2, "curated": 1,
                                      "self-generated round 0": 1}
    assert (report.proptest_samples, report.distinct_properties) == (1, 1)
    assert report.killed_none == {"train": {"corpus (judge-verified standalone)": 1}, "validation": {}}
    assert "**0** overlapping" in (out / "README.md").read_text()
    judged = len((out / "judged.jsonl").read_text().splitlines())
    mix(corpus, [generated], out, humaneval_file(tmp_path), messages.append)
    assert len((out / "judged.jsonl").read_text().splitlines()) == judged  # known verdicts are not judged again

    selfgen["metadata"]["origin_id"] = "h1"  # a holdout function: never a training function
    write_jsonl(generated, [selfgen])
    with pytest.raises(MixError, match="training split"):
        mix(corpus, [generated], out, None)


def test_evaluation_functions_are_the_test_and_holdout_focal_fns_and_every_humaneval_fn(corpus, tmp_path):
    write_jsonl(corpus / "test.jsonl", [record("t1", CLAMP)])
    found = evaluation_functions(corpus, humaneval_file(tmp_path))
    assert [(f.origin, f.code.startswith("fn add_one") or f.code == CLAMP) for f in found] == [
        ("corpus test t1", True), ("HumanEvalPack-Rust Rust/0", True)]
