"""The rules that decide whether a conv2d call is valid.

Each rule has a stable identifier, the sentence of the specification it
enforces, and what ``torch.nn.functional.conv2d`` raises when it is broken:
the exception type and a regular expression over its message made only of the
stable fragments (checked on torch 2.13.0, see shared notes).  Tests assert
*which* rule fired by comparing ``error.rule``, never by parsing messages.
"""

import enum
import re


class Rule(enum.Enum):
    """One rejection rule of conv2d, in the order torch checks them."""

    def __new__(cls, identifier, statement, torch_error, fragment):
        rule = object.__new__(cls)
        rule._value_ = identifier
        rule.statement = statement
        rule.torch_error = torch_error
        rule.fragment = re.compile(fragment) if fragment else None
        return rule

    ARGUMENT_TYPE = (
        "argument_type",
        "stride, padding and dilation are ints or sequences of ints, padding may "
        "also be a string; groups is an int (bool and float are not ints)",
        # a non-int after a sequence's first element is reported while unpacking
        TypeError, r"received an invalid combination of arguments|failed to unpack the object")
    INPUT_RANK = (
        "input_rank", "input is 3-D (unbatched) or 4-D (batched)",
        RuntimeError, r"Expected 3D \(unbatched\) or 4D \(batched\) input")
    UNSUPPORTED_DTYPE = (
        "unsupported_dtype", "bool tensors cannot be convolved",
        NotImplementedError, r"not implemented for 'Bool'")
    BIAS_DTYPE = (
        "bias_dtype", "bias has the dtype of input",
        RuntimeError, r"should be the same")
    WEIGHT_DTYPE = (
        "weight_dtype", "weight has the dtype of input",
        RuntimeError, r"should be the same|expected scalar type")
    PADDING_STRING = (
        "padding_string", "a padding string is exactly 'same' or 'valid'",
        RuntimeError, r"Invalid padding string")
    SAME_WITH_STRIDE = (
        "same_with_stride", "padding='same' requires stride 1 on both axes",
        RuntimeError, r"padding='same' is not supported for strided convolutions")
    ARGUMENT_LENGTH = (
        "argument_length", "stride, padding and dilation have 1 or 2 elements",
        RuntimeError, r"to be a single integer value or a list of 2 values")
    WEIGHT_RANK = (
        "weight_rank", "weight is 4-D: (out_channels, in_channels/groups, kh, kw)",
        RuntimeError,
        # torch's message is misleading here: it talks about stride (or, with a
        # padding string, about the input's dimensions).
        r"to be a single integer value or a list of \d+ values|-dimensional input for")
    NEGATIVE_PADDING = (
        "negative_padding", "padding is >= 0",
        RuntimeError, r"negative padding is not supported")
    NON_POSITIVE_STRIDE = (
        "non_positive_stride", "stride is >= 1",
        RuntimeError, r"non-positive stride is not supported")
    NON_POSITIVE_DILATION = (
        "non_positive_dilation", "dilation is >= 1",
        RuntimeError, r"dilation should be greater than zero|non-positive dilation is not supported")
    NON_POSITIVE_GROUPS = (
        "non_positive_groups", "groups is >= 1",
        RuntimeError, r"non-positive groups is not supported")
    GROUPS_EXCEED_OUT_CHANNELS = (
        "groups_exceed_out_channels", "out_channels >= groups",
        RuntimeError, r"expected weight to be at least")
    OUT_CHANNELS_NOT_DIVISIBLE = (
        "out_channels_not_divisible", "out_channels is a multiple of groups",
        RuntimeError, r"expected weight to be divisible by")
    CHANNEL_MISMATCH = (
        "channel_mismatch", "input channels == weight.shape[1] * groups",
        RuntimeError, r"channels, but got \d+ channels instead")
    BIAS_SHAPE = (
        "bias_shape", "bias is 1-D with out_channels elements",
        RuntimeError, r"expected bias to be 1-dimensional with")
    KERNEL_TOO_LARGE = (
        "kernel_too_large", "the dilated kernel fits in the padded input",
        RuntimeError, r"Kernel size can't be greater than actual input size")
    EMPTY_SPATIAL = (
        "empty_spatial", "a non-empty batch of non-empty channels has H, W >= 1",
        RuntimeError, r"Only zero batch or zero channel inputs are supported")
    EMPTY_KERNEL = (
        "empty_kernel", "the kernel has kh, kw >= 1",
        # The message depends on the backend (oneDNN or the slow path).
        RuntimeError, None)


class ConvArgumentError(ValueError):
    """A conv2d call broke ``rule``; the message names the rule and the values."""

    def __init__(self, rule, detail):
        self.rule = rule
        super().__init__(f"[{rule.value}] {rule.statement}: {detail}")
