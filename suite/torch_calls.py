"""Whether an implementation hands a call to torch's own convolution.

torch's registry entries are about torch's conv2d kernels.  An implementation
inherits them only on the calls it hands to torch (a wrapper, a fallback for
what it does not cover, a loop over F.conv2d); a kernel that never calls
torch (another framework, a NumPy or Triton kernel) cannot show them, so they
say nothing about it.  ``reaches_torch`` makes the call under a dispatch mode
that stops it at the first of torch's convolution operators: it tells without
running torch's kernel, so the call of a crash entry is never made.
"""

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# aten operators that are torch's convolution (the dispatcher's names, overloads aside):
# the public one and the backends it routes to.
CONVOLUTION_OPERATORS = frozenset({
    "convolution", "_convolution", "conv2d", "convolution_overrideable", "mkldnn_convolution",
    "_slow_conv2d_forward", "thnn_conv2d", "slow_conv_dilated2d", "_nnpack_spatial_convolution",
    "_conv_depthwise2d", "cudnn_convolution", "miopen_convolution", "_mps_convolution"})
TORCH_CONV2D = (torch.nn.functional.conv2d, torch.conv2d)


class _Reached(Exception):
    """Raised at the first convolution operator: the call reaches torch."""


class _StopAtConvolution(TorchDispatchMode):
    """Stops a call at torch's convolution, remembering that it got there (an
    implementation may catch the exception and go on)."""

    reached = False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in CONVOLUTION_OPERATORS:
            self.reached = True
            raise _Reached(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def reaches_torch(conv2d, case, tensors):
    """Whether ``conv2d`` hands ``case``'s call on ``tensors`` to torch's convolution
    (torch's own conv2d does, without asking)."""
    if getattr(conv2d, "__wrapped__", conv2d) in TORCH_CONV2D:
        return True
    mode = _StopAtConvolution()
    try:
        with mode:
            case.invoke(conv2d, tensors)
    except Exception:  # noqa: BLE001 - stopped there, or whatever else it does
        pass
    return mode.reached
