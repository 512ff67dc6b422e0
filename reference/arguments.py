"""From the arguments of a conv2d call to its geometry, one rule at a time.

``resolve`` is the whole validation of the specification: it checks every rule
of ``rules.Rule`` in the order torch checks them and returns the resolved
geometry (per-axis stride, dilation and the four padding amounts), which the
forward computation, the adjoints, the numerics and the tests all share.
"""

import dataclasses
import numbers

import numpy as np

from reference.rules import ConvArgumentError, Rule

PADDING_STRINGS = ("same", "valid")


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Everything about a valid call except its data.

    ``padding`` is ``(top, bottom, left, right)``: 'same' may pad one more row
    at the bottom and one more column at the right than at the top and left.
    """

    batched: bool
    batch: int
    in_channels: int
    height: int
    width: int
    out_channels: int
    kernel: tuple
    stride: tuple
    dilation: tuple
    padding: tuple
    groups: int

    @property
    def output_size(self):
        """(out_h, out_w) = floor((in + pads - dil*(k-1) - 1) / stride) + 1."""
        top, bottom, left, right = self.padding
        return (
            output_length(self.height, top + bottom, self.kernel[0], self.stride[0], self.dilation[0]),
            output_length(self.width, left + right, self.kernel[1], self.stride[1], self.dilation[1]),
        )

    @property
    def output_shape(self):
        shape = (self.out_channels, *self.output_size)
        return (self.batch, *shape) if self.batched else shape

    @property
    def dot_length(self):
        """n: the number of products summed into each output element."""
        return self.in_channels // self.groups * self.kernel[0] * self.kernel[1]

    def padding_only_outputs(self, axis):
        """How many output rows (``axis`` 0) or columns (1) read only padding: every
        tap of their windows falls before or after the input."""
        size = (self.height, self.width)[axis]
        before = self.padding[2 * axis]
        kernel, stride, dilation = self.kernel[axis], self.stride[axis], self.dilation[axis]
        return sum(all(not before <= position * stride + tap * dilation < before + size
                       for tap in range(kernel))
                   for position in range(self.output_size[axis]))


def output_length(size, total_padding, kernel, stride, dilation):
    """Output length along one axis, in exact integer arithmetic."""
    return (size + total_padding - dilation * (kernel - 1) - 1) // stride + 1


def output_shape(input_shape, weight_shape, bias_shape=None, stride=1, padding=0,
                 dilation=1, groups=1):
    """The shape conv2d returns for these argument shapes (raises as conv2d would)."""
    return resolve(input_shape, weight_shape, bias_shape, stride, padding, dilation,
                   groups).output_shape


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_form(name, value, allow_string=False):
    """ARGUMENT_TYPE: an int, a tuple or list of ints, or (padding) a string."""
    if allow_string and isinstance(value, str):
        return
    if _is_int(value):
        return
    if isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        return
    raise ConvArgumentError(Rule.ARGUMENT_TYPE, f"{name}={value!r}")


def _pair(name, value):
    """ARGUMENT_LENGTH: an int or a 1-sequence applies to both axes."""
    if _is_int(value):
        return (int(value), int(value))
    if len(value) == 1:
        return (int(value[0]), int(value[0]))
    if len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise ConvArgumentError(Rule.ARGUMENT_LENGTH, f"{name}={value!r}")


def _same_padding(kernel, dilation):
    """'same': total pad dil*(k-1) per axis; the odd one goes bottom/right."""
    (kh, kw), (dh, dw) = kernel, dilation
    total_h, total_w = dh * (kh - 1), dw * (kw - 1)
    return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)


def resolve(input_shape, weight_shape, bias_shape=None, stride=1, padding=0,
            dilation=1, groups=1, *, dtypes=None):
    """Check every rule for a call with these shapes; return its ``Geometry``.

    ``dtypes`` is optional ``(input, weight, bias)`` dtypes for the dtype rules.
    """
    _check_form("stride", stride)
    _check_form("padding", padding, allow_string=True)
    _check_form("dilation", dilation)
    if not _is_int(groups):
        raise ConvArgumentError(Rule.ARGUMENT_TYPE, f"groups={groups!r}")

    if len(input_shape) not in (3, 4):
        raise ConvArgumentError(Rule.INPUT_RANK, f"input of shape {tuple(input_shape)}")
    batched = len(input_shape) == 4
    if dtypes is not None:
        _check_dtypes(*dtypes)

    if isinstance(padding, str) and padding not in PADDING_STRINGS:
        raise ConvArgumentError(Rule.PADDING_STRING, f"padding={padding!r}")
    stride = _pair("stride", stride)
    if padding == "same" and stride != (1, 1):
        raise ConvArgumentError(Rule.SAME_WITH_STRIDE, f"stride={stride}")
    pad = (0, 0) if isinstance(padding, str) else _pair("padding", padding)
    dilation = _pair("dilation", dilation)
    if len(weight_shape) != 4:
        raise ConvArgumentError(Rule.WEIGHT_RANK, f"weight of shape {tuple(weight_shape)}")

    if min(pad) < 0:
        raise ConvArgumentError(Rule.NEGATIVE_PADDING, f"padding={pad}")
    if min(stride) < 1:
        raise ConvArgumentError(Rule.NON_POSITIVE_STRIDE, f"stride={stride}")
    if min(dilation) < 1:
        raise ConvArgumentError(Rule.NON_POSITIVE_DILATION, f"dilation={dilation}")
    if groups < 1:
        raise ConvArgumentError(Rule.NON_POSITIVE_GROUPS, f"groups={groups}")

    out_channels, group_channels, kh, kw = weight_shape
    batch, in_channels, height, width = input_shape if batched else (1, *input_shape)
    if out_channels < groups:
        raise ConvArgumentError(Rule.GROUPS_EXCEED_OUT_CHANNELS,
                                f"out_channels={out_channels} < groups={groups}")
    if out_channels % groups:
        raise ConvArgumentError(Rule.OUT_CHANNELS_NOT_DIVISIBLE,
                                f"out_channels={out_channels}, groups={groups}")
    if in_channels != group_channels * groups:
        raise ConvArgumentError(
            Rule.CHANNEL_MISMATCH,
            f"input has {in_channels} channels, weight expects {group_channels}*{groups}")
    if bias_shape is not None and tuple(bias_shape) != (out_channels,):
        raise ConvArgumentError(Rule.BIAS_SHAPE,
                                f"bias of shape {tuple(bias_shape)}, out_channels={out_channels}")

    padding = _same_padding((kh, kw), dilation) if padding == "same" else (
        pad[0], pad[0], pad[1], pad[1])
    padded = (height + padding[0] + padding[1], width + padding[2] + padding[3])
    extent = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if padded[0] < extent[0] or padded[1] < extent[1]:
        raise ConvArgumentError(Rule.KERNEL_TOO_LARGE,
                                f"padded input {padded} < dilated kernel {extent}")
    if min(height, width) == 0 and batch > 0 and in_channels > 0:
        raise ConvArgumentError(Rule.EMPTY_SPATIAL, f"input of shape {tuple(input_shape)}")
    if min(kh, kw) == 0:
        raise ConvArgumentError(Rule.EMPTY_KERNEL, f"kernel ({kh}, {kw})")

    return Geometry(batched, batch, in_channels, height, width, out_channels, (kh, kw),
                    stride, dilation, padding, groups)


def _check_dtypes(input_dtype, weight_dtype, bias_dtype):
    if str(input_dtype) == "bool":
        raise ConvArgumentError(Rule.UNSUPPORTED_DTYPE, "input is bool")
    if bias_dtype is not None and bias_dtype != input_dtype:
        raise ConvArgumentError(Rule.BIAS_DTYPE, f"input {input_dtype}, bias {bias_dtype}")
    if weight_dtype != input_dtype:
        raise ConvArgumentError(Rule.WEIGHT_DTYPE, f"input {input_dtype}, weight {weight_dtype}")
