"""nn.Conv2d's padding modes pad as numpy.pad does, then convolve without padding.

'reflect' mirrors without repeating the edge (numpy 'reflect'), 'replicate'
repeats the edge (numpy 'edge'), 'circular' wraps around (numpy 'wrap').  The
convolution is the implementation under test's: one that takes a
``padding_mode`` (the ``module`` preset does) is called with it; any other runs
inside torch's own nn.Conv2d, whose F.conv2d call is routed to it, so the
property checks nn.Conv2d's padding around the conv2d under test.  Exact-tier
data: the result must equal the reference bitwise.
"""

import inspect

import numpy as np
import torch
from hypothesis import given
from torch.overrides import TorchFunctionMode

import reference
from implementations.presets import module
from strategies import conv2d_cases
from strategies.metamorphic import NUMPY_PAD_MODES, padding_mode_cases
from suite.verdict import check_bitwise


class _RoutedConv2d(TorchFunctionMode):
    """Within it, calls of torch.conv2d (that is, F.conv2d) go to ``conv2d``."""

    def __init__(self, conv2d):
        super().__init__()
        self.conv2d = conv2d

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.conv2d:
            return self.conv2d(*args, **(kwargs or {}))
        return func(*args, **(kwargs or {}))


def _takes_padding_mode(conv2d):
    try:
        return "padding_mode" in inspect.signature(conv2d).parameters
    except (TypeError, ValueError):  # a builtin such as F.conv2d has no signature
        return False


def _call_with_padding_mode(conv2d, case, tensors, mode):
    if _takes_padding_mode(conv2d):
        return conv2d(*tensors, **case.arguments, padding_mode=mode)
    with _RoutedConv2d(conv2d):
        return module(*tensors, **case.arguments, padding_mode=mode)


@given(drawn=padding_mode_cases(conv2d_cases(tiers=("exact",))))
def test_padding_modes_pad_like_numpy_pad_then_convolve_without_padding(conv2d, device, drawn):
    case, mode = drawn
    input, weight, bias = arrays = case.arrays()
    out = _call_with_padding_mode(conv2d, case, case.tensors(arrays, device=device), mode)
    top, bottom, left, right = case.geometry().padding
    padded = np.pad(input, [(0, 0)] * (input.ndim - 2) + [(top, bottom), (left, right)],
                    mode=NUMPY_PAD_MODES[mode])
    arguments = dict(case.arguments, padding=0)
    check_bitwise(case, out, reference.conv2d(padded, weight, bias, **arguments),
                  source=f"the reference on numpy.pad(input, mode={NUMPY_PAD_MODES[mode]!r}) "
                         f"[padding_mode={mode!r}]")
