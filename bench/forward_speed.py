"""Time per example of the forward properties against Hypothesis's own floor.

The floor is the same strategy with an empty test body: drawing a case costs
that much whatever the suite does.  The property body is what
tests/test_forward_values.py runs per example (``check_call``: data, the call
through the coverage observer, the reference, the judge).  Issue target: the
forward property costs at most 1.5x the floor.  Times are CPU seconds of this
process (less sensitive to other load than wall time), medians of alternating
runs.  Run from the repository root:

    python -m bench.forward_speed [EXAMPLES] [--regimes tiny,channels,...]
"""

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from reference import ErrorModel  # noqa: E402
from strategies import conv2d_cases  # noqa: E402
from strategies.problems import REGIMES  # noqa: E402
from suite.coverage import observing  # noqa: E402
from suite.judge import VALUES, check_call  # noqa: E402

CONV2D = observing(F.conv2d)  # as conftest.py wraps the implementation under test
MODEL = ErrorModel()

def _seconds_per_example(body, strategy, examples):
    runs = []

    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        runs.append(None)
        body(case)

    start = time.process_time()
    run()
    return (time.process_time() - start) / len(runs)


def _property(case):
    try:
        check_call(CONV2D, case, device="cpu", model=MODEL, checks=VALUES)
    except AssertionError:
        pass  # torch's known bugs fail where the registry is not loaded; same cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("examples", nargs="?", type=int, default=500)
    parser.add_argument("--regimes", default=",".join(REGIMES),
                        help="comma-separated size regimes (default: all, as the suite draws)")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    regimes = tuple(options.regimes.split(","))
    torch.set_num_threads(1)  # as the suite runs (conftest --torch-threads)
    print("| regimes | tier | draw only (ms/example) | property (ms/example) | ratio | "
          "load average |")
    print("|---|---|---:|---:|---:|---:|")
    for tier in ("exact", "float"):
        strategy = conv2d_cases(tiers=(tier,), regimes=regimes)
        _seconds_per_example(_property, strategy, 20)  # warm-up: imports, oneDNN primitives
        # Alternate the two runs and take medians: each run's speed depends on
        # what ran just before it (caches, the garbage collector).
        floors, fulls = [], []
        for _ in range(options.rounds):
            floors.append(_seconds_per_example(lambda case: None, strategy, options.examples))
            fulls.append(_seconds_per_example(_property, strategy, options.examples))
        floor, full = statistics.median(floors), statistics.median(fulls)
        label = "all" if set(regimes) == set(REGIMES) else "+".join(regimes)
        print(f"| {label} | {tier} | {floor * 1e3:.2f} | {full * 1e3:.2f} | {full / floor:.2f} | "
              f"{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
