"""conv2d keeps its algebra: the same conv2d, called two ways, agrees with itself.

Each property calls the implementation under test on a case and on a call
derived from it (a slice, a split, a padded or cropped input, a dilated
kernel) and compares the two.  The data is exact-tier (case/data.py): every
partial sum of both calls is an exactly representable integer, so any
correct summation order gives identical bits and the comparison is equality
(under an error model without bitwise answers the judge holds each call to
the reference on its own instead: ``suite.judge.relation``).  Derived calls use contiguous tensors; the
original call uses any layout.
Where the derivation is itself drawn (a split, a slice, a crop), the drawn
case is the derived call (case/transforms.py): its descriptor replays both.
"""

import dataclasses

import numpy as np
import torch
from hypothesis import given

from strategies import conv2d_cases
from strategies.metamorphic import channel_slice_cases, shifted_cases, split_cases
from suite.judge import as_numpy, output_of, relation, require
from suite.properties import conformance
from suite.run import run

EXACT = conv2d_cases(tiers=("exact",))


@dataclasses.dataclass
class Made:
    """One call a property made: its case, the arrays it was made on, its output."""

    case: object
    arrays: tuple
    out: object


def _made(conv2d, case, arrays, device):
    """The implementation's call of ``case`` on ``arrays`` (rejecting the example where
    the call is not made or is an expected deviation)."""
    __tracebackhide__ = True
    return Made(case, arrays, output_of(case, run(conv2d, case, case.tensors(arrays,
                                                                             device=device))))


def _relation(model, calls, actual, expected, *, name="out", source):
    """The relation ``actual == expected`` between ``calls`` (``Made``), as the judge
    holds it under ``model``."""
    __tracebackhide__ = True
    for finding in relation(model, [(made.case, made.arrays, made.out) for made in calls],
                            actual, expected, name=name, source=source):
        require(finding)


def _derived(case, **changes):
    """An ad hoc derived call on given arrays: contiguous tensors, ``changes`` applied."""
    return case.replace(layout="contiguous", **changes)


def _bias_shape(bias):
    return None if bias is None else bias.shape


@conformance("metamorphic.batch")
@given(case=EXACT)
def test_each_sample_is_convolved_independently_of_the_rest_of_the_batch(conv2d, device, model,
                                                                          case):
    input, weight, bias = arrays = case.arrays()
    whole = _made(conv2d, case, arrays, device)
    if not case.geometry().batched:  # an unbatched input is a batch of one
        alone = _made(conv2d, _derived(case, input_shape=(1, *input.shape)),
                      (input[None], weight, bias), device)
        _relation(model, [whole, alone], whole.out, as_numpy(alone.out)[0],
                  source="conv2d(input[None])[0]")
        return
    single = _derived(case, input_shape=(1, *input.shape[1:]))
    for sample in range(input.shape[0]):
        alone = _made(conv2d, single, (input[sample:sample + 1], weight, bias), device)
        _relation(model, [whole, alone], whole.out[sample:sample + 1], as_numpy(alone.out),
                  name=f"out[{sample}:{sample + 1}]",
                  source=f"conv2d(input[{sample}:{sample + 1}])")


@conformance("metamorphic.channel_slice")
@given(case=channel_slice_cases(EXACT))
def test_a_slice_of_the_output_channels_is_the_convolution_with_that_slice_of_filters(
        conv2d, device, model, case):
    base, transform = case.derived_from
    whole = _made(conv2d, base, base.arrays(), device)
    sliced = _made(conv2d, case, case.arrays(), device)
    start, stop = transform.start, transform.stop
    _relation(model, [sliced, whole], sliced.out, as_numpy(whole.out[..., start:stop, :, :]),
              name=f"conv2d with filters {start}:{stop} on their group's input channels",
              source=f"out[..., {start}:{stop}, :, :] of the whole call")


@conformance("metamorphic.groups")
@given(case=EXACT)
def test_a_grouped_convolution_is_the_concatenation_of_one_convolution_per_group(
        conv2d, device, model, case):
    input, weight, bias = arrays = case.arrays()
    whole = _made(conv2d, case, arrays, device)
    groups, (out_channels, group_channels) = case.groups, weight.shape[:2]
    per_group = out_channels // groups
    parts = []
    for group in range(groups):
        filters = slice(group * per_group, (group + 1) * per_group)
        channels = slice(group * group_channels, (group + 1) * group_channels)
        part = (input[..., channels, :, :], weight[filters],
                None if bias is None else bias[filters])
        derived = _derived(case, input_shape=part[0].shape, weight_shape=part[1].shape,
                           bias_shape=_bias_shape(part[2]), groups=1)
        parts.append(_made(conv2d, derived, part, device))
    _relation(model, [whole, *parts], whole.out,
              as_numpy(torch.cat([part.out for part in parts], dim=-3)),
              source=f"the {groups} per-group convolutions concatenated")


