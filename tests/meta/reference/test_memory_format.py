"""The reference's memory-format rule says what torch's conv2d returns, for every view.

The rule (reference/memory_format.py) reads strides as torch does; these check
it against torch itself on small shapes (sizes 1 to 3, where strides of size-1
axes decide) for each way the suite and production code make a view.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F

from reference.memory_format import CHANNELS_LAST, CONTIGUOUS, format_of, output_memory_format

pytestmark = pytest.mark.meta

VIEWS = {
    "contiguous": lambda x: x,
    "channels_last": lambda x: x.contiguous(memory_format=torch.channels_last),
    "permuted NHWC storage": lambda x: x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),
    "transposed": lambda x: x.transpose(-1, -2).contiguous().transpose(-1, -2),
    "every other column": lambda x: torch.cat([x, x], -1)[..., ::2],
    "permuted NWHC storage": lambda x: x.permute(0, 3, 2, 1).contiguous().permute(0, 3, 2, 1),
}


@pytest.mark.parametrize("view", VIEWS)
def test_the_rule_predicts_the_memory_format_of_torchs_output_for_every_view(view):
    wrong = []
    for shape in itertools.product((1, 2, 3), repeat=4):
        input = VIEWS[view](torch.randn(shape))
        for weight in (torch.randn(2, shape[1], 1, 1),
                       torch.randn(2, shape[1], 1, 1).permute(0, 2, 3, 1).contiguous()
                       .permute(0, 3, 1, 2)):
            out = F.conv2d(input, weight)
            expected = output_memory_format(shape, input.stride(), tuple(weight.shape),
                                            weight.stride())
            observed = format_of(tuple(out.shape), out.stride())
            if observed is not None and observed != expected:
                wrong.append((shape, input.stride(), weight.stride(), observed))
    assert not wrong, f"torch returned {wrong[:3]}, but the rule predicts otherwise"


def test_a_permuted_nhwc_view_of_one_pixel_suggests_channels_last_and_a_contiguous_copy_not():
    weight_shape, weight_strides = (4, 4, 1, 1), (4, 1, 1, 1)
    assert output_memory_format((1, 4, 1, 1), (4, 1, 4, 4), weight_shape,
                                weight_strides) == CHANNELS_LAST
    assert output_memory_format((1, 4, 1, 1), (4, 1, 1, 1), weight_shape,
                                weight_strides) == CONTIGUOUS
