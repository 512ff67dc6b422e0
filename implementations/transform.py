"""Correct conv2d implementations by fast algorithms: Winograd and FFT.

They compute the same function as F.conv2d but not as sums of the n
products, so their rounding errors follow another model: the direct model
(``--conv2d-error-model=direct``) must reject them and the transform model
(``transform``, ``reference.transform_bound.transform_error_bound``) must accept them.

- ``winograd_f2x3``, ``winograd_f4x3``: Winograd minimal filtering
  F(m x m, 3 x 3), nested in 2-D, on m x m output tiles aligned at the
  output's origin;
- ``fft_conv2d``: one FFT per padded image plane, of power-of-two lengths,
  pointwise products summed over input channels, one inverse FFT.

Each computes in the input's dtype (float32 in float32, complex64 FFTs for
float32; float16 and bfloat16 are computed in float32 and the output rounded
once, as real kernels do).  A call its algorithm does not cover (another
kernel size for Winograd, a stride, a dilation, complex32, empty tensors, zero
channels, mixed dtypes or devices, argument forms other than ints, 2-sequences
and 'same'/'valid', and every invalid call) is handed to F.conv2d unchanged,
so errors and edge cases behave exactly as torch's.  So is a call that
autograd records (a tensor requires grad, in grad mode): like many inference
kernels, these compute the forward pass by their algorithm and leave training
calls (and so every gradient) to torch.
"""

import numbers

import torch
import torch.nn.functional as F

from implementations.correct import WITHOUT_AUTOCAST
from reference.memory_format import suggests_channels_last

# Winograd F(2, 3), Lavin & Gray (2016), interpolation points 0, 1, -1 and
# infinity.  y = AT [(G g) * (BT d)] for a 4-element input d and a 3-tap
# filter g gives the 2 outputs of their correlation.
F2X3_BT = ((1, 0, -1, 0),
           (0, 1, 1, 0),
           (0, -1, 1, 0),
           (0, 1, 0, -1))
F2X3_G = ((1, 0, 0),
          (1 / 2, 1 / 2, 1 / 2),
          (1 / 2, -1 / 2, 1 / 2),
          (0, 0, 1))
F2X3_AT = ((1, 1, 1, 0),
           (0, 1, -1, -1))

# Winograd F(4, 3), Lavin & Gray (2016), points 0, 1, -1, 2, -2 and infinity
# (the 1/4, 1/6, 1/12, 1/24 factors live in G); 6-element input tiles.
F4X3_BT = ((4, 0, -5, 0, 1, 0),
           (0, -4, -4, 1, 1, 0),
           (0, 4, -4, -1, 1, 0),
           (0, -2, -1, 2, 1, 0),
           (0, 2, -1, -2, 1, 0),
           (0, 4, 0, -5, 0, 1))
F4X3_G = ((1 / 4, 0, 0),
          (-1 / 6, -1 / 6, -1 / 6),
          (-1 / 6, 1 / 6, -1 / 6),
          (1 / 24, 1 / 12, 1 / 6),
          (1 / 24, -1 / 12, 1 / 6),
          (0, 0, 1))
F4X3_AT = ((1, 1, 1, 1, 1, 0),
           (0, 1, -1, 2, -2, 0),
           (0, 1, 1, 4, 4, 0),
           (0, 1, -1, 8, -8, 1))

# dtypes computed in float32 and rounded once at the end.
_WIDENED = (torch.float16, torch.bfloat16)
# Larger padding is left to torch (its own overflow and allocation errors).
_LARGEST_PAD = 2 ** 16
_SUPPORTED = (torch.float32, torch.float64, torch.complex64, torch.complex128) + _WIDENED