@conformance("metamorphic.stride")
@given(case=conv2d_cases(tiers=("exact",), paddings=("numbers", "valid")))
def test_a_strided_convolution_samples_the_stride_1_output(conv2d, device, model, case):
    arrays = case.arrays()
    strided = _made(conv2d, case, arrays, device)
    sh, sw = case.geometry().stride
    dense = _made(conv2d, _derived(case, stride=1), arrays, device)
    _relation(model, [strided, dense], strided.out, as_numpy(dense.out)[..., ::sh, ::sw],
              source=f"the stride-1 output sampled every ({sh}, {sw})")


@conformance("metamorphic.dilation")
@given(case=EXACT)
def test_dilation_is_a_kernel_with_zeros_inserted_between_its_taps(conv2d, device, model, case):
    input, weight, bias = arrays = case.arrays()
    dilated_call = _made(conv2d, case, arrays, device)
    (dh, dw), (kh, kw) = case.geometry().dilation, weight.shape[2:]
    spread = np.zeros((*weight.shape[:2], dh * (kh - 1) + 1, dw * (kw - 1) + 1), weight.dtype)
    spread[:, :, ::dh, ::dw] = weight
    derived = _made(conv2d, _derived(case, weight_shape=spread.shape, dilation=1),
                    (input, spread, bias), device)
    _relation(model, [dilated_call, derived], dilated_call.out, as_numpy(derived.out),
              source=f"dilation 1 with the kernel spread to {spread.shape[2:]} by zeros")


@conformance("metamorphic.padding")
@given(case=EXACT)
def test_padding_is_an_explicit_zero_pad_then_no_padding(conv2d, device, model, case):
    input, weight, bias = arrays = case.arrays()
    padded_call = _made(conv2d, case, arrays, device)
    top, bottom, left, right = case.geometry().padding
    padded = np.pad(input, [(0, 0)] * (input.ndim - 2) + [(top, bottom), (left, right)])
    derived = _made(conv2d, _derived(case, input_shape=padded.shape, padding=0),
                    (padded, weight, bias), device)
    _relation(model, [padded_call, derived], padded_call.out, as_numpy(derived.out),
              source=f"padding 0 on the input zero-padded by (top, bottom, left, right)="
                     f"{(top, bottom, left, right)}")


def _check_linear(conv2d, device, model, case):
    """``case`` is part 0 of a split: conv2d(part 0, b) + conv2d(part 1) == conv2d(whole, b)."""
    __tracebackhide__ = True
    base, split = case.derived_from
    whole = _made(conv2d, base, base.arrays(), device)
    other = base.derive(split.other())
    parts = [_made(conv2d, part, part.arrays(), device) for part in (case, other)]
    _relation(model, [whole, *parts], parts[0].out + parts[1].out, as_numpy(whole.out),
              name=f"conv2d(part 0 of {split.tensor}, b) + conv2d(part 1) [{case}]",
              source=f"conv2d of the whole {split.tensor}")


@conformance("metamorphic.linear_input")
@given(case=split_cases(EXACT, "input"))
def test_conv2d_is_linear_in_the_input(conv2d, device, model, case):
    _check_linear(conv2d, device, model, case)


@conformance("metamorphic.linear_weight")
@given(case=split_cases(EXACT, "weight"))
def test_conv2d_is_linear_in_the_weight(conv2d, device, model, case):
    _check_linear(conv2d, device, model, case)


@conformance("metamorphic.shift")
@given(case=shifted_cases(EXACT))
def test_shifting_the_input_by_whole_strides_shifts_the_output_away_from_the_borders(
        conv2d, device, model, case):
    base, crop = case.derived_from
    whole = _made(conv2d, base, base.arrays(), device)
    geometry = base.geometry()
    (sh, sw), (top, _, left, _) = geometry.stride, geometry.padding
    rows, cols = crop.rows // sh, crop.cols // sw
    shifted = _made(conv2d, case, case.arrays(), device)
    # Outputs of the cropped call whose windows reach no top/left padding.
    first_row, first_col = -(-top // sh), -(-left // sw)
    _relation(model, [shifted, whole], shifted.out[..., first_row:, first_col:],
              as_numpy(whole.out)[..., rows + first_row:, cols + first_col:],
              name=f"out[..., {first_row}:, {first_col}:] of the cropped call",
              source=f"the whole call's out shifted by ({rows}, {cols}) strides")
