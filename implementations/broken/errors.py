"""Error-handling bugs: accepting what conv2d rejects, or raising the wrong error."""

import torch.nn.functional as F

from implementations.broken import broken

ERRORS = "errors"


@broken(caught_by=[f"{ERRORS}[negative_padding]", "rules.breach"])
def clamps_negative_padding_to_zero(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                    groups=1):
    """Silently treats negative padding as zero instead of rejecting it."""
    if isinstance(padding, int):
        padding = max(padding, 0)
    elif not isinstance(padding, str):
        padding = [max(p, 0) for p in padding]
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[f"{ERRORS}[channel_mismatch]", "rules.breach"])
def raises_value_error_for_a_channel_mismatch(input, weight, bias=None, stride=1, padding=0,
                                              dilation=1, groups=1):
    """Checks channels itself and raises ValueError where torch raises RuntimeError."""
    if input.shape[-3] != weight.shape[1] * groups:
        raise ValueError("channel mismatch")
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
