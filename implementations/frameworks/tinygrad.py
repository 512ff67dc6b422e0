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

from implementations.frameworks.arguments import (batched, declare, resolve, to_numpy, to_torch,
                                                  unbatched)

DEVICE = "CPU"


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d computed by tinygrad on its CPU device."""
    from tinygrad import Tensor
    call = resolve(input, weight, stride, padding, dilation, groups)
    top, bottom, left, right = call.pads
    x = Tensor(batched(to_numpy(input), call), device=DEVICE)
    b = None if bias is None else Tensor(to_numpy(bias), device=DEVICE)
    y = x.conv2d(Tensor(to_numpy(weight), device=DEVICE), b, groups=call.groups,
                 stride=call.stride, dilation=call.dilation, padding=(left, right, top, bottom))
    return to_torch(unbatched(y.numpy(), call), input)


declare(conv2d, "tinygrad", "tinygrad")
