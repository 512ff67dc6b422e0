"""Bugs of one kernel branch, each reached only by a conjunction of a call's features.

pytorch#120211 was such a bug: a depthwise convolution, a channels_last input
and a 1xK kernel with K >= 15 at once.  The derandomised draws meet a
conjunction only by chance; the kernel-selection sweep (tests/test_kernel_sweep.py)
meets every three-way one by construction, so it must catch both of these,
forward and backward (their gradients are autograd's through the wrong call).
"""

import torch.nn.functional as F

from implementations.broken import broken
from reference.memory_format import suggests_channels_last

SWEEP = ["sweep.forward", "sweep.backward"]


def _without_last_kernel_column(weight):
    """The weight with its last kernel column zeroed: a tail the kernel never reads."""
    kept = weight.clone()
    kept[..., -1] = 0
    return kept


@broken(caught_by=[*SWEEP, "corpus"])  # the corpus holds pytorch#120211's smallest call
def drops_a_tap_of_depthwise_wide_kernels_on_channels_last(input, weight, bias=None, stride=1,
                                                          padding=0, dilation=1, groups=1):
    """Depthwise, channels_last input, a kernel side of 15 or more: skips the last column."""
    depthwise = weight.dim() == 4 and weight.shape[1] == 1 and groups == input.shape[-3] > 1
    if (depthwise and max(weight.shape[-2:]) >= 15 and input.dim() == 4
            and suggests_channels_last(tuple(input.shape), input.stride())):
        weight = _without_last_kernel_column(weight)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=SWEEP)
def drops_a_tap_of_dilated_grouped_float16(input, weight, bias=None, stride=1, padding=0,
                                           dilation=1, groups=1):
    """float16, grouped with more than one channel per group, dilated: skips the last
    kernel column (a conjunction of three features that no size regime prefers)."""
    dilated = max((dilation,) if isinstance(dilation, int) else tuple(dilation)) > 1
    if (str(input.dtype) == "torch.float16" and groups > 1 and weight.dim() == 4
            and weight.shape[1] > 1 and weight.shape[-1] > 1 and dilated):
        weight = _without_last_kernel_column(weight)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
