import math
from collections import Counter

import pytest

from rtg_eval.similarity import CodeBleu, bleu4, codebleu, dataflow_edges, rust_tokens

STACK_TEST = """\
#[test]
fn pushes_then_pops() {
    let mut stack = Vec::new();
    stack.push(41);
    let top = stack.pop().unwrap() + 1;
    assert_eq!(top, 42);
}
"""

CONFIG_IMPL = """\
struct Config { verbose: bool }
impl Default for Config {
    fn default() -> Self { Config { verbose: false } }
}
"""


# --- tokens -------------------------------------------------------------------------------------------------


def test_tokens_of_a_small_snippet_are_leaf_texts_without_comments_and_with_whole_literals():
    code = 'fn t() { let s = "a b"; // note\n let c = \'x\'; /* gone */ f(r"q", 1.5); }'
    assert rust_tokens(code) == [
        "fn", "t", "(", ")", "{",
        "let", "s", "=", '"a b"', ";",
        "let", "c", "=", "'x'", ";",
        "f", "(", 'r"q"', ",", "1.5", ")", ";",
        "}",
    ]


def test_code_that_does_not_parse_is_still_tokenised_completely():
    code = "fn t( { let x = ; assert!(x"
    assert "".join(rust_tokens(code)) == code.replace(" ", "")


# --- BLEU-4 -------------------------------------------------------------------------------------------------


def test_bleu4_of_identical_code_is_one():
    assert bleu4([STACK_TEST], [STACK_TEST]) == 1.0


def test_bleu4_matches_the_hand_computed_value():
    # hypothesis  let y = 1 ;   reference  let x = 1 ;   (5 tokens each, so brevity penalty 1)
    # p1 = 4/5                      let, =, 1, ; match
    # p2 = (2 + 1) / (4 + 1) = 3/5  "= 1", "1 ;" match of 4 bigrams, add-one
    # p3 = (1 + 1) / (3 + 1) = 1/2  "= 1 ;" matches of 3 trigrams
    # p4 = (0 + 1) / (2 + 1) = 1/3  no 4-gram matches of 2
    # BLEU = (4/5 * 3/5 * 1/2 * 1/3) ** (1/4) = 0.08 ** 0.25 ≈ 0.5318
    expected = (4 / 5 * 3 / 5 * 1 / 2 * 1 / 3) ** 0.25
    assert bleu4(["let y = 1;"], ["let x = 1;"]) == pytest.approx(expected, rel=1e-12)


def test_bleu4_brevity_penalty_uses_corpus_lengths():
    # every n-gram of the 5-token hypothesis is in the 10-token reference: p1 = 5/5, p2..p4 = (k + 1)/(k + 1) = 1
    # brevity penalty exp(1 - 10/5) = e^-1
    assert bleu4(["let x = 1;"], ["let x = 1; let y = 2;"]) == pytest.approx(math.exp(-1), rel=1e-12)


def test_bleu4_of_a_hypothesis_shorter_than_four_tokens_is_not_zero():
    assert bleu4(["x;"], ["x;"]) == 1.0


def test_bleu4_without_a_single_shared_token_is_zero():
    assert bleu4(["a"], ["b"]) == 0.0


def test_bleu4_needs_one_reference_per_hypothesis():
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        bleu4(["a", "b"], ["a"])


# --- CodeBLEU -----------------------------------------------------------------------------------------------


def test_codebleu_of_identical_code_is_one_in_every_component():
    assert codebleu([STACK_TEST], [STACK_TEST]) == CodeBleu(
        ngram=1.0, weighted_ngram=1.0, syntax_match=1.0, dataflow_match=1.0, score=1.0
    )


def test_totally_different_code_scores_low():
    result = codebleu([CONFIG_IMPL], [STACK_TEST])
    assert result.ngram < 0.1
    assert result.weighted_ngram < 0.1
    assert result.syntax_match < 0.3
    assert result.dataflow_match == 0.0
    assert result.score < 0.15


def test_consistent_renaming_keeps_data_flow_and_syntax_but_lowers_ngram():
    renamed = STACK_TEST.replace("stack", "queue").replace("top", "front")
    result = codebleu([renamed], [STACK_TEST])
    assert result.dataflow_match == 1.0
    assert result.syntax_match == 1.0
    assert result.ngram < 0.8
    assert result.score < 1.0


def test_changed_data_flow_lowers_dataflow_match():
    reference = "fn t() { let b = a + 1; assert_eq!(f(b), 2); }"
    hypothesis = "fn t() { let b = 1; assert_eq!(f(a), 2); }"
    assert codebleu([hypothesis], [reference]).dataflow_match < 1.0


