"""What each size regime costs per example, and why the multiply-add budget is what it is.

For every regime of strategies/sizes.py this draws the same derandomised
examples the default strategy would draw in that regime (all dtypes, both
tiers, every layout) and times, in CPU seconds of this process (so that other
load on the machine counts less than in wall time), per example:

- ``draw``: drawing the case alone (Hypothesis's floor);
- ``forward``: the forward property's body (data, call, reference, judge);
- ``gradients``: the gradient property's body (data, grad_output, backward,
  the reference's adjoints and their magnitudes, judge);

with the mean multiply-adds per example and the time per million of them.
Then it prints the expected extra CPU time of a default run: regime weight x
cost, summed, times the examples of the properties that draw from
``conv2d_cases``.  Run from the repository root:

    python -m bench.size_regimes [EXAMPLES]

One intra-op thread and one BLAS thread, as a pytest-xdist worker runs.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

import reference  # noqa: E402
from reference import ErrorModel  # noqa: E402
from strategies import conv2d_cases, sizes  # noqa: E402
from strategies.problems import VALUE_DTYPES  # noqa: E402
from suite.judge import VALUES, check_call  # noqa: E402

MODEL = ErrorModel()
GRADIENT_DTYPES = ("float32", "float64", "complex64", "complex128")


def _forward(case):
    check_call(F.conv2d, case, device="cpu", model=MODEL, checks=VALUES)


def _gradients(case):
    """What tests/test_gradients.py does per example, without the judge's messages."""
    arrays = case.arrays()
    input, weight, _ = arrays
    grad_output = case.grad_output(arrays)
    tensors = case.tensors(arrays, requires_grad=True)
    out = case.invoke(F.conv2d, tensors)
    out.backward(torch.from_numpy(grad_output).to(out.dtype))
    for values, go in ((arrays, grad_output), ((np.abs(input), np.abs(weight), None),
                                               np.abs(grad_output))):
        x, w, _ = values
        reference.grad_input(go, x.shape, np.conj(w), **case.arguments)
        reference.grad_weight(go, np.conj(x), w.shape, **case.arguments)


def _cases(regime, examples, dtypes):
    drawn = []

    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=conv2d_cases(dtypes=dtypes, regimes=(regime,)))
    def collect(case):
        drawn.append(case)
    start = time.process_time()
    collect()
    return drawn, (time.process_time() - start) / max(1, len(drawn))


def _seconds(body, cases):
    times = []
    for case in cases:
        start = time.process_time()
        try:
            body(case)
        except AssertionError:
            pass  # a failure costs what a pass costs; the run reports it elsewhere
        times.append(time.process_time() - start)
    return times


def measure(regime, examples):
    forward_cases, draw = _cases(regime, examples, VALUE_DTYPES)
    gradient_cases, _ = _cases(regime, examples, GRADIENT_DTYPES)
    forward = _seconds(_forward, forward_cases)
    gradients = _seconds(_gradients, [c for c in gradient_cases if c.geometry().batch])
    macs = [sizes.multiply_adds(case) for case in forward_cases]
    return dict(draw=draw, forward=statistics.mean(forward), forward_max=max(forward),
                gradients=statistics.mean(gradients) if gradients else 0.0,
                gradients_max=max(gradients) if gradients else 0.0,
                macs=statistics.mean(macs), macs_max=max(macs))


def main(examples=60):
    torch.set_num_threads(1)
    _forward(conv2d_cases().example())  # warm-up: imports, oneDNN primitives
    print(f"torch {torch.__version__}, 1 thread; budget {sizes.MAC_BUDGET:,} multiply-adds "
          f"(real dtypes); load average {os.getloadavg()[0]:.1f}; {examples} examples/regime\n")
    print("| regime | weight | mean MACs | max MACs | draw (ms) | forward (ms) | forward max "
          "(ms) | gradients (ms) | gradients max (ms) | forward ms per M MACs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = {}
    for regime in sizes.REGIMES:
        rows[regime] = row = measure(regime, examples)
        per_million = (row["forward"] * 1e3 / (row["macs"] / 1e6)) if row["macs"] else 0.0
        print(f"| {regime} | {sizes.WEIGHTS[regime]} | {row['macs']:,.0f} | "
              f"{row['macs_max']:,} | {row['draw'] * 1e3:.2f} | {row['forward'] * 1e3:.1f} | "
              f"{row['forward_max'] * 1e3:.0f} | {row['gradients'] * 1e3:.1f} | "
              f"{row['gradients_max'] * 1e3:.0f} | {per_million:.1f} |", flush=True)
    total = sum(sizes.WEIGHTS.values())
    for kind in ("forward", "gradients"):
        mixed = sum(sizes.WEIGHTS[r] * rows[r][kind] for r in rows) / total
        tiny = rows["tiny"][kind]
        print(f"\n{kind}: {mixed * 1e3:.1f} ms per example with the regimes mixed, "
              f"{tiny * 1e3:.1f} ms tiny alone: {mixed / tiny if tiny else 0:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
