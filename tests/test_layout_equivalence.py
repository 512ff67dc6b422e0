"""Strides do not change values: a view gives what a contiguous copy of it gives.

channels_last input or weight, and views of each argument as programs pass
them (case/tensors.py: a slice or an offset view of a bigger tensor, a
transposed or an expanded one: an input, a weight that is part of a bigger
parameter, a bias) are each passed to the implementation as they are and as
``.contiguous()`` copies; on exact-tier data both calls must give identical
bits, whatever order each sums in.  Every view is also an explicit example
on every run.
"""

from hypothesis import given

from case import LAYOUTS
from strategies import conv2d_cases
from strategies.kernel_probes import with_probes
from suite.judge import agreement, as_numpy, output_of, require
from suite.properties import conformance
from suite.run import run

VIEWS = tuple(layout for layout in LAYOUTS if layout != "contiguous")
# Every view of every argument, on one small call with a bias, on every run.
VIEW_PROBES = tuple(f"in2x4x5x6:w6x2x3x3:b6:s1:p1:d1:g2:float32:{layout}:exact:seed0"
                    for layout in VIEWS)


@conformance("layouts.views")
@given(case=conv2d_cases(layouts=VIEWS, tiers=("exact",)))
@with_probes(VIEW_PROBES)
def test_views_and_channels_last_tensors_give_the_values_of_contiguous_copies(
        conv2d, device, model, case):
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    out = output_of(case, run(conv2d, case, tensors))
    copies = [None if tensor is None else tensor.contiguous() for tensor in tensors]
    contiguous = case.replace(layout="contiguous")
    require(agreement(case, out, as_numpy(output_of(contiguous, run(conv2d, contiguous, copies))),
                      arrays, model, source="conv2d of contiguous copies of the same tensors"))