def test_a_let_only_reference_has_data_flow_edges():
    # Regression: the codebleu package has no Rust `let`, finds no edges here and scores the component as 1.
    reference = "let a = 1; let b = a + 1;"
    assert sum(dataflow_edges(reference).values()) > 0
    assert codebleu(["let a = 1; let b = 2;"], [reference]).dataflow_match < 1.0


def test_a_reference_without_variables_has_no_dataflow_and_scores_the_mean_of_the_rest():
    result = codebleu(["fn t() { assert_eq!(f(1), 3); }"], ["fn t() { assert_eq!(f(1), 2); }"])
    assert result.dataflow_match is None
    assert result.score == pytest.approx((result.ngram + result.weighted_ngram + result.syntax_match) / 3)
    assert result.score < 1.0


def test_a_keyword_mismatch_costs_more_than_an_identifier_mismatch_in_weighted_ngram():
    reference = "let mut a = b;"
    keyword_changed = "let ref a = b;"  # same length, one token changed, same n-gram overlap as below
    identifier_changed = "let mut a = c;"
    assert bleu4([keyword_changed], [reference]) == bleu4([identifier_changed], [reference])
    keyword_result = codebleu([keyword_changed], [reference])
    identifier_result = codebleu([identifier_changed], [reference])
    assert keyword_result.weighted_ngram < identifier_result.weighted_ngram


def test_codebleu_is_corpus_level():
    pairs = [(STACK_TEST, STACK_TEST), (CONFIG_IMPL, STACK_TEST)]
    whole = codebleu([h for h, _ in pairs], [r for _, r in pairs])
    singles = [codebleu([h], [r]) for h, r in pairs]
    # syntax match pools subtree counts; with equal references that is the mean of the two
    assert whole.syntax_match == pytest.approx(sum(s.syntax_match for s in singles) / 2)
    assert singles[1].score < whole.score < singles[0].score


# --- data-flow edges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "edges"),
    [
        pytest.param(
            "fn t(c: u8) { let (mut a, b) = (c, 2); a += b; }",
            [
                ("var_0", "comesFrom", ()),  # parameter c
                ("var_0", "comesFrom", ("var_0",)),  # c read in the tuple
                ("var_1", "computedFrom", ("var_0",)),  # mut a <- (c, 2)
                ("var_2", "computedFrom", ("var_0",)),  # b <- (c, 2)
                ("var_2", "comesFrom", ("var_2",)),  # b read
                ("var_1", "comesFrom", ("var_1",)),  # a += reads the old a
                ("var_1", "computedFrom", ("var_2",)),  # ... and b
            ],
            id="parameter-tuple-let-compound-assignment",
        ),
        pytest.param(
            "fn t() { let v = [1, 2]; let mut s = 0; for x in v { s = s + x; } let f = |k| k * s; }",
            [
                ("var_0", "computedFrom", ()),  # let v
                ("var_1", "computedFrom", ()),  # let mut s
                ("var_0", "comesFrom", ("var_0",)),  # v iterated
                ("var_2", "computedFrom", ("var_0",)),  # for x in v
                ("var_1", "comesFrom", ("var_1", "var_1")),  # s read in the loop: initial or previous iteration
                ("var_2", "comesFrom", ("var_2",)),  # x read
                ("var_1", "computedFrom", ("var_1", "var_2")),  # s = s + x
                ("var_4", "comesFrom", ()),  # closure parameter k
                ("var_4", "comesFrom", ("var_4",)),  # k read
                ("var_1", "comesFrom", ("var_1", "var_1")),  # s captured: the loop may have run or not
                ("var_3", "computedFrom", ("var_1",)),  # f <- captured s
            ],
            id="for-loop-closure",
        ),
        pytest.param(
            "fn t(o: Option<u8>) { let n = match o { Some(v) => v, None => 0 }; let n = n + 1; }",
            [
                ("var_0", "comesFrom", ()),  # parameter o
                ("var_0", "comesFrom", ("var_0",)),  # o matched
                ("var_2", "computedFrom", ("var_0",)),  # Some(v) binds v from o; Some and None are not variables
                ("var_2", "comesFrom", ("var_2",)),  # v read
                ("var_1", "computedFrom", ("var_0", "var_2")),  # n <- match o { .. v .. }
                ("var_1", "comesFrom", ("var_1",)),  # n read
                ("var_1", "computedFrom", ("var_1",)),  # shadowing n <- n + 1
            ],
            id="match-shadowing",
        ),
    ],
)
def test_data_flow_edges(code, edges):
    assert dataflow_edges(code) == Counter(edges)
