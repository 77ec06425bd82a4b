"""Do long prompts do better shortened at generation time, the way training shortens a long sample
(`rtg_core.context.shorter_views`: the context's comments left out, then its fn bodies elided)?

    .venv/bin/python benchmarks/prompt_shortening.py --adapter DIR --test-set data/corpus/holdout.jsonl \\
        --recorded eval_results/shipped-vs-base/holdout/n=1/adapter --out eval_results/prompt-shortening

`--recorded` is an `rtg-eval` run of that adapter (a published folder, with its training_config.yaml) on that set,
greedy, n = 1, no loops, on the CPU: its replies to the whole prompts. A function whose prompt leaves fewer than the
run's max_new_tokens of the adapter's training length (data.max_seq_length) is asked again, on the same base model
with the same settings, with the first shorter view that leaves them, else the shortest. Its new reply replaces
its recorded one in a replay of the run, which `rtg-eval --backend replay` judges against the whole code as before;
prints compile and pass, recorded vs shortened, for those functions and the set. The other functions' replies are
the recorded ones, so only the shortened prompts differ. A finished OUT/judged run is read, not generated and
judged again.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

from rtg_core.backends import LocalBackend, ReplayRecord, prompt_sha256, read_replay
from rtg_core.context import shorter_views
from rtg_core.model import load_tokenizer, resolve_model
from rtg_core.prompt import chat_prompt

ROOT = Path(__file__).resolve().parents[1]


def shortened_prompts(records: list[dict], count_tokens, budget: int) -> dict[str, tuple[str, str]]:
    """{whole prompt: (what was left out, the shorter prompt)} for the records whose whole prompt passes `budget`."""
    chosen = {}
    for record in records:
        whole = chat_prompt(record["input"])
        if count_tokens(whole) <= budget:
            continue
        views = [(kind, chat_prompt(view)) for kind, view in shorter_views(record["input"], record["function_code"])]
        if views:
            chosen[whole] = next(((k, p) for k, p in views if count_tokens(p) <= budget), views[-1])
    return chosen


def rates(verdicts: dict[str, dict], ids: list[str]) -> str:
    """As rtg-eval's compile and pass rates count them: a reply with no test in it compiles nothing."""
    compiled = sum(verdicts[i]["compiles"] and bool(verdicts[i]["tests_total"]) for i in ids)
    passed = sum(verdicts[i]["passes"] for i in ids)
    return f"compile {compiled}/{len(ids)}, pass {passed}/{len(ids)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter", type=Path, required=True)
    parser.add_argument("--test-set", type=Path, required=True)
    parser.add_argument("--recorded", type=Path, required=True, metavar="RTG_EVAL_OUT")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    for needed, what in ((args.recorded / "metrics.json", "an rtg-eval output directory (--recorded)"),
                         (args.recorded / "replay.jsonl", "an rtg-eval output directory (--recorded)"),
                         (args.adapter / "training_config.yaml",
                          "a published adapter folder (rtg-train publish EXPERIMENT --prepare-only)"),
                         (args.test_set, "the test set (--test-set)")):
        if not needed.is_file():
            raise SystemExit(f"prompt_shortening: {needed} is missing: expected {what}")
    recorded = json.loads((args.recorded / "metrics.json").read_text())
    settings, model = recorded["settings"], recorded["model"]
    if (settings["candidates"], settings["repair"], settings["kill_survivors"], settings["limit"]) != (1, 0, 0, None) \
            or model["backend"].get("device") != "cpu":
        raise SystemExit("prompt_shortening: --recorded must be a greedy n = 1 run of the whole set on the CPU, "
                         "without --repair or --kill-survivors")
    max_new_tokens, base_model = settings["max_new_tokens"], model["base_model"]
    config = yaml.safe_load((args.adapter / "training_config.yaml").read_text())
    budget = config["data"]["max_seq_length"] - max_new_tokens
    records = [json.loads(line) for line in args.test_set.read_text(encoding="utf-8").splitlines() if line.strip()]
    tokenizer = load_tokenizer(resolve_model(base_model, allow_download=False))
    chosen = shortened_prompts(records, lambda text: len(tokenizer(text)["input_ids"]), budget)
    kinds = [kind for kind, _ in chosen.values()]
    print(f"{len(chosen)} of {len(records)} prompts pass {budget} tokens and have a shorter view: "
          f"{kinds.count('comments')} without comments, {kinds.count('fn bodies')} without fn bodies", file=sys.stderr)

    wholes, judged = list(chosen), args.out / "judged"
    if not (judged / "metrics.json").is_file():  # a finished run is read, not generated and judged again
        backend = LocalBackend(base_model, adapter=args.adapter, device="cpu", load_in_4bit=False)
        replies = backend.complete([chosen[w][1] for w in wholes], max_new_tokens)
        new = {prompt_sha256(w): ReplayRecord(prompt_sha256(w), c.text, c.seconds, c.new_tokens)
               for w, c in zip(wholes, replies)}  # greedy, one copy: the records of an n = 1 run
        records_out = [new.get(r.prompt_sha256, r) for r in read_replay(args.recorded / "replay.jsonl")]
        args.out.mkdir(parents=True, exist_ok=True)
        replay = args.out / "replay.jsonl"
        replay.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records_out))
        command = [str(ROOT / ".venv" / "bin" / "rtg-eval"), "--adapter", str(args.adapter), "--test-set",
                   str(args.test_set), "--output", str(judged), "--candidates", "1", "--max-new-tokens",
                   str(max_new_tokens), "--no-gates", "--no-verdict", "--backend", "replay", "--replay", str(replay)]
        command += [] if settings["salvage"] else ["--no-salvage"]
        command += [] if settings["repairs"] else ["--no-repairs"]
        done = subprocess.run(command, cwd=ROOT, stdout=sys.stderr)
        if done.returncode not in (0, 4):  # 4: a gate failed, which is reported, not enforced
            raise SystemExit(f"prompt_shortening: rtg-eval exited {done.returncode} judging {replay} (its log above)")

    def verdicts(run: Path) -> dict[str, dict]:
        return {v["id"]: v for v in map(json.loads, (run / "samples.jsonl").read_text().splitlines())}

    before, after = verdicts(args.recorded), verdicts(judged)
    ids_of = {chat_prompt(r["input"]): str(r["id"]) for r in records}
    shortened = [ids_of[w] for w in wholes]
    everything = [str(r["id"]) for r in records]
    print("| functions | n | recorded (whole prompts) | shortened prompts |\n| --- | --- | --- | --- |")
    print(f"| prompts over {budget} tokens, shortened | {len(shortened)} | {rates(before, shortened)} | "
          f"{rates(after, shortened)} |")
    print(f"| all | {len(everything)} | {rates(before, everything)} | {rates(after, everything)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
