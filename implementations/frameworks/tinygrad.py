"""tinygrad's ``Tensor.conv2d`` (its CPU device, kernels compiled by clang) behind
F.conv2d's signature.

tinygrad has no padding strings: every padding goes as explicit amounts in its
own order, ``(left, right, top, bottom)``.  Stride, dilation, groups and the
bias are passed as they are.  Settings: device "CPU" (clang must be
installed), tinygrad's defaults otherwise: no Winograd (WINO unset), and its
CPU device's own queue worker (tinygrad has no thread-count setting to state).
Each new shape compiles new kernels, which makes it the slowest of the five
to test: docs/framework-bugs.md.
"""

import torch

from implementations.frameworks.arguments import declare, resolve, to_numpy, to_torch, unbatched

DEVICE = "CPU"


def _tensor(tensor):
    """A tinygrad tensor of ``tensor``'s values and dtype (bfloat16 goes through float32,
    which holds it exactly: NumPy has no bfloat16)."""
    from tinygrad import Tensor, dtypes
    if tensor.dtype == torch.bfloat16:
        return Tensor(to_numpy(tensor.float()), device=DEVICE).cast(dtypes.bfloat16)
    return Tensor(to_numpy(tensor), device=DEVICE)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d computed by tinygrad on its CPU device."""
    from tinygrad import dtypes
    call = resolve(input, weight, stride, padding, dilation, groups)
    top, bottom, left, right = call.pads
    x = _tensor(input)
    y = (x if call.batched else x.unsqueeze(0)).conv2d(
        _tensor(weight), None if bias is None else _tensor(bias), groups=call.groups,
        stride=call.stride, dilation=call.dilation, padding=(left, right, top, bottom))
    if y.dtype == dtypes.bfloat16:
        y = y.cast(dtypes.float32)  # exact: then the tensor of the input's dtype
    return to_torch(unbatched(y.numpy(), call), input)


declare(conv2d, "tinygrad", "tinygrad")
