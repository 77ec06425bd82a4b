"""rtg_train's pieces on their own: config, data (masking, length rule, mix, order), schedule, loss, counts."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from transformers import Qwen2Config

from rtg_core.context import shorter_views
from rtg_core.prompt import answer, chat_prompt
from rtg_core.tiny_qwen2 import train_tokenizer
from rtg_train import checkpoint as ckpt
from rtg_train.config import LORA_TARGETS, ConfigError, TrainConfig, check_config, load_config
from rtg_train.data import IGNORE, DataOrder, Sample, load_corpus, plan_mix, tokenize, total_steps
from rtg_train.recipe import _FrozenHeadCrossEntropy, jidoka_reason, lora_parameter_count, lr_factor

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "tiny_corpus"
EXAMPLE_CONFIG = ROOT / "training" / "configs" / "qlora-qwen2.5-coder-0.5b.yaml"


# --- config -----------------------------------------------------------------------------------------------------

def test_defaults_are_the_issues_recipe():
    c = TrainConfig()
    assert (c.model.name, c.model.load_in_4bit, c.model.compute_dtype, c.model.gradient_checkpointing) == \
        ("Qwen/Qwen2.5-Coder-0.5B-Instruct", True, "bfloat16", True)
    assert (c.lora.rank, c.lora.alpha, c.lora.dropout, c.lora.targets) == (16, 32, 0.05, LORA_TARGETS)
    o = c.optim
    assert (o.lr, o.betas, o.weight_decay, o.warmup_ratio, o.min_lr_ratio, o.max_grad_norm) == \
        (2e-4, (0.9, 0.999), 0.01, 0.03, 0.1, 1.0)
    t = c.train
    assert (t.epochs, t.batch_size, t.grad_accum, t.save_steps, t.save_total_limit) == (3, 4, 4, 500, 3)
    assert (c.seed, c.data.max_seq_length, c.data.proptest_share_min, c.data.proptest_share_max) == \
        (42, 1024, 0.20, 0.25)


def test_the_example_config_spells_out_the_defaults_and_starts_with_its_command():
    assert "rtg-train --config training/configs/qlora-qwen2.5-coder-0.5b.yaml" in EXAMPLE_CONFIG.read_text()[:400]
    assert load_config(EXAMPLE_CONFIG).to_dict() == TrainConfig().to_dict()


def test_overrides_win_over_the_file_and_types_are_checked(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"lora": {"rank": 8}, "optim": {"lr": "1e-3"}}))  # YAML 1.1 reads 1e-3 as text
    c = load_config(path, {"lora.rank": 4, "seed": 7})
    assert (c.lora.rank, c.optim.lr, c.seed) == (4, 1e-3, 7)
    with pytest.raises(ConfigError, match="lora.rank: expected an integer"):
        load_config(None, {"lora.rank": "big"})


def test_an_unknown_key_is_named_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown config key optim.learning_rate; known keys here: lr, betas"):
        load_config(None, {"optim.learning_rate": 1e-4})


def test_fp16_fails_early_and_says_the_fix():
    with pytest.raises(ConfigError, match="fp16 is not supported here.*use bfloat16 or float32"):
        check_config(load_config(None, {"model.compute_dtype": "float16"}))


def test_the_config_hash_ignores_where_the_run_is_written():
    assert load_config(None, {"output": "a"}).hash() == load_config(None, {"output": "b"}).hash()
    assert load_config(None, {"seed": 1}).hash() != load_config(None, {"seed": 2}).hash()


# --- data -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer():
    corpus = load_corpus(str(CORPUS))
    return train_tokenizer([chat_prompt(s.code) + answer(s.tests) for s in corpus.train])


def test_the_loss_sees_the_answer_and_nothing_of_the_prompt(tokenizer):
    sample = load_corpus(str(CORPUS)).train[0]
    tokenized = tokenize([sample], tokenizer, 1024)
    (example,) = tokenized.examples
    prompt = tokenizer(chat_prompt(sample.code), add_special_tokens=False)["input_ids"]
    assert tokenized.dropped == [] and list(example.input_ids[:len(prompt)]) == prompt
    assert set(example.labels[:len(prompt)]) == {IGNORE}
    trained = [t for t in example.labels if t != IGNORE]
    assert tokenizer.decode(trained) == answer(sample.tests)  # the tests and <|im_end|>, exactly
    assert example.target_tokens == len(trained)


def test_samples_over_the_length_budget_are_dropped_whole_and_counted(tokenizer):
    samples = load_corpus(str(CORPUS)).train
    lengths = [len(e.input_ids) for e in tokenize(samples, tokenizer, 10_000).examples]
    budget = sorted(lengths)[len(lengths) // 2]
    tokenized = tokenize(samples, tokenizer, budget)
    kept, dropped = tokenized.examples, tokenized.dropped
    assert len(kept) + len(dropped) == len(samples) and dropped and tokenized.shortened == []
    assert all(len(e.input_ids) <= budget for e in kept) and all(n > budget for _, n in dropped)


def test_a_sample_over_the_budget_trains_on_the_first_shorter_view_that_fits(tokenizer):
    helper = ("/// Doubles.\n/// Twice the value, as documented at length.\npub fn double(x: u32) -> u32 {\n"
              "    let twice = x.checked_mul(2);\n    twice.expect(\"no overflow\")\n}\n")
    focal = "/// Four times.\npub fn quadruple(x: u32) -> u32 {\n    double(double(x))\n}"
    sample = Sample("q", helper + "\n" + focal + "\n", "#[test]\nfn four() {\n    assert_eq!(quadruple(1), 4);\n}",
                    False, focal)
    (_, uncommented), _ = shorter_views(sample.code, focal)
    fits = len(tokenizer(chat_prompt(uncommented) + answer(sample.tests), add_special_tokens=False)["input_ids"])
    assert len(tokenizer(chat_prompt(sample.code) + answer(sample.tests), add_special_tokens=False)["input_ids"]) > fits
    kept = tokenize([sample], tokenizer, fits, shorten=True)
    assert kept.shortened == [("q", "comments")] and kept.dropped == []
    prompt = tokenizer(chat_prompt(uncommented), add_special_tokens=False)["input_ids"]
    assert list(kept.examples[0].input_ids[:len(prompt)]) == prompt and "/// Four times." in uncommented
    whole = len(tokenize([sample], tokenizer, 10_000).examples[0].input_ids)
    assert tokenize([sample], tokenizer, fits).dropped == [("q", whole)]  # shortening is opt-in
    (_, elided), = [v for v in shorter_views(sample.code, focal) if v[0] == "fn bodies"]
    shortest = len(tokenizer(chat_prompt(elided) + answer(sample.tests), add_special_tokens=False)["input_ids"])
    assert tokenize([sample], tokenizer, fits - 1, shorten=True).shortened == [("q", "fn bodies")]
    assert tokenize([sample], tokenizer, shortest - 1, shorten=True).dropped == [("q", shortest)]
    unknown = Sample("u", sample.code, sample.tests, False)  # no function_code: nothing to keep whole
    assert [i for i, _ in tokenize([unknown], tokenizer, fits, shorten=True).dropped] == ["u"]


def test_the_proptest_share_is_weighted_into_range_only_when_outside_it():
    flags = [True] * 2 + [False] * 10  # 16.7 %
    mix, weights = plan_mix(flags, 0.20, 0.25)
    assert mix.weighted and sum(w for w, p in zip(weights, flags) if p) == pytest.approx(0.225)
    order = DataOrder(weights, True, seed=1, samples_per_step=12)
    drawn = [i for epoch in range(400) for i in order.epoch(epoch)]
    assert 0.20 <= sum(flags[i] for i in drawn) / len(drawn) <= 0.25
    assert not plan_mix([True] * 2 + [False] * 6, 0.20, 0.25)[0].weighted  # 25 %: left alone


def test_the_data_order_is_a_pure_function_of_seed_and_step():
    weights = [1.0] * 12
    a, b = DataOrder(weights, False, 42, 4), DataOrder(weights, False, 42, 4)
    steps = [a.step(k) for k in range(9)]
    assert [b.step(k) for k in reversed(range(9))] == steps[::-1]  # any order of asking, same answers
    assert sorted(i for k in range(3) for i in steps[k]) == list(range(12))  # an epoch is a permutation
    assert steps[:3] != steps[3:6]  # and each epoch another one
    assert DataOrder(weights, False, 43, 4).step(0) != steps[0]


def test_steps_come_from_epochs_unless_max_steps_is_set():
    assert total_steps(100, 16, 3, None) == 19
    assert total_steps(100, 16, 3, 5) == 5


# --- schedule, loss, Jidoka -------------------------------------------------------------------------------------

def test_the_schedule_warms_up_then_decays_to_the_floor():
    factors = [lr_factor(s, 3, 100, 0.1) for s in range(100)]
    assert factors[:3] == [0.25, 0.5, 0.75] and factors[3] == 1.0
    assert factors == sorted(factors[:4]) + sorted(factors[4:], reverse=True)
    assert lr_factor(100, 3, 100, 0.1) == pytest.approx(0.1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_chunked_frozen_head_loss_equals_autograd(monkeypatch, dtype):
    from rtg_train import recipe

    monkeypatch.setattr(recipe, "LOSS_CHUNK_TOKENS", 3)
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(10, 8, generator=generator, dtype=dtype, requires_grad=True)
    weight, targets = torch.randn(50, 8, generator=generator, dtype=dtype), torch.randint(0, 50, (10,))
    ours = _FrozenHeadCrossEntropy.apply(hidden, weight, targets, True)
    (ours * 2).backward()
    our_grad, hidden.grad = hidden.grad, None
    reference = F.cross_entropy((hidden @ weight.T).float(), targets, reduction="sum")
    (reference * 2).backward()
    assert ours.item() == pytest.approx(reference.item(), rel=1e-5)
    assert torch.allclose(our_grad.float(), hidden.grad.float(), atol=1e-5)


def test_jidoka_stops_on_nan_inf_and_spikes_only():
    assert "non-finite loss" in jidoka_reason([1.0], float("nan"), 1.0, 3.0, 1)
    assert "non-finite gradient norm" in jidoka_reason([1.0], 1.0, float("inf"), 3.0, 1)
    assert "spike_factor" in jidoka_reason([1.0, 1.0], 3.5, 1.0, 3.0, 2)
    assert jidoka_reason([1.0], 3.5, 1.0, 3.0, 2) is None  # the window is not full yet
    assert jidoka_reason([1.0, 1.0], 2.9, 1.0, 3.0, 2) is None


# --- LoRA's size ------------------------------------------------------------------------------------------------

def test_lora_r16_on_qwen2_5_coder_0_5b_trains_8_798_208_parameters():
    real = Qwen2Config(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                       head_dim=64, intermediate_size=4864)
    assert lora_parameter_count(real, 16, LORA_TARGETS) == 8_798_208


# --- checkpoints ------------------------------------------------------------------------------------------------

def test_a_run_killed_between_the_two_renames_gets_its_checkpoint_back(tmp_path):
    root = tmp_path / "checkpoints"
    (root / ".old-best-123").mkdir(parents=True)
    (root / ".tmp-step-8-123").mkdir()
    (root / "step-4").mkdir()
    (root / "step-4" / ckpt.STATE).write_text("{}")
    ckpt.clean_partial(tmp_path)
    assert sorted(p.name for p in root.iterdir()) == ["best", "step-4"]
    assert ckpt.latest_checkpoint(tmp_path) == root / "step-4"


def test_a_sample_is_proptest_by_its_test_kinds():
    from rtg_train.data import sample_from_record

    record = {"id": "x", "input": "fn f() {}", "output": "#[test] fn t() {}"}
    assert sample_from_record({**record, "metadata": {"test_kinds": ["unit", "proptest"]}}) == \
        Sample("x", "fn f() {}", "#[test] fn t() {}", True)
    assert not sample_from_record(record).is_proptest


def test_a_few_properties_are_not_repeated_past_the_cap_to_reach_the_share():
    flags = [True] * 2 + [False] * 98  # 2 %: 22.5 % would draw each property about 11 times an epoch
    mix, weights = plan_mix(flags, 0.20, 0.25, max_repeats=4.0)
    assert mix.weighted and mix.expected_share == pytest.approx(0.08)  # 4 draws x 2 properties of 100
    assert sum(w for w, p in zip(weights, flags) if p) == pytest.approx(0.08)
    assert plan_mix(flags, 0.20, 0.25)[0].expected_share == pytest.approx(0.225)  # uncapped: the old behaviour
