"""Whether an implementation hands a call to torch's own kernels.

torch's registry entries are about torch's conv2d: its convolution kernels,
the matrix products (oneDNN's GEMMs) the same bugs live in, and nn.Conv2d's
padding.  An implementation inherits them only on the calls it hands to torch
(a wrapper, a fallback for what it does not cover, a loop over F.conv2d, an
im2col over torch.matmul); a kernel that never computes with torch (another
framework, a NumPy kernel) cannot show them, and a behaviour of its own that
happens to look like one of them (flushing subnormals) must not be explained
by torch's entry.  ``reaches_torch`` makes the call under a dispatch mode that
stops it at the first of those operators: it tells without running torch's
kernel, so the call of a crash entry is never made.
"""

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from case import parse

# aten operators (the dispatcher's names, overloads aside): torch's convolution, the
# public one and the backends it routes to, and its matrix products.
KERNEL_OPERATORS = frozenset({
    "convolution", "_convolution", "conv2d", "convolution_overrideable", "mkldnn_convolution",
    "_slow_conv2d_forward", "thnn_conv2d", "slow_conv_dilated2d", "_nnpack_spatial_convolution",
    "_conv_depthwise2d", "cudnn_convolution", "miopen_convolution", "_mps_convolution",
    "mm", "bmm", "addmm", "baddbmm", "addbmm", "matmul", "linear", "dot", "vdot", "mv",
    "_mkldnn_matmul"})
TORCH_CONV2D = (torch.nn.functional.conv2d, torch.conv2d)


class _Reached(Exception):
    """Raised at the first of those operators: the call reaches torch."""


class _StopAtConvolution(TorchDispatchMode):
    """Stops a call at torch's kernels, remembering that it got there (an
    implementation may catch the exception and go on)."""

    reached = False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in KERNEL_OPERATORS:
            self.reached = True
            raise _Reached(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


# The smallest call: whether an implementation computes with torch at all.
_PROBE = "in1x1x3x3:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0"


def computes_with_torch(conv2d):
    """Whether ``conv2d`` hands a plain float32 call to torch's kernels (a wrapper or
    a preset of torch does; another framework's kernel does not)."""
    case = parse(_PROBE)
    return reaches_torch(conv2d, case, case.tensors())


class Reaches:
    """``reaches_torch`` for one call, asked at most once, when a registry entry needs it."""

    def __init__(self, conv2d, case, tensors):
        self._call, self._answer = (conv2d, case, tensors), None

    def __call__(self):
        if self._answer is None:
            self._answer = reaches_torch(*self._call)
        return self._answer


def reaches_torch(conv2d, case, tensors):
    """Whether ``conv2d`` hands ``case``'s call on ``tensors`` to torch's kernels (torch's
    own conv2d does, without asking).  A padding-mode call runs torch's nn.Conv2d around
    the implementation (case/calls.py), which pads and then calls it: that reaches
    torch's kernels only if the implementation does (entries about the padding itself
    say ``around_the_kernel``)."""
    if getattr(conv2d, "__wrapped__", conv2d) in TORCH_CONV2D:
        return True
    mode = _StopAtConvolution()
    try:
        with mode:
            case.invoke(conv2d, tensors)
    except Exception:  # noqa: BLE001 - stopped there, or whatever else it does
        pass
    return mode.reached
