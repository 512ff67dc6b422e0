"""Calibrate the float-tier bound on correct implementations: no false alarms.

For each correct implementation and dtype, Hypothesis searches for the case
with the largest error/bound ratio (``hypothesis.target``) over larger
problems than the default run draws.  A ratio above 1 would be a false alarm
of the suite; the table shows how much headroom the bound leaves.  Run:

    python -m bench.calibrate_bound [EXAMPLES_PER_CELL]
"""

import sys
import warnings

import torch
from hypothesis import Phase, given, settings, target

import reference
from reference import ErrorModel
from reference.rounding import ACCUMULATION
from strategies import conv2d_cases
from strategies.problems import VALUE_DTYPES
from suite.compare import discrepancy
from suite.implementation import load_implementation
from suite.judge import as_numpy
from suite.run import run

IMPLEMENTATIONS = ["torch.nn.functional:conv2d", "implementations.correct:without_mkldnn",
                   "implementations.correct:accumulating_in_float64",
                   "implementations.correct:im2col_matmul"]


def worst_ratio(conv2d, dtype, examples):
    """The largest error/bound (and error/(u*M)) Hypothesis finds for ``conv2d`` in ``dtype``."""
    worst = {"ratio": 0.0, "relative": 0.0, "case": None}

    @settings(max_examples=examples, database=None, deadline=None,
              phases=[Phase.generate, Phase.target])
    @given(case=conv2d_cases(dtypes=(dtype,), tiers=("float",), max_group_channels=16,
                             max_kernel=5, max_extra=8))
    def search(case):
        arrays = case.arrays()
        actual = as_numpy(run(conv2d, case, case.tensors(arrays), guard=False).output)
        if not actual.size:
            return
        expected = case.expected(arrays)
        ratio = discrepancy(actual, expected, case.bound(arrays, expected, ErrorModel())).ratio
        magnitude = reference.magnitude(*arrays, **case.arguments)
        u = reference.UNIT_ROUNDOFF[ACCUMULATION.get(dtype, dtype)]
        relative = discrepancy(actual, expected, u * magnitude).ratio
        target(min(ratio, 1e6))
        if ratio > worst["ratio"]:
            worst.update(ratio=ratio, case=str(case))
        worst["relative"] = max(worst["relative"], relative)

    search()
    return worst


def main(examples=300):
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    print("| implementation | dtype | max error/bound | max error/(u_acc*M) | worst case |")
    print("|---|---|---|---|---|")
    for spec in IMPLEMENTATIONS:
        conv2d = load_implementation(spec)
        for dtype in VALUE_DTYPES:
            worst = worst_ratio(conv2d, dtype, examples)
            print(f"| {spec.split(':')[1]} | {dtype} | {worst['ratio']:.3g} | "
                  f"{worst['relative']:.3g} | `{worst['case']}` |", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
