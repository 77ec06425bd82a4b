"""How many complete tests a reply holds if the token budget had cut it shorter: picks the budget by measurement.

    .venv/bin/python benchmarks/token_budget.py --replies DIR/model.jsonl [--model ID|DIR]

Reads recorded replies (benchmarks/ablation.py record, or an rtg-eval run's replay.jsonl), re-tokenises each, cuts
it at each budget and counts the test items a reply cut there yields (`read_reply`: salvage, the cut last test
closed, the certain repairs). Decoding time grows with the budget, nearly regardless of how many replies a batch
holds (on this CPU a step of the 0.5B costs about the same at batch 1 to 8); tests stop growing where replies end
their turn or fall into loops. Prints a table; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from rtg_core.base_models import DEFAULT_BASE_MODEL
from rtg_core.model import load_tokenizer, resolve_model
from rtg_core.test_repairs import read_reply

BUDGETS = (96, 128, 192, 256, 320, 384, 512)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=Path, required=True)
    parser.add_argument("--model", default=DEFAULT_BASE_MODEL)
    args = parser.parse_args()
    tokenizer = load_tokenizer(resolve_model(args.model, allow_download=False))
    rows = [json.loads(line) for line in args.replies.read_text().splitlines() if line.strip()]
    ids = [tokenizer(row["text"], add_special_tokens=False)["input_ids"] for row in rows]
    longest = max(len(i) for i in ids)
    print(f"{len(rows)} replies from {args.replies}; longest {longest} tokens; "
          f"{sum('<|im_end|>' in r['text'] for r in rows)} ended their turn")
    print(f"{'budget':>8}{'tests/reply':>13}{'replies with a test':>21}{'ended by then':>15}{'tokens decoded':>16}")
    for budget in (b for b in BUDGETS if b <= max(longest, BUDGETS[0])):
        tests, with_test, ended, decoded = [], 0, 0, 0
        for row_ids in ids:
            cut = tokenizer.decode(row_ids[:budget])
            count = sum(len(item.names) for item in read_reply(cut, "").items)
            tests.append(count)
            with_test += count > 0
            ended += "<|im_end|>" in cut
            decoded += min(len(row_ids), budget)
        print(f"{budget:>8}{statistics.mean(tests):>13.2f}{with_test:>15}/{len(ids):<5}{ended:>11}/{len(ids):<3}"
              f"{decoded:>16}")


if __name__ == "__main__":
    main()
