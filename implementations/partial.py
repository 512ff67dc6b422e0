"""A kernel that covers only part of conv2d, and says so: the domain's own example.

``winograd_f4x3_only`` is implementations/transform.py's Winograd F(4x4, 3x3)
that computes float32 and float16 calls with a 3 x 3 kernel, stride 1 and
dilation 1, and refuses every other valid call with NotImplementedError
instead of handing it to F.conv2d.  Its domain file, ``winograd_f4x3.toml``
next to this module, declares exactly that, with ``outside = "raise"``; the
self-check runs it with that file and the transform error model, and it must
pass every property.  A call the specification rejects still goes to
F.conv2d, so its errors are torch's.
"""

import torch

from implementations.correct import _rejected
from implementations.transform import _pair, winograd_f4x3

DOMAIN = "implementations/winograd_f4x3.toml"
CLAIMED_DTYPES = (torch.float32, torch.float16)


def claims(input, weight, stride, dilation):
    """Whether the call lies in the declared domain (what winograd_f4x3.toml says)."""
    return (input.dtype in CLAIMED_DTYPES and tuple(weight.shape[-2:]) == (3, 3)
            and _pair(stride) == (1, 1) and _pair(dilation) == (1, 1))


def winograd_f4x3_only(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Winograd F(4x4, 3x3) on its domain; NotImplementedError for other valid calls."""
    if not _rejected(input, weight, bias, stride, padding, dilation, groups) and not claims(
            input, weight, stride, dilation):
        raise NotImplementedError(
            f"winograd_f4x3_only takes float32/float16, 3x3, stride 1, dilation 1, not "
            f"{str(input.dtype).removeprefix('torch.')} {tuple(weight.shape[-2:])} "
            f"stride={stride} dilation={dilation}")
    return winograd_f4x3(input, weight, bias, stride, padding, dilation, groups)
