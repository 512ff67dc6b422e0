"""Forward-value bugs of the kinds conv2d kernels have really shipped."""

import torch
import torch.nn.functional as F

from implementations.broken import broken

EXACT = "tests/test_forward_values.py::test_conv2d_is_bitwise_exact_on_integer_data"
FLOAT = "tests/test_forward_values.py::test_conv2d_is_within_the_rounding_error_bound_on_random_data"


@broken(caught_by=[EXACT, FLOAT])
def drops_last_kernel_column(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Ignores the last kernel column when kw > 1 (a loop bound off by one)."""
    if weight.shape[-1] > 1:
        weight = weight.clone()
        weight[..., -1] = 0
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[EXACT])
def flips_the_kernel(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Computes a true convolution (kernel flipped) instead of cross-correlation."""
    return F.conv2d(input, weight.flip(-1, -2), bias, stride, padding, dilation, groups)


@broken(caught_by=[FLOAT])
def accumulates_float32_in_bfloat16(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                    groups=1):
    """Rounds float32 operands to bfloat16 before multiplying (a precision bug)."""
    if input.dtype == torch.float32:
        out = F.conv2d(input.bfloat16().float(), weight.bfloat16().float(), bias, stride,
                       padding, dilation, groups)
        return out
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
