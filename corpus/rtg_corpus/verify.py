"""Standalone verification: every candidate built and run by the judge in a scratch crate, as `input` and a
`mod tests { use super::*; <output> }`. The verdict is kept on the sample; `standalone` is true only when the
pair builds and every test passes.

A batch in which many pairs "compile" yet announce no test at all has not been judged (its test binary did not
run: seen once while other judge runs shared the cache); it is judged again, and a run that stays broken stops
the build rather than write wrong verdicts.
"""
from __future__ import annotations

from collections.abc import Callable

from rtg_eval.judge import JudgeConfig, judge_samples
from rtg_eval.samples import JudgeSample

VERIFY_CONFIG = JudgeConfig(mutation=False, coverage=False, test_timeout=30.0)
BATCH_ATTEMPTS = 3
# A healthy batch of 200 has a handful of pairs whose tests are all cfg'd out; a broken one has most of them.
MAX_SILENT_SHARE = 0.1
MIN_SILENT_ALARM = 10


class VerifyError(RuntimeError):
    pass


def verify(pairs: list[tuple[str, str, str]], config: JudgeConfig = VERIFY_CONFIG,
           progress: Callable[[int], None] | None = None, judge=judge_samples) -> dict[str, dict]:
    """(id, input, output) -> {id: verdict}; verdict = compiles, passes, tests_total, tests_passed, timed_out."""
    verdicts: dict[str, dict] = {}
    for start in range(0, len(pairs), config.batch_size):
        chunk = pairs[start:start + config.batch_size]
        samples = [JudgeSample(id=i, code=code, tests=tests) for i, code, tests in chunk]
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            results, _ = judge(samples, config)
            silent = sum(1 for r in results if r.compiles and not r.tests_total)
            if silent < max(MIN_SILENT_ALARM, MAX_SILENT_SHARE * len(results)):
                break
            if attempt == BATCH_ATTEMPTS:
                raise VerifyError(f"the judge ran no test for {silent} of {len(results)} compiled pairs in batch "
                                  f"{start // config.batch_size + 1}, {BATCH_ATTEMPTS} times; is another job "
                                  "clearing the rtg cache (RTG_CACHE_DIR)?")
        for result in results:
            verdicts[result.id] = {
                "compiles": result.compiles,
                "passes": result.passes,
                "tests_passed": result.tests_passed,
                "tests_total": result.tests_total,
                "timed_out": result.timed_out,
            }
        if progress is not None:
            progress(len(chunk))
    return verdicts
