"""Forward bugs of the kinds conv2d kernels have really shipped.

Each wraps torch's correct conv2d and breaks one thing, under the narrow
condition where real kernels broke it (a tail, a corner of the argument
forms, a layout), so the suite has to reach that corner to catch it.
"""

import torch
import torch.nn.functional as F

from implementations.broken import broken

EXACT, FLOAT = "forward.exact", "forward.float"
SHAPE, FORMAT = "shape.formula", "shape.memory_format"
UNTOUCHED, REPEATABLE = "purity.untouched", "purity.repeatable"


def _pair(value):
    if isinstance(value, int):
        return (value, value)
    return (value[0], value[0]) if len(value) == 1 else tuple(value)


@broken(caught_by=[EXACT, FLOAT, "rules.neighbour"])
def drops_last_kernel_column(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Ignores the last kernel column when kw > 1 (a loop bound off by one)."""
    if weight.shape[-1] > 1:
        weight = weight.clone()
        weight[..., -1] = 0
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[EXACT])
def flips_the_kernel(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Computes a true convolution (kernel flipped) instead of cross-correlation."""
    return F.conv2d(input, weight.flip(-1, -2), bias, stride, padding, dilation, groups)


@broken(caught_by=[FLOAT])
def multiplies_float32_in_bfloat16(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                   groups=1):
    """Rounds float32 operands to bfloat16 before multiplying (a precision bug)."""
    if input.dtype == torch.float32:
        input, weight = input.bfloat16().float(), weight.bfloat16().float()
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


# Caught by its partial sums' overflow where the float32 sum stays finite.  Measured
# since the size regimes and data features: forward.float's 200 derandomised examples
# met no float16 problem where the half sums' rounding exceeds the bound.
@broken(caught_by=["edges.half_overflow"])
def accumulates_half_in_half(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Sums float16 products in float16, one input channel at a time (a precision bug)."""
    if input.dtype != torch.float16 or weight.shape[1] == 1:
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    out = None
    group_channels = weight.shape[1]
    for c in range(group_channels):
        channels = torch.arange(c, input.shape[-3], group_channels, device=input.device)
        part = F.conv2d(input.index_select(-3, channels), weight[:, c:c + 1], None, stride,
                        padding, dilation, groups)
        out = part if out is None else out + part  # rounds to float16 every step
    return out if bias is None else out + bias[:, None, None]


@broken(caught_by=[EXACT])
def same_padding_extra_row_on_top(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                  groups=1):
    """'same' with an even kernel pads the extra row/column top/left, not bottom/right."""
    if padding != "same":
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    (dh, dw), (kh, kw) = _pair(dilation), weight.shape[-2:]
    total_h, total_w = dh * (kh - 1), dw * (kw - 1)
    padded = F.pad(input, (total_w - total_w // 2, total_w // 2, total_h - total_h // 2,
                           total_h // 2))
    return F.conv2d(padded, weight, bias, 1, 0, dilation, groups)


@broken(caught_by=[EXACT])
def dilation_of_the_first_axis_for_both(input, weight, bias=None, stride=1, padding=0,
                                        dilation=1, groups=1):
    """Uses the vertical dilation on both axes when they differ."""
    dh, _ = _pair(dilation)
    return F.conv2d(input, weight, bias, stride, padding, (dh, dh), groups)


@broken(caught_by=[EXACT])
def depthwise_multiplier_channels_interleaved(input, weight, bias=None, stride=1, padding=0,
                                              dilation=1, groups=1):
    """Depthwise with multiplier m: output channel o reads input channel o % C, not o // m."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    channels, out_channels = input.shape[-3], weight.shape[0]
    if weight.shape[1] != 1 or groups != channels or out_channels == channels:
        return out
    multiplier = out_channels // channels
    order = torch.arange(out_channels).reshape(channels, multiplier).T.reshape(-1)
    return out.index_select(-3, order.to(out.device))


@broken(caught_by=[EXACT])
def reads_views_as_if_contiguous(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                 groups=1):
    """Reads the input's storage with contiguous strides, ignoring the view's own."""
    if not input.is_contiguous() and input.numel():
        input = torch.as_strided(input, input.shape, torch.empty(input.shape).stride(),
                                 input.storage_offset())
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[EXACT, FLOAT])
def loses_the_column_tail(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Vectorised by 4 output columns: a last partial block of columns is left zero."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    width = out.shape[-1]
    if width > 4 and width % 4:
        out = out.clone()
        out[..., width - width % 4:] = 0
    return out


@broken(caught_by=[EXACT])
def bias_added_twice_when_unbatched(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                    groups=1):
    """Adds the bias once in the batching wrapper and again in the kernel for 3-D input."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if input.dim() == 3 and bias is not None:
        out = out + bias[:, None, None]
    return out


@broken(caught_by=[SHAPE, EXACT])
def rounds_the_output_size_up(input, weight, bias=None, stride=1, padding=0, dilation=1,
                              groups=1):
    """Output size with ceil instead of floor: one extra row when a stride leaves a remainder."""
    if isinstance(padding, str):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    (sh, _), (ph, _), (dh, _) = _pair(stride), _pair(padding), _pair(dilation)
    kh = weight.shape[-2]
    if (input.shape[-2] + 2 * ph - dh * (kh - 1) - 1) % sh:
        input = F.pad(input, (0, 0, 0, sh))  # the kernel reads past the end
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[SHAPE])
def keeps_the_batch_dimension_of_unbatched_input(input, weight, bias=None, stride=1, padding=0,
                                                 dilation=1, groups=1):
    """Returns (1, C_out, H', W') for a 3-D input instead of dropping the batch dimension."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    return out.unsqueeze(0) if input.dim() == 3 else out


@broken(caught_by=[SHAPE, EXACT])
def returns_float32_for_half_input(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                   groups=1):
    """Computes half types in float32 and forgets to cast the result back."""
    if input.dtype in (torch.float16, torch.bfloat16):
        return F.conv2d(input.float(), weight.float(), None if bias is None else bias.float(),
                        stride, padding, dilation, groups)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[SHAPE, EXACT])
def rejects_an_empty_batch(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Raises on N = 0, which conv2d accepts (returns an empty batch)."""
    if input.dim() == 4 and input.shape[0] == 0:
        raise RuntimeError("empty input")
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[FORMAT])
def always_returns_contiguous(input, weight, bias=None, stride=1, padding=0, dilation=1,
                             groups=1):
    """Drops channels_last: the output is always NCHW-contiguous."""
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups).contiguous()


@broken(caught_by=[UNTOUCHED])
def pads_in_place_of_the_input(input, weight, bias=None, stride=1, padding=0, dilation=1,
                               groups=1):
    """Uses the input as scratch: zeroes its first column after reading it."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    with torch.no_grad():
        input[..., 0] = 0
    return out


@broken(caught_by=[REPEATABLE])
def sums_channels_in_a_random_order(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                    groups=1):
    """Accumulates per-channel partial results in a random order (like racing atomics)."""
    if groups != 1 or input.shape[-3] < 2 or input.dtype != torch.float32:
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    parts = [F.conv2d(input[..., c:c + 1, :, :], weight[:, c:c + 1], None, stride, padding,
                      dilation) for c in torch.randperm(input.shape[-3]).tolist()]
    out = sum(parts[1:], parts[0])
    return out if bias is None else out + bias[:, None, None]
