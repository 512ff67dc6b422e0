"""conv2d is right on every three-way conjunction of the features that pick its kernel.

The sweep (strategies/kernel_sweep.py) is a covering array of strength 3 over
dtype, layout, kernel form, group kind, stride, dilation, padding kind,
batch, channel count and bias: each of its cells is the smallest call with
its levels and an explicit example of both properties here, so every run
makes every cell's call, forward and backward, whatever Hypothesis draws
elsewhere.  The forward is judged by the one judge (shape, dtype, memory
format, values bitwise on integer data); the backward like gradients.exact
(suite/backward.py, case/derivatives.py: the gradients against the
reference's adjoints, bitwise on integer data).  A failure notes its cell; a call that
kills or hangs its worker is named with its Replay line (suite/crashes.py).
"""

from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st

from strategies.kernel_probes import with_probes
from strategies.kernel_sweep import cells
from suite.backward import check_gradients
from suite.judge import check_call
from suite.properties import conformance, needs

CELLS = {str(cell.case): cell for cell in cells()}


def sweep(test):
    """The property over every cell, as explicit examples only (in every profile)."""
    test = with_probes(tuple(CELLS))(test)
    test = given(case=st.sampled_from([cell.case for cell in CELLS.values()]))(test)
    return settings(phases=[Phase.explicit])(test)


@conformance("sweep.forward")
@sweep
def test_conv2d_is_right_on_every_three_way_conjunction_of_kernel_features(
        conv2d, device, model, case):
    note(f"sweep cell: {CELLS[str(case)].id}")
    check_call(conv2d, case, device=device, model=model)


@conformance("sweep.backward")
@needs("autograd.backward")
@sweep
def test_conv2d_gradients_are_right_on_every_three_way_conjunction_of_kernel_features(
        conv2d, device, model, case):
    note(f"sweep cell: {CELLS[str(case)].id}")
    check_gradients(conv2d, case, device, model)
