"""The training loss of an rtg-train experiment, from its TensorBoard log: every step, and whether it fell.

    .venv/bin/python benchmarks/loss_curve.py experiments/main-qwen2.5-coder-0.5b

Exit status 1 when the mean loss of the last quarter of the steps is not below that of the first quarter: a run
that did not learn is not reported as one that did.
"""
from __future__ import annotations

import sys
from pathlib import Path


def losses(experiment: Path, tag: str = "train/loss") -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = experiment / "runs"
    if not runs.is_dir():
        raise SystemExit(f"loss_curve: {runs}: no TensorBoard log (is {experiment} an rtg-train experiment?)")
    accumulator = EventAccumulator(str(runs))
    accumulator.Reload()
    if tag not in accumulator.Tags().get("scalars", []):
        raise SystemExit(f"loss_curve: {runs} has no {tag!r} scalars")
    by_step = {event.step: event.value for event in accumulator.Scalars(tag)}  # a resumed run rewrites its steps
    return sorted(by_step.items())


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    points = losses(Path(arguments[0]))
    top = max(loss for _, loss in points)
    for step, loss in points:
        print(f"step {step:>5}  loss {loss:7.4f}  {'#' * max(1, round(40 * loss / top))}")
    quarter = max(1, len(points) // 4)
    first = sum(loss for _, loss in points[:quarter]) / quarter
    last = sum(loss for _, loss in points[-quarter:]) / quarter
    fell = last < first
    print(f"mean loss, first {quarter} step(s) {first:.4f} -> last {quarter} step(s) {last:.4f}: "
          f"{'fell' if fell else 'did NOT fall'} ({(last - first) / first:+.1%})")
    return 0 if fell else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
