"""Correct conv2d implementations that differ from the default: no false alarms.

The suite must pass every one of them on every conformance property: another
CPU kernel (oneDNN off), float64 accumulation, and im2col + matmul (a
different summation order).  The last two compute on their own; a call the
specification rejects they hand to F.conv2d, so its errors are torch's, as a
kernel that leaves argument checking to torch's front end would.
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import reference
from reference.memory_format import CHANNELS_LAST, output_memory_format
from suite.device import without_vendor_library


def _memory_format(input, weight):
    """torch's name for the memory format the result must have."""
    chosen = output_memory_format(tuple(input.shape), input.stride(), tuple(weight.shape),
                                  weight.stride())
    return torch.channels_last if chosen == CHANNELS_LAST else torch.contiguous_format


def _rejected(input, weight, bias, stride, padding, dilation, groups):
    """Whether the specification rejects this call (reference/arguments.py)."""
    def name(tensor):
        return None if tensor is None else str(tensor.dtype).removeprefix("torch.")
    try:
        reference.resolve(tuple(input.shape), tuple(weight.shape),
                          None if bias is None else tuple(bias.shape), stride, padding, dilation,
                          groups, dtypes=(name(input), name(weight), name(bias)))
    except reference.ConvArgumentError:
        return True
    return False


def without_mkldnn(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch's slow CPU path (oneDNN disabled; ``without_vendor_library`` does not set
    oneDNN's TF32 flag, which ``torch.backends.mkldnn.flags`` sets with a warning)."""
    with without_vendor_library("cpu"):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


without_mkldnn.onednn = False  # the state it calls torch in, for the registry (suite/run.py)


def accumulating_in_float64(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Computes in float64 (complex128), then rounds once to the input's dtype."""
    if _rejected(input, weight, bias, stride, padding, dilation, groups):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    wide = torch.complex128 if input.is_complex() else torch.float64
    out = F.conv2d(input.to(wide), weight.to(wide), None if bias is None else bias.to(wide),
                   stride, padding, dilation, groups)
    return out.to(input.dtype).contiguous(memory_format=_memory_format(input, weight))


def im2col_matmul(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """unfold (im2col) then one batched matmul per group: another summation order."""
    if _rejected(input, weight, bias, stride, padding, dilation, groups):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
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
    columns = _columns(x, (kh, kw), stride, padding, dilation, (out_h, out_w))
    columns = columns.reshape(n, groups, group_channels * kh * kw, out_h * out_w)
    rows = weight.reshape(groups, out_channels // groups, group_channels * kh * kw)
    out = torch.einsum("gok,ngkl->ngol", rows, columns)
    out = out.reshape(n, out_channels, out_h, out_w)
    if bias is not None:
        out = out + bias[:, None, None]
    out = out.contiguous(memory_format=_memory_format(input, weight))
    return out[0] if unbatched else out


def _columns(x, kernel, stride, padding, dilation, output_size):
    """im2col by slicing, (N, C * kh * kw, out_h * out_w): F.unfold takes no empty tensor
    (no channels, no batch, no rows), and slices of one differentiate like any other."""
    (kh, kw), (sh, sw), (dh, dw), (out_h, out_w) = kernel, stride, dilation, output_size
    n, c = x.shape[:2]
    if min(out_h, out_w, kh, kw) == 0:  # no window, or windows of no tap: nothing to slice
        return (x.sum() * 0).expand(n, c * kh * kw, out_h * out_w)
    x = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    rows, cols = sh * (out_h - 1) + 1, sw * (out_w - 1) + 1  # the span of one tap's reads
    taps = [x[:, :, p * dh:p * dh + rows:sh, q * dw:q * dw + cols:sw]
            for p in range(kh) for q in range(kw)]
    return torch.stack(taps, dim=2).reshape(n, c * kh * kw, out_h * out_w)


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


def numpy_reference(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``reference.conv2d`` behind F.conv2d's signature, rounded once to the input's dtype:
    a formulation run on it shows what the formulation itself computes."""
    arrays = [None if tensor is None else tensor.detach().cpu().to(
        torch.complex128 if tensor.is_complex() else torch.float64).numpy()
              for tensor in (input, weight, bias)]
    output = reference.conv2d(*arrays, stride=stride, padding=padding, dilation=dilation,
                              groups=groups)
    return torch.from_numpy(np.ascontiguousarray(output)).to(dtype=input.dtype,
                                                             device=input.device)


# They compute in their inputs' dtype under torch.autocast too: not a claim they make.
WITHOUT_AUTOCAST = Path(__file__).with_name("without_autocast.toml")
accumulating_in_float64.domain = im2col_matmul.domain = WITHOUT_AUTOCAST
