"""conv2d as the specification states it: pad, take windows, contract.

Cross-correlation (no kernel flip, no conjugation) in float64, or complex128
for complex data.  Every output element is

    out[n, o, i, j] = bias[o] + sum over c in o's group, p < kh, q < kw of
        input_padded[n, c, i*sh + p*dh, j*sw + q*dw] * weight[o, c', p, q]

computed for all elements at once as one grouped matrix product of the weight
with the input's receptive fields laid out as columns (im2col).

``padding_mode`` is nn.Conv2d's: the padded rows and columns hold zeros
(``'zeros'``, F.conv2d's only mode), the input mirrored without repeating its
edge (``'reflect'``, defined while each pad is smaller than the size it pads),
the edge repeated (``'replicate'``) or the input wrapped around
(``'circular'``, each pad at most the size it pads).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from reference.arguments import resolve


PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}  # nn.Conv2d's name -> numpy.pad's


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros"):
    """The value of ``F.conv2d(input, weight, bias, ...)`` on NumPy arrays (with
    ``padding_mode``: of ``nn.Conv2d(..., padding_mode=...)``)."""
    input, weight = np.asarray(input), np.asarray(weight)
    bias = None if bias is None else np.asarray(bias)
    geometry = resolve(input.shape, weight.shape, None if bias is None else bias.shape,
                       stride, padding, dilation, groups,
                       dtypes=(input.dtype, weight.dtype, None if bias is None else bias.dtype))
    return conv2d_resolved(geometry, input, weight, bias, padding_mode)


def compute_dtype(*arrays):
    """float64, or complex128 when any array is complex."""
    complex_ = any(a is not None and np.iscomplexobj(a) for a in arrays)
    return np.complex128 if complex_ else np.float64


def batched(geometry, input):
    """A 3-D (unbatched) input as a batch of one."""
    return input if geometry.batched else input[None]


def unbatched(geometry, output):
    return output if geometry.batched else output[0]


def padded(geometry, input, dtype, padding_mode="zeros"):
    """The input with rows and columns added on each side (zeros, or per ``padding_mode``)."""
    top, bottom, left, right = geometry.padding
    h, w = input.shape[-2:]
    limit = {"reflect": (h - 1, w - 1), "circular": (h, w)}.get(padding_mode)
    if limit and (max(top, bottom) > limit[0] or max(left, right) > limit[1]):
        raise ValueError(f"padding_mode={padding_mode!r} pads ({top}, {bottom}, {left}, "
                         f"{right}) beyond what a {h}x{w} input defines")
    pads = [(0, 0), (0, 0), (top, bottom), (left, right)]
    return np.pad(input.astype(dtype, copy=False), pads, mode=PADDING_MODES[padding_mode])


def columns(geometry, padded_input):
    """im2col: every receptive field as a column, grouped.

    Shape ``(groups, C/groups * kh * kw, N * out_h * out_w)``: row ``(c, p, q)``
    of group ``g``, column ``(n, i, j)`` holds
    ``padded_input[n, g*C/groups + c, i*sh + p*dh, j*sw + q*dw]``.
    """
    (sh, sw), (dh, dw), (kh, kw) = geometry.stride, geometry.dilation, geometry.kernel
    out_h, out_w = geometry.output_size
    n, c, _, _ = padded_input.shape
    g = geometry.groups
    sn, sc, sy, sx = padded_input.strides
    view = as_strided(
        padded_input,
        shape=(g, c // g, kh, kw, n, out_h, out_w),
        strides=(sc * (c // g), sc, sy * dh, sx * dw, sn, sy * sh, sx * sw),
        writeable=False)
    return view.reshape(g, c // g * kh * kw, n * out_h * out_w)


def weight_rows(geometry, weight, dtype):
    """Weight as ``(groups, out_channels/groups, C/groups * kh * kw)``."""
    groups = geometry.groups
    return weight.astype(dtype, copy=False).reshape(groups, geometry.out_channels // groups, -1)


def conv2d_resolved(geometry, input, weight, bias, padding_mode="zeros"):
    """The forward computation for an already validated call."""
    dtype = compute_dtype(input, weight, bias)
    x = padded(geometry, batched(geometry, input), dtype, padding_mode)
    with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as the specification says
        out = weight_rows(geometry, weight, dtype) @ columns(geometry, x)
    out = out.reshape(geometry.out_channels, x.shape[0], *geometry.output_size)
    out = out.transpose(1, 0, 2, 3)
    if bias is not None:
        out = out + bias.astype(dtype, copy=False)[:, None, None]
    return unbatched(geometry, np.ascontiguousarray(out))
