"""Bugs that break conv2d's algebra: each under the condition a metamorphic
property reaches (a batch, a slice, a group, a stride, a zero, a NaN, a view,
a backend switch, a padding mode).

Several also give wrong forward values that the reference comparison sees;
``skips_zero_weight_taps`` (finite data never shows it) and
``drops_the_bias_without_onednn`` (the forward properties run with oneDNN on)
are caught only by metamorphic properties.
"""

import torch
import torch.nn.functional as F

from implementations.broken import broken
from reference import resolve
from reference.memory_format import suggests_channels_last

BATCH, SLICE, GROUPS = "metamorphic.batch", "metamorphic.channel_slice", "metamorphic.groups"
STRIDE, DILATION, PADDING = "metamorphic.stride", "metamorphic.dilation", "metamorphic.padding"
LINEAR_INPUT, LINEAR_WEIGHT = "metamorphic.linear_input", "metamorphic.linear_weight"
SHIFT, NONFINITE = "metamorphic.shift", "nonfinite.receptive_field"
VIEWS, BACKENDS = "layouts.views", "backends.vendor_library_off"
PADDING_MODES = "padding_modes.numpy_pad"


def _swapped(value):
    """A per-axis argument with height and width exchanged (ints stay ints)."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return type(value)(value[::-1])
    return value


@broken(caught_by=[BATCH])
def mixes_samples_when_batched(input, weight, bias=None, stride=1, padding=0, dilation=1,
                               groups=1):
    """With N > 1, reads the batch as if it were stored channel-major (C, N, H, W)."""
    if input.dim() == 4 and input.shape[0] > 1:
        input = input.transpose(0, 1).reshape(input.shape)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[SLICE])
def odd_last_filter_takes_the_first_bias(input, weight, bias=None, stride=1, padding=0,
                                         dilation=1, groups=1):
    """Adds the bias in pairs of filters; an odd last filter gets filter 0's bias."""
    if bias is not None and bias.shape[0] > 1 and bias.shape[0] % 2:
        bias = torch.cat([bias[:-1], bias[:1]])
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[GROUPS, SLICE])
def pairs_filter_groups_with_input_groups_reversed(input, weight, bias=None, stride=1,
                                                   padding=0, dilation=1, groups=1):
    """Group k's filters meet the input channels of group (groups - 1 - k)."""
    if groups > 1:
        input = torch.cat(input.chunk(groups, dim=-3)[::-1], dim=-3)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[STRIDE])
def swaps_the_stride_axes(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Uses stride (sw, sh) for (sh, sw): height and width indices exchanged."""
    return F.conv2d(input, weight, bias, _swapped(stride), padding, dilation, groups)


@broken(caught_by=[DILATION])
def swaps_the_dilation_axes(input, weight, bias=None, stride=1, padding=0, dilation=1,
                            groups=1):
    """Uses dilation (dw, dh) for (dh, dw)."""
    return F.conv2d(input, weight, bias, stride, padding, _swapped(dilation), groups)


@broken(caught_by=[PADDING])
def puts_the_extra_same_padding_first(input, weight, bias=None, stride=1, padding=0,
                                      dilation=1, groups=1):
    """'same' with an odd total pad puts the extra row/column top/left, not bottom/right."""
    if padding == "same":
        top, bottom, left, right = resolve(tuple(input.shape), tuple(weight.shape), None,
                                           stride, padding, dilation, groups).padding
        input, padding = F.pad(input, (right, left, bottom, top)), 0
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[LINEAR_INPUT, LINEAR_WEIGHT])
def skips_zero_work_and_forgets_the_bias(input, weight, bias=None, stride=1, padding=0,
                                         dilation=1, groups=1):
    """Returns 0 without the bias for all-zero filters and windows of all-zero input."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if bias is None:
        return out
    zero_filter = (weight == 0).flatten(1).all(dim=1)[:, None, None]
    reads = F.conv2d((input != 0).to(input.dtype), torch.ones_like(weight), None, stride,
                     padding, dilation, groups)
    return torch.where(zero_filter | (reads == 0), torch.zeros_like(out), out)


@broken(caught_by=[SHIFT])
def every_fourth_column_drops_the_last_tap(input, weight, bias=None, stride=1, padding=0,
                                           dilation=1, groups=1):
    """In tiles of 4 output columns, the last column forgets the kernel's last column."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if weight.shape[-1] > 1:
        short = weight.clone()
        short[..., -1] = 0
        out = out.clone()
        out[..., 3::4] = F.conv2d(input, short, bias, stride, padding, dilation, groups)[..., 3::4]
    return out


@broken(caught_by=[NONFINITE])
def skips_zero_weight_taps(input, weight, bias=None, stride=1, padding=0, dilation=1,
                           groups=1):
    """Skips the products of zero weights, so NaN * 0 and inf * 0 never happen."""
    if not input.is_floating_point():  # what it rejects, it rejects as torch does
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    finite = torch.isfinite(input)
    out = F.conv2d(torch.where(finite, input, 0), weight, bias, stride, padding, dilation, groups)
    hits = F.conv2d((~finite).to(input.dtype), (weight != 0).to(weight.dtype), None, stride,
                    padding, dilation, groups)
    return torch.where(hits != 0, torch.full_like(out, float("nan")), out)


@broken(caught_by=[VIEWS])
def reads_channels_last_input_as_contiguous(input, weight, bias=None, stride=1, padding=0,
                                            dilation=1, groups=1):
    """Reads a channels_last input's memory (N, H, W, C) as if it were (N, C, H, W)."""
    if suggests_channels_last(tuple(input.shape), input.stride()):
        input = input.permute(0, 2, 3, 1).contiguous().view(input.shape)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[BACKENDS])
def drops_the_bias_without_onednn(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                  groups=1):
    """The CPU fallback used when oneDNN is disabled forgets the bias."""
    if input.device.type == "cpu" and not torch.backends.mkldnn.enabled:
        bias = None
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[PADDING_MODES])
def module_pads_with_the_axes_swapped(input, weight, bias=None, stride=1, padding=0,
                                      dilation=1, groups=1, padding_mode="zeros"):
    """An nn.Conv2d-like module that passes F.pad (top, bottom, left, right), which F.pad
    reads as (left, right, top, bottom), for padding modes other than 'zeros'."""
    if padding_mode != "zeros":
        pads = resolve(tuple(input.shape), tuple(weight.shape), None, stride, padding,
                       dilation, groups).padding
        input, padding = F.pad(input, pads, mode=padding_mode), 0
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
