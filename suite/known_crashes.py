"""Calls that crash torch's process: measured, kept out of the search, re-checked.

A segfault cannot be caught and judged like a wrong value: it kills the test
process (an xdist worker), so one rare example would make a whole run fail
at random.  Each known crash has the torch versions it was measured on and a
condition on the call; ``call`` in suite/verdict.py rejects matching calls
(``hypothesis.reject``, counted by ``event``) instead of making them, and
tests/test_known_crashes.py re-runs the minimal crash in a subprocess on
every run, so the entry fails loudly once torch no longer crashes.

ONEDNN_PADDING_WINDOW_CRASH, measured on torch 2.13.0+cpu and 2.14.1+cu130 (on
the CPU), oneDNN v3.12.0, 2 cores with avx512_bf16: F.conv2d segfaults for a
call whose output is channels_last (an NHWC-strided input or weight) when
some output row or column reads only padding (e.g. input (1,4,8,1), weight (2,2,1,1), bias, stride
(1,3), padding (0,2), dilation (1,3), groups 2).  A first reading (float32 or
bfloat16, with a bias, 2+ channels per group) was too narrow: nightly runs
still crashed without a bias, with groups 1 or one channel per group, and in
complex64.  With oneDNN disabled, or with a contiguous input, the same calls
give correct values.  The crashes measured had every output column in the
padding; the guard rejects the wider "some row or column" condition, since a
rare lost example is cheaper than a gate that dies at random.
"""

import torch
from hypothesis import event, reject

from suite.verdict import output_memory_format

MEASURED_ON = ("2.13.", "2.14.")  # release prefixes of the versions measured to crash

MINIMAL_CRASH = """
import torch, torch.nn.functional as F
x = torch.randn(1, 4, 8, 1).contiguous(memory_format=torch.channels_last)
F.conv2d(x, torch.randn(2, 2, 1, 1), torch.randn(2), stride=(1, 3), padding=(0, 2),
         dilation=(1, 3), groups=2)
"""


def _window_reads_only_padding(size, before, kernel, stride, dilation, out):
    """Does some output position along one axis read only padded positions?"""
    for position in range(out):
        first = position * stride
        taps = [first + tap * dilation for tap in range(kernel)]
        if all(tap < before or tap >= before + size for tap in taps):
            return True
    return False


def onednn_padding_window_crash(case, input, weight, bias):
    """Whether this call meets the measured crash condition on this torch."""
    if not torch.__version__.startswith(MEASURED_ON):
        return False
    if input.device.type != "cpu" or not torch.backends.mkldnn.enabled:
        return False
    if output_memory_format(input, weight) != torch.channels_last:
        return False
    geometry = case.geometry()
    top, _, left, _ = geometry.padding
    out_h, out_w = geometry.output_size
    return (_window_reads_only_padding(geometry.height, top, geometry.kernel[0],
                                       geometry.stride[0], geometry.dilation[0], out_h)
            or _window_reads_only_padding(geometry.width, left, geometry.kernel[1],
                                          geometry.stride[1], geometry.dilation[1], out_w))


def avoid_known_crashes(case, tensors):
    """Reject (do not make) a call that is measured to crash this torch."""
    if onednn_padding_window_crash(case, *tensors):
        event("rejected: known oneDNN crash (suite/known_crashes.py)")
        reject()
