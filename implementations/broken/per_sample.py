"""Bugs that the per-sample properties (tests/test_per_sample*.py) must catch.

A wrong grouped trick is a wrong *formulation*, not a conv2d, so it cannot be
selected with --conv2d-impl.  ``assigns_composite_groups_to_transposed_channel_slices``
puts the same mistake inside a conv2d: when groups factors as ``a*b``, group
``i*b + j`` reads the channels of group ``j*a + i``, which is exactly what
folding the batch into groups in the wrong order does when ``groups = N*g``
(with N = g = 2 the two coincide).  It is right for groups 1 and for a prime
number of groups, as the wrong order is right unless both N > 1 and g > 1, so
only a property that reaches that corner can catch it: the loop over samples,
whose calls have at most 3 groups, passes; the grouped trick fails (and so do
im2col_einsum and groups=N, whose calls have composite groups).  The
wrong-order formulation itself is run by the per-sample properties on the
reference, to show that the strategy reaches the corner.
"""

import torch
import torch.nn.functional as F

from implementations.broken import broken
from reference import ConvArgumentError, resolve

FORMULATIONS = [f"per_sample.formulations[{name}]" for name in ("loop", "grouped_trick",
                                                                 "im2col_einsum")]
TRICK, IM2COL = FORMULATIONS[1:]
VMAP = "per_sample.formulations[vmap]"
CROSS_PRODUCT = "per_sample.weights_as_out_channels"
CHANNEL_SLICES = "per_sample.groups_set_to_batch_size"
NOTE_ERRORS = [f"per_sample.notes_failing_calls[{name}]" for name in
               ("channels_1000_vs_1024", "weight_batch_63_with_groups_64")]
MATMUL = "per_sample.channel_summed_matmul"
GRADIENTS = [f"per_sample.gradients[{way}]" for way in
             ("backpropagated_through_loop", "backpropagated_through_grouped_trick",
              "vmap_of_grad")]


def _smallest_factor(number):
    """The smallest prime factor of ``number`` if it is composite, else None."""
    return next((factor for factor in range(2, int(number ** 0.5) + 1) if number % factor == 0),
                None)


@broken(caught_by=[TRICK, IM2COL, CHANNEL_SLICES, GRADIENTS[1]])
def assigns_composite_groups_to_transposed_channel_slices(input, weight, bias=None, stride=1,
                                                          padding=0, dilation=1, groups=1):
    """With groups = a*b composite (a its smallest prime factor), group j*a + i reads the
    channels of group i*b + j: a batch folded into groups in the wrong order."""
    factor = _smallest_factor(groups)
    if factor is not None:
        per_group = input.shape[-3] // groups
        input = input.unflatten(-3, (factor, groups // factor, per_group))
        input = input.transpose(-5, -4).flatten(-5, -3)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=GRADIENTS)
def loses_the_weight_gradient_of_all_groups_but_the_first(input, weight, bias=None, stride=1,
                                                          padding=0, dilation=1, groups=1):
    """Forward right, but backward gives every group after the first a zero weight
    gradient (a grouped backward that only handles group 0)."""
    if groups > 1:
        first = weight.shape[0] // groups
        weight = torch.cat([weight[:first], weight[first:].detach()])
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def _fills_the_padded_input(input, weight, stride, padding, dilation, groups):
    """(height, width): whether the dilated kernel spans the whole padded input."""
    try:
        geometry = resolve(input.shape, weight.shape, None, stride, padding, dilation, groups)
    except ConvArgumentError:
        return (False, False)  # an invalid call: torch's conv2d below raises its error
    top, bottom, left, right = geometry.padding
    (kh, kw), (dh, dw) = geometry.kernel, geometry.dilation
    return (geometry.height + top + bottom == dh * (kh - 1) + 1,
            geometry.width + left + right == dw * (kw - 1) + 1)


@broken(caught_by=[*FORMULATIONS, VMAP, CROSS_PRODUCT, CHANNEL_SLICES, MATMUL,
                   *GRADIENTS, "per_sample.notes_shapes"])
def drops_the_last_kernel_row_or_column_that_fills_the_input(input, weight, bias=None, stride=1,
                                                              padding=0, dilation=1, groups=1):
    """Where the kernel spans the whole padded height (width), its last row (column) is
    skipped: a loop bound off by one in the one-output-row case."""
    fills_height, fills_width = _fills_the_padded_input(input, weight, stride, padding, dilation,
                                                        groups)
    kh, kw = weight.shape[-2:]
    mask = torch.ones(kh, kw, dtype=weight.dtype, device=weight.device)
    if fills_height and kh > 1:
        mask[-1, :] = 0
    if fills_width and kw > 1:
        mask[:, -1] = 0
    return F.conv2d(input, weight * mask, bias, stride, padding, dilation, groups)


@broken(caught_by=NOTE_ERRORS)
def trusts_the_weight_for_channels_and_groups(input, weight, bias=None, stride=1, padding=0,
                                              dilation=1, groups=1):
    """Never checks the input against the weight: it convolves the channels the weight
    expects (cut off or zero-filled) in at most weight.size(0) groups."""
    groups = min(groups, weight.shape[0])
    missing = weight.shape[1] * groups - input.shape[-3]
    if missing < 0:
        input = input.narrow(-3, 0, input.shape[-3] + missing)
    elif missing > 0:
        input = F.pad(input, (0, 0, 0, 0, 0, missing))
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
