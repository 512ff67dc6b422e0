"""conv2d returns the shape, dtype and memory format the rules predict."""

import torch
from hypothesis import given

from strategies import conv2d_cases
from suite.verdict import call, check_shape_and_dtype, describe_call, output_memory_format


@given(case=conv2d_cases(tiers=("float",)))
def test_output_shape_follows_the_formula_and_dtype_follows_the_input(conv2d, device, case):
    actual = call(conv2d, case, case.tensors(device=device))
    check_shape_and_dtype(case, actual, case.geometry().output_shape)


@given(case=conv2d_cases(dtypes=("float32", "float64"), tiers=("float",)))
def test_output_is_channels_last_when_the_input_or_the_weight_is(conv2d, device, case):
    input, weight, bias = case.tensors(device=device)
    actual = call(conv2d, case, (input, weight, bias))
    if actual.dim() != 4 or actual.numel() == 0:
        return  # memory format is only meaningful for a non-empty 4-D result
    expected = output_memory_format(input, weight)
    observed = (torch.channels_last if actual.is_contiguous(memory_format=torch.channels_last)
                and not actual.is_contiguous() else torch.contiguous_format)
    if actual.is_contiguous() and actual.is_contiguous(memory_format=torch.channels_last):
        return  # both at once (e.g. 1x1 output): either reading is right
    assert observed == expected, (
        f"out has strides {actual.stride()} ({observed}), but should be {expected} "
        f"(input strides {input.stride()}, weight strides {weight.stride()}) "
        f"[{describe_call(case)}]")
