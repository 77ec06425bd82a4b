"""Masking, template and generation agree: tiny-qwen2 trained on three samples writes their tests back exactly.

If the loss saw the prompt, if training and generation tokenised the prompt differently, or if the answer's end
token were not learnt, greedy decoding would not reproduce the tests (or would not stop after them).
"""
import json
import subprocess
import sys
from pathlib import Path

from rtg_core.generation import generate_tests
from rtg_core.model import load_for_inference

ROOT = Path(__file__).resolve().parents[1]
RTG_TRAIN = Path(sys.executable).with_name("rtg-train")


def test_three_samples_are_reproduced_exactly_by_greedy_decoding(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = (ROOT / "tests" / "fixtures" / "tiny_corpus" / "train.jsonl").read_text().splitlines()[:3]
    for split in ("train", "validation"):
        (corpus / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    output = tmp_path / "run"
    done = subprocess.run(
        [str(RTG_TRAIN), "--model", "tiny-qwen2", "--dataset", str(corpus), "--output", str(output), "--device", "cpu",
         "--max-steps", "60", "--batch-size", "3", "--set", "train.grad_accum=1", "--set", "optim.lr=1e-2",
         "--set", "optim.warmup_ratio=0.05", "--set", "data.proptest_share_min=0"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    model, tokenizer = load_for_inference(str(output / "tiny-qwen2"), output / "checkpoints" / "best", device="cpu")
    rows = [json.loads(line) for line in lines]
    generated = generate_tests(model, tokenizer, [r["input"] for r in rows], max_new_tokens=400)
    assert generated == [r["output"].strip() for r in rows]
