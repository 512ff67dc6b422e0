"""Broken fast-algorithm conv2d implementations: the transform model must catch them.

Each is ``implementations.transform``'s algorithm with one bug that Winograd
and FFT kernels are prone to: a transform constant mistyped, tiles placed
with the wrong overlap, the last partial tile forgotten, an FFT too short
to hold the linear convolution.  Calls the algorithm does not take go to
F.conv2d, as in the correct versions, so only the algorithm's domain
(stride 1, dilation 1, 3 x 3 for Winograd) can expose them.

The self-check runs them under the transform error model
(``--conv2d-error-model=transform``), which accepts the correct versions.
"""

import torch
import torch.nn.functional as F

from implementations.broken import broken
from implementations.transform import (F4X3_AT, F4X3_BT, F4X3_G, _Call, assemble_tiles,
                                       fft_correlation, winograd_tile_outputs, winograd_tiles)

TRANSFORM = ("--conv2d-error-model=transform",)
FORWARD = ["forward.exact", "forward.float"]

# F(4,3)'s input transform with one entry wrong: row 0 should be (4, 0, -5, 0, 1, 0).
_F4X3_BT_TYPO = ((4, 0, -4, 0, 1, 0),) + F4X3_BT[1:]


@broken(caught_by=FORWARD, options=TRANSFORM)
def winograd_f4x3_wrong_input_transform_entry(input, weight, bias=None, stride=1, padding=0,
                                              dilation=1, groups=1):
    """F(4x4, 3x3) with BT[0][2] = -4 instead of -5 (one wrong entry of the input transform)."""
    return _broken_winograd(input, weight, bias, stride, padding, dilation, groups,
                            BT=_F4X3_BT_TYPO)


@broken(caught_by=FORWARD, options=TRANSFORM)
def winograd_f4x3_wrong_tile_overlap(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                     groups=1):
    """F(4x4, 3x3) whose input tiles step by m - 1 = 3, overlapping by 3 instead of r - 1 = 2."""
    return _broken_winograd(input, weight, bias, stride, padding, dilation, groups, step=3)


@broken(caught_by=FORWARD, options=TRANSFORM)
def winograd_f4x3_drops_last_partial_tile(input, weight, bias=None, stride=1, padding=0,
                                          dilation=1, groups=1):
    """F(4x4, 3x3) computing whole 4 x 4 tiles only: outputs of a last partial tile stay zero."""
    return _broken_winograd(input, weight, bias, stride, padding, dilation, groups,
                            whole_tiles_only=True)


@broken(caught_by=FORWARD, options=TRANSFORM)
def fft_conv2d_output_length(input, weight, bias=None, stride=1, padding=0, dilation=1,
                             groups=1):
    """FFT conv2d whose FFT length is the output size, not the padded input size: wraps around."""
    call = _Call.accept(input, weight, bias, stride, padding, dilation, groups)
    if call is None:
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    # Too short by k - 1: the last k - 1 padded rows (columns) are cut off, and the
    # outputs that read them read the first rows (columns) instead: wrap-around.
    return fft_correlation(call, lambda padded: call.output_size)


def _broken_winograd(input, weight, bias, stride, padding, dilation, groups, BT=F4X3_BT,
                     step=None, whole_tiles_only=False):
    call = _Call.accept(input, weight, bias, stride, padding, dilation, groups)
    if call is None or call.kernel != (3, 3):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    x, w, b = call.working_tensors()
    AT, G, BT = (torch.tensor(M, dtype=x.dtype, device=x.device) for M in (F4X3_AT, F4X3_G, BT))
    m = AT.shape[0]
    size = call.output_size
    if whole_tiles_only:
        size = (size[0] // m * m, size[1] // m * m)
    if min(size) == 0:  # not one whole tile
        out = x.new_zeros((x.shape[0], w.shape[0], *size))
    else:
        tiles = winograd_tiles(F.pad(x, call.pads), BT.shape[0], m, size, step=step)
        out = assemble_tiles(winograd_tile_outputs(tiles, w, AT, G, BT, call.groups), size)
    out_h, out_w = call.output_size
    out = F.pad(out, (0, out_w - size[1], 0, out_h - size[0]))  # the dropped outputs: zero
    return call.finish(out, b)

