"""How often the properties that backpropagate reach each oneDNN backward kernel.

The kernel-coverage report (suite/coverage.py) says which (pass, implementation)
pairs one run reached.  A derandomised run draws each property one fixed set of
examples, so a pair it reaches by the luck of that set is lost the day a strategy
changes.  This measures the odds instead: for each property that backpropagates
(its own strategy, taken from the test), SEEDS Hypothesis searches of EXAMPLES
examples each (the ci profile's generate phase: derandomised runs are one such
search), and in each the oneDNN pairs its calls reach forward and backward
(ONEDNN_VERBOSE, constant data: the values do not choose the kernel).  It prints,
for every backward pair the real networks reach on this machine
(bench/network_kernels.json), the fraction of searches in which each property
reached it and in which none did.  Run from the repository root:

    python -m bench.kernel_reach [SEEDS] [EXAMPLES]

One intra-op thread, as a pytest-xdist worker runs.
"""

import collections
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from bench.targeting import _guard_known_crashes
from strategies.sampling import drawn
from suite.coverage import REFRESH_COMMAND, load_network_kernels, sweep_pairs
from suite.onednn import OnednnCapture
from suite.run import run
from tests import test_autograd_modes, test_gradients

PROPERTIES = {
    "gradients.exact": test_gradients.test_gradients_equal_the_adjoints_bitwise_on_integer_data,
    "gradients.float": test_gradients.test_gradients_are_within_the_rounding_error_bound_of_the_adjoints,
    "gradients.uncovered_zero":
        test_gradients.test_input_positions_no_window_covers_get_exactly_zero_gradient,
    "autograd.double_backward_exact":
        test_autograd_modes.test_double_backward_gives_the_reference_second_derivatives_bitwise,
    "autograd.double_backward_float": test_autograd_modes
        .test_double_backward_is_within_the_rounding_bound_of_the_reference_second_derivatives,
    "autograd.forward_over_reverse":
        test_autograd_modes.test_forward_over_reverse_moves_the_gradients_by_the_reference_convolutions,
}


def strategy_of(test):
    """The case strategy a property's ``@given`` draws from."""
    return test.hypothesis._given_kwargs["case"]


def pairs_reached(case, capture):
    """The oneDNN (pass, implementation) pairs the case's call and its backward run."""
    if not case.geometry().batch:
        return set()
    arrays = tuple(None if shape is None else np.full(shape, 0.5)
                   for shape in (case.input_shape, case.weight_shape, case.bias_shape))
    tensors = case.tensors(arrays, requires_grad=True)
    with capture.capturing() as counts:
        out = run(F.conv2d, case, tensors).output
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.backward(torch.full(out.shape, 0.5, dtype=out.dtype))
    return set(counts)


def measure(seeds, examples):
    """({property: Counter of searches reaching each pair}, Counter for all together)."""
    capture = OnednnCapture()
    per_property = {name: collections.Counter() for name in PROPERTIES}
    together = collections.Counter()
    for search_seed in range(seeds):
        union = set()
        for number, (name, test) in enumerate(PROPERTIES.items()):
            reached = set()
            for case in drawn(strategy_of(test), examples, seed=search_seed * 101 + number):
                reached |= pairs_reached(case, capture)
            per_property[name].update(reached)
            union |= reached
        together.update(union)
    capture.close()
    return per_property, together


def main(seeds=20, examples=60):
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # padding='same' with even kernels warns about a copy
    _guard_known_crashes()
    network = load_network_kernels()
    if network is None:
        raise SystemExit(f"no network sweep for this machine: run `{REFRESH_COMMAND}` first")
    backward = sorted(pair for pair in sweep_pairs(network) if pair[0].startswith("backward"))
    started = time.process_time()
    per_property, together = measure(seeds, examples)
    print(f"torch {torch.__version__}; {seeds} searches of {examples} examples per property, "
          f"{time.process_time() - started:.0f} CPU-s; the fraction of searches that reached "
          f"each pair:\n")
    names = list(PROPERTIES)
    print("| pass | implementation | " + " | ".join(names) + " | any of them |")
    print("|---|---|" + "---:|" * (len(names) + 1))
    for pass_kind, implementation in backward:
        cells = [f"{per_property[name][pass_kind, implementation] / seeds:.2f}" for name in names]
        print(f"| {pass_kind} | {implementation} | " + " | ".join(cells)
              + f" | {together[pass_kind, implementation] / seeds:.2f} |")


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:3]))
