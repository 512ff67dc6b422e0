"""Bugs of a framework adapter: the translation to another framework's convolution is wrong.

Each is implementations/frameworks/numpy_im2col.py (a correct NumPy conv2d with
a framework's contract: values only, implementations/frameworks/numpy_im2col.toml)
with one mistake people make when they hand conv2d's arguments or tensors to
another framework.  So the value properties, under that non-torch contract and
with no framework installed, must catch each one.
"""

import dataclasses

import numpy as np
import torch

from implementations.broken import broken
from implementations.frameworks import numpy_im2col
from implementations.frameworks.arguments import resolve

OPTIONS = ("--conv2d-domain=implementations/frameworks/numpy_im2col.toml",)


@broken(caught_by=["forward.exact", "nonfinite.receptive_field"], options=OPTIONS)
def same_padding_extra_row_on_top(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                  groups=1):
    """Translates 'same' with the odd extra row and column before (top, left), not after."""
    call = resolve(input, weight, stride, padding, dilation, groups)
    if call.padding == "same":
        top, bottom, left, right = call.pads
        call = dataclasses.replace(call, pads=(bottom, top, right, left))
    return numpy_im2col.convolve(input, weight, bias, call)


@broken(caught_by=["forward.exact", "metamorphic.groups"], options=OPTIONS)
def every_group_reads_the_first_groups_channels(input, weight, bias=None, stride=1, padding=0,
                                                dilation=1, groups=1):
    """Hands every group the first group's input channels (the groups' split dropped)."""
    call = resolve(input, weight, stride, padding, dilation, groups)
    first = input[..., :weight.shape[1], :, :]
    repeated = first.repeat(*[1] * (input.dim() - 3), groups, 1, 1) if groups > 0 else input
    return numpy_im2col.convolve(repeated, weight, bias, call)


@broken(caught_by=["forward.exact", "layouts.views"], options=OPTIONS)
def reads_channels_last_memory_as_nchw(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                       groups=1):
    """Flattens each tensor in memory order (NumPy order='K') and reshapes it to its NCHW
    shape: right for contiguous tensors, scrambled for channels_last and other views."""
    call = resolve(input, weight, stride, padding, dilation, groups)

    def as_stored(tensor):
        array = tensor.detach().cpu().numpy()
        return torch.from_numpy(np.ravel(array, order="K").reshape(array.shape).copy())
    if input.dtype == torch.bfloat16:  # NumPy has no bfloat16: go through float32
        return reads_channels_last_memory_as_nchw(
            input.float(), weight.float(), None if bias is None else bias.float(), stride,
            padding, dilation, groups).to(torch.bfloat16)
    return numpy_im2col.convolve(as_stored(input), as_stored(weight), bias, call)


@broken(caught_by=["forward.exact", "metamorphic.stride"], options=OPTIONS)
def swaps_height_and_width_but_not_the_arguments(input, weight, bias=None, stride=1, padding=0,
                                                 dilation=1, groups=1):
    """Transposes input and weight to (W, H) for the framework and back, but passes stride,
    padding and dilation in (H, W) order: right only where they are alike on both axes."""
    call = resolve(input, weight, stride, padding, dilation, groups)
    out = numpy_im2col.convolve(input.transpose(-1, -2), weight.transpose(-1, -2), bias, call)
    return out.transpose(-1, -2).contiguous()
