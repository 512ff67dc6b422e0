"""Bugs of empty and degenerate calls, caught by the zero-channel property and
the regression corpus (tests/corpus.txt)."""

import torch
import torch.nn.functional as F

from implementations.broken import broken

ZERO_CHANNELS, CORPUS = "zero_input_channels", "corpus"


@broken(caught_by=[ZERO_CHANNELS,
                   f"{CORPUS}[in2x0x5x5:w4x0x3x3:b4:s1:p0:d1:g1:float32:contiguous:float:seed1]"])
def drops_the_bias_when_there_are_no_input_channels(input, weight, bias=None, stride=1,
                                                    padding=0, dilation=1, groups=1):
    """With C_in = 0 returns zeros in O channels: the shape is right, the bias is lost."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if input.shape[-3] == 0:
        shape = (*out.shape[:-3], weight.shape[0], *out.shape[-2:])
        return torch.zeros(shape, dtype=out.dtype, device=out.device)
    return out


@broken(caught_by=[f"{CORPUS}[in1x2x5x5:w1x2x3x3:b:s1:p0:d1:g1:float32:contiguous:float:seed9]"])
def reads_a_0d_bias_as_one_element(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                   groups=1):
    """Accepts a 0-d bias as if it had shape (1,) (the suite itself once did this)."""
    if bias is not None and bias.dim() == 0:
        bias = bias.reshape(1)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
