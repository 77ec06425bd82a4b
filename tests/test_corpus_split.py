"""Splitting by crate, the holdout's make-up, the training mix weights, and deduplication."""
from rtg_corpus.filters import TokenCounter, deduplicate, near_duplicates_across
from rtg_corpus.split import HOLDOUT_CATEGORIES, EvalSets, group_of, mix_weights, split, split_keeping


def _sample(crate: str, n: int, category: str, standalone: bool, source: str = "debian", prop: bool = False):
    return {"id": f"{crate}/{n}", "property_tests": ["proptest! {}"] if prop else [],
            "metadata": {"crate": crate, "category": category, "standalone": standalone, "source": source}}


def _corpus():
    samples = []
    for c in range(120):
        category = HOLDOUT_CATEGORIES[c % 4] if c % 5 else "other"
        samples += [_sample(f"crate{c:03d}", i, category, standalone=(i % 2 == 0), prop=(i == 0))
                    for i in range(1 + c % 7)]
    samples += [_sample(f"rtg-curated/a{i}", 0, "async", True, source="curated") for i in range(30)]
    return sorted(samples, key=lambda s: s["id"])


def test_no_group_in_two_splits_and_holdout_crates_only_in_holdout():
    result = split(_corpus(), seed=42)
    owner = {}
    for name, samples in result.items():
        for sample in samples:
            assert owner.setdefault(group_of(sample), name) == name
    train_crates = {s["metadata"]["crate"] for s in result.train}
    assert not train_crates & set(result.holdout_crates)


def test_holdout_is_standalone_and_per_category():
    result = split(_corpus(), seed=42)
    assert all(s["metadata"]["standalone"] for s in result.holdout)
    counts = {c: sum(s["metadata"]["category"] == c for s in result.holdout) for c in HOLDOUT_CATEGORIES}
    assert counts == {c: 25 for c in HOLDOUT_CATEGORIES}


def test_curated_fill_the_holdout_only_where_mined_crates_fall_short():
    samples = [s for s in _corpus() if s["metadata"]["category"] != "async" or s["metadata"]["source"] == "curated"]
    result = split(samples, seed=42)
    holdout_async = [s for s in result.holdout if s["metadata"]["category"] == "async"]
    assert len(holdout_async) == 25 and all(s["metadata"]["source"] == "curated" for s in holdout_async)
    used = {s["id"] for s in holdout_async}
    curated_in_train = {s["id"] for s in result.train if s["metadata"]["source"] == "curated"}
    assert curated_in_train and not used & curated_in_train


def test_train_over_its_target_keeps_standalone_and_curated_samples():
    samples = [_sample(f"c{i:05d}", 0, "other", standalone=(i % 10 == 0)) for i in range(12000)]
    samples += [_sample(f"rtg-curated/a{i}", 0, "async", True, source="curated") for i in range(5)]
    result = split(sorted(samples, key=lambda s: s["id"]), seed=1)
    assert len(result.train) == 8000
    standalone_outside = sum(s["metadata"]["standalone"] for _, part in result.items() for s in part
                             if part is not result.train)
    assert sum(s["metadata"]["standalone"] for s in result.train) == 1205 - standalone_outside
    assert result.unused["train over its target size"] == 12005 - 8000 - sum(
        len(part) for name, part in result.items() if name != "train")


def test_split_is_deterministic_per_seed():
    ids = lambda r: [[s["id"] for s in samples] for _, samples in r.items()]
    assert ids(split(_corpus(), seed=7)) == ids(split(_corpus(), seed=7))
    assert ids(split(_corpus(), seed=7)) != ids(split(_corpus(), seed=8))


def test_held_out_sets_survive_a_changed_corpus_and_seed():
    """More standalone samples change what a fresh split holds out; the sets of the earlier split do not move,
    and every other sample, the other fns of holdout crates aside, trains."""
    earlier = split(_corpus(), seed=42)
    widened = [dict(s, metadata=dict(s["metadata"], standalone=True)) for s in _corpus()]
    assert split(widened, seed=8).holdout != earlier.holdout
    kept = split_keeping(widened, EvalSets.of(earlier), seed=8)
    ids = lambda samples: [s["id"] for s in samples]
    for name in ("validation", "test", "holdout"):
        assert ids(getattr(kept, name)) == ids(getattr(earlier, name)), name
    assert kept.holdout_crates == earlier.holdout_crates
    held = {s["id"] for name, part in kept.items() if name != "train" for s in part}
    other_holdout_fns = [s for s in widened if group_of(s) in earlier.holdout_crates and s["id"] not in held]
    assert kept.unused == {"other fns of holdout crates": len(other_holdout_fns)}
    assert len(kept.train) == len(widened) - len(held) - len(other_holdout_fns)


def test_mix_weights_reach_the_property_target():
    train = [_sample("c", i, "other", False, prop=(i < 10)) for i in range(100)]
    weights = mix_weights(train, target=0.25)
    share = 10 * weights["property_weight"] / (10 * weights["property_weight"] + 90)
    assert weights["property_natural_share"] == 0.1 and abs(share - 0.25) < 1e-3


def test_exact_and_near_duplicates():
    a = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
    a_reformatted = "pub fn add(a: i32, b: i32) -> i32 { a + b } // same tokens"
    long = "pub fn total(xs: &[u64]) -> u64 {\n" + "".join(f"    let v{i} = xs[{i}] * {i};\n" for i in range(30)) + "    0\n}\n"
    near = long.replace("let v29 = xs[29] * 29;", "let v29 = xs[29] * 30;")
    other = "pub fn shout(s: &str) -> String { s.to_uppercase() }"
    result = deduplicate([a, a_reformatted, long, near, other])
    assert result.kept == [0, 2, 4] and result.exact == {1: 0} and result.near == {3: 2}
    assert near_duplicates_across([long, other], [near]) == [(0, 0)]


def test_the_token_budget_counts_with_the_real_models_tokenizer():
    from rtg_core.base_models import DEFAULT_BASE_MODEL
    from rtg_core.model import load_tokenizer, resolve_model
    from rtg_core.prompt import answer, chat_prompt

    counter = TokenCounter(DEFAULT_BASE_MODEL)
    tokenizer = load_tokenizer(resolve_model(DEFAULT_BASE_MODEL, allow_download=False))
    code, tests = "fn f() {}", "#[test] fn t() { assert_eq!(f(), ()); }"
    expected = len(tokenizer(chat_prompt(code) + answer(tests), add_special_tokens=False)["input_ids"])
    assert counter.method == f"tokenizer:{DEFAULT_BASE_MODEL}" and counter.count(code, tests) == expected
    assert counter.count(code, tests + " // more") > expected
