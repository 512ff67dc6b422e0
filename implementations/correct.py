"""Correct conv2d implementations that differ from the default: no false alarms.

The suite must pass every one of them: another CPU kernel (oneDNN off),
float64 accumulation, and im2col + matmul (a different summation order).
"""

import torch
import torch.nn.functional as F

from suite.verdict import output_memory_format


def without_mkldnn(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch's slow CPU path (oneDNN disabled)."""
    with torch.backends.mkldnn.flags(enabled=False):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def accumulating_in_float64(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Computes in float64 (complex128), then rounds once to the input's dtype."""
    wide = torch.complex128 if input.is_complex() else torch.float64
    out = F.conv2d(input.to(wide), weight.to(wide), None if bias is None else bias.to(wide),
                   stride, padding, dilation, groups)
    return out.to(input.dtype).contiguous(memory_format=output_memory_format(input, weight))


def im2col_matmul(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """unfold (im2col) then one batched matmul per group: another summation order."""
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    out_channels, group_channels, kh, kw = weight.shape
    stride, dilation = _pair(stride), _pair(dilation)
    if isinstance(padding, str):
        x = F.pad(x, _padding_string(padding, (kh, kw), dilation))
        padding = 0
    padding = _pair(padding)
    n, _, h, w = x.shape
    out_h, out_w = _output_size((h, w), (kh, kw), stride, padding, dilation)
    columns = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    columns = columns.reshape(n, groups, group_channels * kh * kw, out_h * out_w)
    rows = weight.reshape(groups, out_channels // groups, group_channels * kh * kw)
    out = torch.einsum("gok,ngkl->ngol", rows, columns)
    out = out.reshape(n, out_channels, out_h, out_w)
    if bias is not None:
        out = out + bias[:, None, None]
    out = out.contiguous(memory_format=output_memory_format(input, weight))
    return out[0] if unbatched else out


def _pair(value):
    """(height, width) from an int, a 1- or a 2-sequence."""
    return (value, value) if isinstance(value, int) else tuple(value) * (2 // len(value))


def _padding_string(padding, kernel, dilation):
    """F.pad amounts (left, right, top, bottom) for 'valid' or 'same'."""
    if padding == "valid":
        return (0, 0, 0, 0)
    (dh, dw), (kh, kw) = dilation, kernel
    total_h, total_w = dh * (kh - 1), dw * (kw - 1)
    return (total_w // 2, total_w - total_w // 2, total_h // 2, total_h - total_h // 2)


def _output_size(size, kernel, stride, padding, dilation):
    return tuple((size[a] + 2 * padding[a] - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1
                 for a in (0, 1))
