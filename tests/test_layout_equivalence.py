"""Strides do not change values: a view gives what a contiguous copy of it gives.

channels_last input or weight, an input sliced from a wider tensor, a
transposed input and a weight expanded with stride 0 are each passed to the
implementation as they are and as ``.contiguous()`` copies; on exact-tier data
both calls must give identical bits, whatever order each sums in.
"""

from hypothesis import given

from case import LAYOUTS
from strategies import conv2d_cases
from suite.judge import agreement, as_numpy, output_of, require
from suite.properties import conformance
from suite.run import run

VIEWS = tuple(layout for layout in LAYOUTS if layout != "contiguous")


@conformance("layouts.views")
@given(case=conv2d_cases(layouts=VIEWS, tiers=("exact",)))
def test_views_and_channels_last_tensors_give_the_values_of_contiguous_copies(
        conv2d, device, model, case):
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    out = output_of(case, run(conv2d, case, tensors))
    copies = [None if tensor is None else tensor.contiguous() for tensor in tensors]
    contiguous = case.replace(layout="contiguous")
    require(agreement(case, out, as_numpy(output_of(contiguous, run(conv2d, contiguous, copies))),
                      arrays, model, source="conv2d of contiguous copies of the same tensors"))
