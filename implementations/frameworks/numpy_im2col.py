"""A NumPy-only conv2d (im2col + einsum) behind F.conv2d's signature: the adapters' own check.

It is an adapter like the framework ones (arguments.py resolves the call; the
arrays go through NumPy and come back as a tensor of the input's dtype) whose
convolution needs nothing but NumPy, so CI can run it, and its broken twins
(implementations/broken/adapters.py), without any framework installed.  It
computes in float64 (complex128) and rounds once to the input's dtype, which
is within the direct error model's bound; it shares no code with reference/.
Its contract (numpy_im2col.toml's [claims]) is a framework's: values only,
no torch errors, autograd, vmap or memory format.
"""

import numpy as np
import torch

from implementations.frameworks.arguments import batched, declare, resolve, to_torch, unbatched


def _wide(tensor):
    """A tensor's values as a float64 (complex128) NumPy array: exact for every dtype."""
    wide = torch.complex128 if tensor.is_complex() else torch.float64
    return tensor.detach().cpu().to(wide).numpy()


def columns(x, kernel, call):
    """im2col: ``x`` (N, C, H, W) padded by ``call.pads``, as (N, C, kh*kw, out_h, out_w),
    one slice of the padded input per kernel tap."""
    top, bottom, left, right = call.pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    (sh, sw), (dh, dw), (kh, kw) = call.stride, call.dilation, kernel
    out_h = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    out_w = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    rows, cols = sh * (out_h - 1) + 1, sw * (out_w - 1) + 1  # the span one tap reads
    taps = [x[:, :, i * dh:i * dh + rows:sh, j * dw:j * dw + cols:sw]
            for i in range(kh) for j in range(kw)]
    return np.stack(taps, axis=2)


def correlate(x, w, call):
    """The grouped cross-correlation of NumPy ``x`` (N, C, H, W) with ``w`` (O, C/g, kh, kw)."""
    cols = columns(x, w.shape[2:], call)
    n, _, taps, out_h, out_w = cols.shape
    g = call.groups
    out_channels, group_channels = w.shape[:2]
    y = np.einsum("ngckhw,gock->ngohw", cols.reshape(n, g, group_channels, taps, out_h, out_w),
                  w.reshape(g, out_channels // g, group_channels, taps), optimize=True)
    return y.reshape(n, out_channels, out_h, out_w)


def convolve(input, weight, bias, call):
    """conv2d of torch tensors for a resolved ``call``, rounded once to the input's dtype."""
    y = correlate(batched(_wide(input), call), _wide(weight), call)
    if bias is not None:
        y = y + _wide(bias)[:, None, None]
    return to_torch(unbatched(y, call), input)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d computed by im2col and einsum in NumPy."""
    return convolve(input, weight, bias, resolve(input, weight, stride, padding, dilation, groups))


declare(conv2d, "numpy_im2col")
