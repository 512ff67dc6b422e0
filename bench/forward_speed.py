"""Time per example of the forward property against Hypothesis's own floor.

The floor is the same strategy with an empty test body: drawing a case costs
that much whatever the suite does.  Issue target: the forward property costs at
most 1.5x the floor.  Run from the repository root:

    python -m bench.forward_speed [EXAMPLES]
"""

import statistics
import sys
import time

import torch
import torch.nn.functional as F
from hypothesis import Phase, given, settings

from strategies import conv2d_cases
from suite.verdict import Tolerance, call, check_bitwise, check_within_bound, expected_output


def _seconds_per_example(body, strategy, examples):
    runs = []

    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate])
    @given(case=strategy)
    def run(case):
        runs.append(None)
        body(case)

    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / len(runs)


def _exact(case):
    arrays = case.arrays()
    check_bitwise(case, call(F.conv2d, case, case.tensors(arrays)), expected_output(case, arrays))


def _float(case):
    arrays = case.arrays()
    check_within_bound(case, call(F.conv2d, case, case.tensors(arrays)),
                       expected_output(case, arrays), arrays, Tolerance())


def main(examples=500):
    torch.set_num_threads(1)  # as the suite runs (conftest --torch-threads)
    print("| property | draw only (ms/example) | property (ms/example) | ratio |")
    print("|---|---|---|---|")
    for tier, body in (("exact", _exact), ("float", _float)):
        strategy = conv2d_cases(tiers=(tier,))
        _seconds_per_example(body, strategy, 20)  # warm-up: imports, oneDNN primitives
        # Alternate the two runs and take medians: each run's speed depends on
        # what ran just before it (caches, the garbage collector).
        floors, fulls = [], []
        for _ in range(3):
            floors.append(_seconds_per_example(lambda case: None, strategy, examples))
            fulls.append(_seconds_per_example(body, strategy, examples))
        floor, full = statistics.median(floors), statistics.median(fulls)
        print(f"| forward values, {tier} tier | {floor * 1e3:.2f} | {full * 1e3:.2f} | "
              f"{full / floor:.2f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
