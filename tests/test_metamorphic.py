"""conv2d keeps its algebra: the same conv2d, called two ways, agrees with itself.

Each property calls the implementation under test on a case and on a case
derived from it (a slice, a split, a padded or cropped input, a dilated
kernel) and compares the two.  The data is exact-tier (DESIGN.md section 4):
every partial sum of both calls is an exactly representable integer, so any
correct summation order gives identical bits and the comparison is equality.
Derived calls use contiguous tensors; the original call uses any layout.
"""

import numpy as np
import torch
from hypothesis import given

from strategies import conv2d_cases
from strategies.metamorphic import splits, with_channel_slice, with_shift
from suite.verdict import as_numpy, call, check_bitwise

EXACT = conv2d_cases(tiers=("exact",))


def _run(conv2d, case, arrays, device):
    return call(conv2d, case, case.tensors(arrays, device=device))


def _derived(case, **changes):
    """The case of a derived call: contiguous tensors, ``changes`` applied."""
    return case.replace(layout="contiguous", **changes)


def _bias_shape(bias):
    return None if bias is None else bias.shape


@given(case=EXACT)
def test_each_sample_is_convolved_independently_of_the_rest_of_the_batch(conv2d, device, case):
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    if not case.geometry().batched:  # an unbatched input is a batch of one
        alone = _derived(case, input_shape=(1, *input.shape))
        check_bitwise(case, out, as_numpy(_run(conv2d, alone, (input[None], weight, bias),
                                               device))[0],
                      source="conv2d(input[None])[0]")
        return
    alone = _derived(case, input_shape=(1, *input.shape[1:]))
    for sample in range(input.shape[0]):
        single = _run(conv2d, alone, (input[sample:sample + 1], weight, bias), device)
        check_bitwise(case, out[sample:sample + 1], as_numpy(single),
                      name=f"out[{sample}:{sample + 1}]",
                      source=f"conv2d(input[{sample}:{sample + 1}])")


@given(drawn=with_channel_slice(EXACT))
def test_a_slice_of_the_output_channels_is_the_convolution_with_that_slice_of_filters(
        conv2d, device, drawn):
    case, group, start, stop = drawn
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    group_channels = weight.shape[1]
    channels = slice(group * group_channels, (group + 1) * group_channels)
    sliced = (input[..., channels, :, :], weight[start:stop],
              None if bias is None else bias[start:stop])
    derived = _derived(case, input_shape=sliced[0].shape, weight_shape=sliced[1].shape,
                       bias_shape=_bias_shape(sliced[2]), groups=1)
    check_bitwise(case, out[..., start:stop, :, :], as_numpy(_run(conv2d, derived, sliced, device)),
                  name=f"out[..., {start}:{stop}, :, :]",
                  source=f"conv2d with filters {start}:{stop} on group {group}'s input channels")


@given(case=EXACT)
def test_a_grouped_convolution_is_the_concatenation_of_one_convolution_per_group(
        conv2d, device, case):
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
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
        parts.append(_run(conv2d, derived, part, device))
    check_bitwise(case, out, as_numpy(torch.cat(parts, dim=-3)),
                  source=f"the {groups} per-group convolutions concatenated")


@given(case=conv2d_cases(tiers=("exact",), paddings=("numbers", "valid")))
def test_a_strided_convolution_samples_the_stride_1_output(conv2d, device, case):
    arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    sh, sw = case.geometry().stride
    dense = _run(conv2d, _derived(case, stride=1), arrays, device)
    check_bitwise(case, out, as_numpy(dense)[..., ::sh, ::sw],
                  source=f"the stride-1 output sampled every ({sh}, {sw})")


@given(case=EXACT)
def test_dilation_is_a_kernel_with_zeros_inserted_between_its_taps(conv2d, device, case):
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    (dh, dw), (kh, kw) = case.geometry().dilation, weight.shape[2:]
    dilated = np.zeros((*weight.shape[:2], dh * (kh - 1) + 1, dw * (kw - 1) + 1), weight.dtype)
    dilated[:, :, ::dh, ::dw] = weight
    derived = _derived(case, weight_shape=dilated.shape, dilation=1)
    check_bitwise(case, out, as_numpy(_run(conv2d, derived, (input, dilated, bias), device)),
                  source=f"dilation 1 with the kernel spread to {dilated.shape[2:]} by zeros")


@given(case=EXACT)
def test_padding_is_an_explicit_zero_pad_then_no_padding(conv2d, device, case):
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    top, bottom, left, right = case.geometry().padding
    padded = np.pad(input, [(0, 0)] * (input.ndim - 2) + [(top, bottom), (left, right)])
    derived = _derived(case, input_shape=padded.shape, padding=0)
    check_bitwise(case, out, as_numpy(_run(conv2d, derived, (padded, weight, bias), device)),
                  source=f"padding 0 on the input zero-padded by (top, bottom, left, right)="
                         f"{(top, bottom, left, right)}")


@given(case=EXACT, split=splits())
def test_conv2d_is_linear_in_the_input(conv2d, device, case, split):
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    first, second = split.parts(input)
    total = (_run(conv2d, _derived(case), (first, weight, bias), device)
             + _run(conv2d, _derived(case, bias_shape=None), (second, weight, None), device))
    check_bitwise(case, total, as_numpy(out), name="conv2d(x1, w, b) + conv2d(x2, w)",
                  source="conv2d(x1 + x2, w, b)")


@given(case=EXACT, split=splits())
def test_conv2d_is_linear_in_the_weight(conv2d, device, case, split):
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    first, second = split.parts(weight)
    total = (_run(conv2d, _derived(case), (input, first, bias), device)
             + _run(conv2d, _derived(case, bias_shape=None), (input, second, None), device))
    check_bitwise(case, total, as_numpy(out), name="conv2d(x, w1, b) + conv2d(x, w2)",
                  source="conv2d(x, w1 + w2, b)")


@given(drawn=with_shift(EXACT))
def test_shifting_the_input_by_whole_strides_shifts_the_output_away_from_the_borders(
        conv2d, device, drawn):
    case, (rows, cols) = drawn
    input, weight, bias = arrays = case.arrays()
    out = _run(conv2d, case, arrays, device)
    geometry = case.geometry()
    (sh, sw), (top, _, left, _) = geometry.stride, geometry.padding
    cropped = input[..., sh * rows:, sw * cols:]
    shifted = _run(conv2d, _derived(case, input_shape=cropped.shape), (cropped, weight, bias),
                   device)
    # Outputs of the cropped call whose windows reach no top/left padding.
    first_row, first_col = -(-top // sh), -(-left // sw)
    check_bitwise(case, shifted[..., first_row:, first_col:],
                  as_numpy(out)[..., rows + first_row:, cols + first_col:],
                  name=f"conv2d(input[..., {sh * rows}:, {sw * cols}:])[..., {first_row}:, "
                       f"{first_col}:]",
                  source=f"out shifted by ({rows}, {cols})")
