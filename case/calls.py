"""How a case's call reaches the implementation when it is not a plain F.conv2d call.

nn.Conv2d's padding modes ('reflect', 'replicate', 'circular') are not
arguments of F.conv2d: nn.Conv2d pads the input itself and then calls
F.conv2d with no padding.  An implementation that takes ``padding_mode`` (the
``module`` preset does) is called with it; any other runs inside torch's own
nn.Conv2d with that module's F.conv2d call routed to it, so a padding-mode
case checks nn.Conv2d's padding around the conv2d under test.
"""

import inspect

import torch
from torch.overrides import TorchFunctionMode


class _Conv2dModule(torch.nn.Conv2d):
    """nn.Conv2d that leaves its parameters uninitialised: each call supplies
    them (and initialising is a random op, which torch.func.vmap refuses)."""

    def reset_parameters(self):
        pass


def module_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                  padding_mode="zeros"):
    """``nn.Conv2d(...)(input)`` with ``weight`` and ``bias`` as its parameters.

    Built on the meta device (nothing allocated) and run with
    ``torch.func.functional_call``, so it computes with the very tensors passed
    in and gradients reach them.
    """
    layer = _Conv2dModule(
        weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]), stride=stride,
        padding=padding, dilation=dilation, groups=groups, bias=bias is not None,
        padding_mode=padding_mode, device="meta")
    parameters = {"weight": weight} if bias is None else {"weight": weight, "bias": bias}
    return torch.func.functional_call(layer, parameters, (input,))


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


def with_padding_mode(conv2d, tensors, arguments, padding_mode):
    """``conv2d`` on ``tensors`` the way nn.Conv2d with ``padding_mode`` calls it."""
    if _takes_padding_mode(conv2d):
        return conv2d(*tensors, **arguments, padding_mode=padding_mode)
    with _RoutedConv2d(conv2d):
        return module_conv2d(*tensors, **arguments, padding_mode=padding_mode)
