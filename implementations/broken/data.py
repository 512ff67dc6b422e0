"""Bugs that only data at the edges of the number range show.

Each is right for the unit-scale data the suite drew before it had data
features (strategies/data.py): only subnormal data, or data near overflow,
give them away.  ``caught_by`` names the properties that fail on it in both
the ``ci`` profile (the default run: derandomised, 60 examples) and the
``selfcheck`` profile (200 examples); flushing subnormals is also caught by
the float16 overflow property, whose data hold the smallest subnormal among
their special values.
"""

import torch
import torch.nn.functional as F

from implementations.broken import broken

EXACT, FLOAT = "forward.exact", "forward.float"
SUBNORMAL, NO_OVERFLOW, HALF_OVERFLOW = "edges.subnormal", "edges.no_overflow", "edges.half_overflow"


def _flushed(tensor):
    """``tensor`` with its subnormal elements set to zero (denormals-are-zero)."""
    if tensor is None or not tensor.is_floating_point() and not tensor.is_complex():
        return tensor
    tiny = torch.finfo(tensor.dtype).tiny  # the smallest normal number
    if tensor.is_complex():
        real, imag = tensor.real, tensor.imag
        return torch.complex(torch.where(real.abs() < tiny, 0, real),
                             torch.where(imag.abs() < tiny, 0, imag))
    return torch.where(tensor.abs() < tiny, torch.zeros_like(tensor), tensor)


@broken(caught_by=[EXACT, FLOAT, SUBNORMAL, HALF_OVERFLOW])
def flushes_subnormal_inputs(input, weight, bias=None, stride=1, padding=0, dilation=1,
                             groups=1):
    """Treats subnormal inputs, weights and biases as zero (a kernel run with DAZ set)."""
    return F.conv2d(_flushed(input), _flushed(weight), _flushed(bias), stride, padding,
                    dilation, groups)


@broken(caught_by=[NO_OVERFLOW])
def prescales_weights(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Folds a 2^16 scale into the weights and takes it out of the sum: exact, except that
    its partial sums overflow when the result is within 2^16 of the largest float
    (float32, float64, complex; half types accumulate elsewhere)."""
    if input.dtype not in (torch.float32, torch.float64, torch.complex64, torch.complex128):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    out = F.conv2d(input, weight * 2.0 ** 16, None, stride, padding, dilation, groups)
    out = out * 2.0 ** -16
    if bias is not None:
        out = out + bias[:, None, None]
    return out


@broken(caught_by=[HALF_OVERFLOW])
def saturates_half_results(input, weight, bias=None, stride=1, padding=0, dilation=1,
                           groups=1):
    """Clamps float16 and bfloat16 results to the largest finite number instead of
    rounding them to infinity (a saturating conversion)."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if out.dtype not in (torch.float16, torch.bfloat16):
        return out
    largest = torch.finfo(out.dtype).max
    return out.clamp(-largest, largest)
