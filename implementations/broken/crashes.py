"""A conv2d that kills its process, as kernels with an out-of-bounds access do.

The suite must name the call that killed an xdist worker, replay it in a
child process and report the signal (suite/crashes.py, suite/replay.py);
this implementation lets the self-check show that on any torch.
"""

import ctypes

import torch.nn.functional as F

from implementations.broken import broken


@broken(caught_by=["forward.exact"], kills_the_process=True)
def dereferences_null_when_the_weight_is_wide(input, weight, bias=None, stride=1, padding=0,
                                              dilation=1, groups=1):
    """Reads address 0 (a segfault) for a kernel three or more columns wide."""
    if weight.dim() == 4 and weight.shape[-1] >= 3:
        ctypes.string_at(0)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
