"""Train tiny-qwen2 until it answers given functions with given tests: real generation with known output."""
import json
import subprocess
import sys
from pathlib import Path

RTG_TRAIN = Path(sys.executable).with_name("rtg-train")


def train_memorising_model(work: Path, rows: list[dict]) -> Path:
    """The experiment dir (`tiny-qwen2/` base, `checkpoints/best` adapter) of a model that memorised `rows`."""
    corpus = work / "corpus"
    corpus.mkdir()
    for split in ("train", "validation"):
        (corpus / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = work / "run"
    done = subprocess.run(
        [str(RTG_TRAIN), "--model", "tiny-qwen2", "--dataset", str(corpus), "--output", str(run), "--device", "cpu",
         "--max-steps", "60", "--batch-size", str(len(rows)), "--set", "train.grad_accum=1", "--set", "optim.lr=1e-2",
         "--set", "optim.warmup_ratio=0.05", "--set", "data.proptest_share_min=0"],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return run