def winograd_f2x3(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d by Winograd F(2x2, 3x3) for 3x3 kernels, stride 1, dilation 1."""
    return _winograd(F2X3_AT, F2X3_G, F2X3_BT, input, weight, bias, stride, padding, dilation,
                     groups)


def winograd_f4x3(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d by Winograd F(4x4, 3x3) for 3x3 kernels, stride 1, dilation 1."""
    return _winograd(F4X3_AT, F4X3_G, F4X3_BT, input, weight, bias, stride, padding, dilation,
                     groups)


def fft_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d by 2-D FFTs of power-of-two lengths, stride 1, dilation 1, any kernel size."""
    call = _Call.accept(input, weight, bias, stride, padding, dilation, groups)
    if call is None:
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    return fft_correlation(call, lambda padded: tuple(_power_of_two(size) for size in padded))


def fft_correlation(call, lengths_for):
    """The call by FFTs of the lengths ``lengths_for(padded (H, W))`` returns."""
    x, w, b = call.working_tensors()
    out_h, out_w = call.output_size
    x = F.pad(x, call.pads)  # (N, C, Hp, Wp)
    lengths = lengths_for(tuple(x.shape[-2:]))
    if x.is_complex():
        # Correlation with w is a product with sum_k w[k] e^{+2 pi i f k / n}: an
        # unscaled inverse transform of w.
        spectrum_x = torch.fft.fft2(x, s=lengths)
        spectrum_w = torch.fft.ifft2(w, s=lengths, norm="forward")
    else:
        spectrum_x = torch.fft.rfft2(x, s=lengths)
        spectrum_w = torch.fft.rfft2(w, s=lengths).conj()
    n, g = x.shape[0], call.groups
    sx = spectrum_x.reshape(n, g, 1, x.shape[1] // g, *spectrum_x.shape[-2:])
    sw = spectrum_w.reshape(1, g, w.shape[0] // g, w.shape[1], *spectrum_w.shape[-2:])
    product = (sx * sw).sum(dim=3).reshape(n, w.shape[0], *spectrum_x.shape[-2:])
    if x.is_complex():
        planes = torch.fft.ifft2(product, s=lengths)
    else:
        planes = torch.fft.irfft2(product, s=lengths)
    return call.finish(planes[..., :out_h, :out_w], b)


def _winograd(AT, G, BT, input, weight, bias, stride, padding, dilation, groups):
    call = _Call.accept(input, weight, bias, stride, padding, dilation, groups)
    if call is None or call.kernel != (3, 3):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    x, w, b = call.working_tensors()
    AT, G, BT = (torch.tensor(M, dtype=x.dtype, device=x.device) for M in (AT, G, BT))
    tiles = winograd_tiles(F.pad(x, call.pads), BT.shape[0], AT.shape[0], call.output_size)
    out = winograd_tile_outputs(tiles, w, AT, G, BT, call.groups)
    return call.finish(assemble_tiles(out, call.output_size), b)


def winograd_tiles(padded, n, m, output_size, step=None):
    """(N, C, Th, Tw, n, n) input tiles, one per m x m output tile, ``step`` apart
    (default m: consecutive tiles share n - m = r - 1 rows and columns); the last
    partial tiles read zeros beyond the padded input."""
    step = step or m
    tiles_h, tiles_w = (-(-size // m) for size in output_size)
    extra_h = (tiles_h - 1) * step + n - padded.shape[-2]
    extra_w = (tiles_w - 1) * step + n - padded.shape[-1]
    padded = F.pad(padded, (0, max(0, extra_w), 0, max(0, extra_h)))
    return padded.unfold(2, n, step).unfold(3, n, step)[:, :, :tiles_h, :tiles_w]


def winograd_tile_outputs(tiles, weight, AT, G, BT, groups):
    """(N, O, Th, Tw, m, m): AT [ sum_c (G w_c G^T) * (BT d_c B) ] A per tile."""
    n_batch, channels, tiles_h, tiles_w, n, _ = tiles.shape
    out_channels = weight.shape[0]
    V = BT @ tiles @ BT.T                        # input transform, (N, C, Th, Tw, n, n)
    U = G @ weight @ G.T                         # kernel transform, (O, C/g, n, n)
    # The channel sum in the transformed domain: one matmul per (group, point).
    V = V.reshape(n_batch, groups, channels // groups, tiles_h * tiles_w, n * n)
    V = V.permute(4, 1, 2, 0, 3).reshape(n * n, groups, channels // groups, -1)
    U = U.reshape(groups, out_channels // groups, channels // groups, n * n).permute(3, 0, 1, 2)
    P = (U @ V).reshape(n, n, out_channels, n_batch, tiles_h, tiles_w)
    P = P.permute(3, 2, 4, 5, 0, 1)              # (N, O, Th, Tw, n, n)
    return AT @ P @ AT.T                         # output transform, (N, O, Th, Tw, m, m)


def assemble_tiles(tile_outputs, output_size):
    """(N, O, out_h, out_w) from (N, O, Th, Tw, m, m): tiles side by side, cropped."""
    n_batch, out_channels, tiles_h, tiles_w, m, _ = tile_outputs.shape
    planes = tile_outputs.permute(0, 1, 2, 4, 3, 5).reshape(
        n_batch, out_channels, tiles_h * m, tiles_w * m)
    return planes[..., :output_size[0], :output_size[1]]


def _power_of_two(size):
    return 1 << max(0, (size - 1).bit_length())


class _Call:
    """A call a fast algorithm can take: everything valid, plain and non-empty."""

    def __init__(self, input, weight, bias, pads, groups):
        self.unbatched = input.dim() == 3
        self.input = input.unsqueeze(0) if self.unbatched else input
        self.weight, self.bias, self.groups = weight, bias, groups
        self.pads = pads  # F.pad order: (left, right, top, bottom)
        self.kernel = tuple(weight.shape[-2:])
        height = self.input.shape[-2] + pads[2] + pads[3]
        width = self.input.shape[-1] + pads[0] + pads[1]
        self.output_size = (height - self.kernel[0] + 1, width - self.kernel[1] + 1)
        self.channels_last = (not self.unbatched) and (
            _suggests_channels_last(input) or _suggests_channels_last(weight))

    @classmethod
    def accept(cls, input, weight, bias, stride, padding, dilation, groups):
        """The call, or None when F.conv2d should take it (unusual or invalid)."""
        tensors = (input, weight) + (() if bias is None else (bias,))
        if not all(isinstance(t, torch.Tensor) for t in tensors):
            return None
        if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
            return None  # a training call: torch's kernel and gradients
        if input.dtype not in _SUPPORTED or any(t.dtype != input.dtype for t in tensors):
            return None
        if any(t.device != input.device for t in tensors) or input.device.type == "meta":
            return None
        if input.dim() not in (3, 4) or weight.dim() != 4 or not _is_int(groups) or groups < 1:
            return None
        if _pair(stride) != (1, 1) or _pair(dilation) != (1, 1):
            return None
        out_channels, group_channels, kh, kw = weight.shape
        channels, height, width = input.shape[-3:]
        if min(out_channels, group_channels, kh, kw, height, width, input.numel()) == 0:
            return None  # empty tensors and zero channels: torch's own rules
        if channels != group_channels * groups or out_channels % groups:
            return None
        if bias is not None and tuple(bias.shape) != (out_channels,):
            return None
        pads = _pads(padding, (kh, kw))
        if pads is None or max(pads) > _LARGEST_PAD:
            return None
        if height + pads[2] + pads[3] < kh or width + pads[0] + pads[1] < kw:
            return None
        return cls(input, weight, bias, pads, groups)

    def working_tensors(self):
        """input, weight, bias in the dtype the algorithm computes in."""
        dtype = torch.float32 if self.input.dtype in _WIDENED else self.input.dtype
        convert = lambda t: None if t is None else t.to(dtype)  # noqa: E731
        return convert(self.input), convert(self.weight), convert(self.bias)

    def finish(self, planes, bias):
        """Add the bias once, round to the input's dtype, torch's layout and rank."""
        if bias is not None:
            planes = planes + bias[:, None, None]
        out = planes.to(self.input.dtype)
        out = out.contiguous(memory_format=torch.channels_last if self.channels_last
                             else torch.contiguous_format)
        return out[0] if self.unbatched else out


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _pair(value):
    """(h, w) from an int or a 1-/2-sequence of ints; None for any other form."""
    if _is_int(value):
        return (int(value), int(value))
    if isinstance(value, (tuple, list)) and len(value) in (1, 2) and all(map(_is_int, value)):
        return tuple(int(v) for v in value) * (2 // len(value))
    return None


def _pads(padding, kernel):
    """(left, right, top, bottom) for F.pad, or None for forms left to torch."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":  # stride and dilation are 1 here: total k - 1, extra at the end
        (kh, kw) = kernel
        return ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)
    if isinstance(padding, str):
        return None
    pair = _pair(padding)
    if pair is None or min(pair) < 0:
        return None
    return (pair[1], pair[1], pair[0], pair[0])


def _suggests_channels_last(tensor):
    """torch's reading of strides (reference/memory_format.py: a view of NHWC storage
    suggests channels_last whatever its sizes)."""
    return suggests_channels_last(tuple(tensor.shape), tensor.stride())


# Their forward computes in the input's dtype under torch.autocast too: not claimed.
winograd_f2x3.domain = winograd_f4x3.domain = fft_conv2d.domain = WITHOUT_AUTOCAST
