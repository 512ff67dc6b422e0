"""Does ``hypothesis.target`` climb?  The worst error/bound a search finds on a correct conv2d.

The suite gives every example's worst error/bound ratio to ``hypothesis.target``
(suite/summary.py).  Targeting can only climb where Hypothesis sees what
makes the ratio large: with the data drawn from a seed alone it hops between
unrelated seeds; with data features (scale exponents, densities, specials:
strategies/data.py) it can move along them.  For each correct implementation,
dtype and way of drawing the data, this runs N examples with and without
targeting (Hypothesis's ``target`` phase) over several Hypothesis seeds and
reports the median and the largest ratio found.  Run:

    python -m bench.targeting [EXAMPLES] [SEEDS]
"""

import statistics
import sys
import time
import warnings

import torch
from hypothesis import HealthCheck, Phase, given, seed, settings, target

from strategies import conv2d_cases
from strategies.data import MAGNITUDES
from suite import registry
from suite.implementation import load_implementation
from suite.judge import judge
from suite.run import run

IMPLEMENTATIONS = ["torch.nn.functional:conv2d", "implementations.correct:im2col_matmul"]
DTYPES = ["float32", "float16"]
DATA = {"seed only": dict(magnitudes=("unit",), shaped=False),
        "features": dict(magnitudes=MAGNITUDES, shaped=True)}


def _guard_known_crashes():
    """The registry's crash entries in force (no recheck), so no call kills the run."""
    active = registry.activate(registry.Registry(registry.load()))
    active.set_status({entry.id: registry.PRESENT for entry in active.entries.values()})


def worst_ratio(conv2d, dtype, data, targeting, examples, search_seed):
    """(largest error/bound found, examples run) in one search."""
    found = {"ratio": 0.0, "calls": 0, "case": None}
    phases = [Phase.generate] + ([Phase.target] if targeting else [])

    @seed(search_seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=phases,
              derandomize=False, suppress_health_check=list(HealthCheck))
    @given(case=conv2d_cases(dtypes=(dtype,), tiers=("float",), **DATA[data]))
    def search(case):
        found["calls"] += 1
        finding = judge(case, run(conv2d, case, case.tensors()), checks=("values",))
        ratio = finding.ratio or 0.0
        if targeting:
            target(min(ratio, 1e6), label="worst error/bound")
        if ratio > found["ratio"]:
            found.update(ratio=ratio, case=str(case))

    search()
    return found


def main(examples=300, seeds=3):
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    _guard_known_crashes()
    print(f"{examples} examples per search, {seeds} Hypothesis seeds per cell; float tier")
    print("| implementation | dtype | data | targeting | median max error/bound | largest | "
          "examples run | seconds | worst case |")
    print("|---|---|---|---|---:|---:|---:|---:|---|")
    for spec in IMPLEMENTATIONS:
        conv2d = load_implementation(spec)
        for dtype in DTYPES:
            for data in DATA:
                for targeting in (False, True):
                    start = time.perf_counter()
                    runs = [worst_ratio(conv2d, dtype, data, targeting, examples, s)
                            for s in range(seeds)]
                    ratios = [found["ratio"] for found in runs]
                    best = max(runs, key=lambda found: found["ratio"])
                    print(f"| {spec.split(':')[1]} | {dtype} | {data} | "
                          f"{'on' if targeting else 'off'} | {statistics.median(ratios):.3g} | "
                          f"{max(ratios):.3g} | {sum(f['calls'] for f in runs) // seeds} | "
                          f"{time.perf_counter() - start:.0f} | `{best['case']}` |", flush=True)


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:3]))
