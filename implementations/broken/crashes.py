"""Conv2d implementations that kill their process or never return, as kernels with
an out-of-bounds access or a deadlock do.

The suite must name the call that killed (or hung) an xdist worker, go on
with the run, and replay the call in a child process that reports the signal
or the hang (suite/crashes.py, suite/monitor.py, suite/replay.py); these let
the self-check show that on any torch.
"""

import ctypes
import time

import torch.nn.functional as F

from implementations.broken import broken


@broken(caught_by=["forward.exact"], kills_the_process=True)
def dereferences_null_when_the_weight_is_wide(input, weight, bias=None, stride=1, padding=0,
                                              dilation=1, groups=1):
    """Reads address 0 (a segfault) for a kernel three or more columns wide."""
    if weight.dim() == 4 and weight.shape[-1] >= 3:
        ctypes.string_at(0)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=["forward.exact"], kills_the_process=True, options=("--conv2d-call-timeout=3",))
def never_returns_when_the_kernel_is_tall(input, weight, bias=None, stride=1, padding=0,
                                          dilation=1, groups=1):
    """Spins forever (a deadlock) for a kernel three or more rows tall."""
    if weight.dim() == 4 and weight.shape[-2] >= 3:
        while True:
            time.sleep(1)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
