"""nn.Conv2d's padding modes pad as numpy.pad does, then convolve without padding.

'reflect' mirrors without repeating the edge (numpy 'reflect'), 'replicate'
repeats the edge (numpy 'edge'), 'circular' wraps around (numpy 'wrap'): the
reference's ``padding_mode``.  The convolution is the implementation under
test's: one that takes a ``padding_mode`` (the ``module`` preset does) is
called with it; any other runs inside torch's own nn.Conv2d, whose F.conv2d
call is routed to it (case/calls.py).  Exact-tier data: bitwise.
"""

from hypothesis import given

from strategies import conv2d_cases
from strategies.metamorphic import padding_mode_cases
from suite.judge import VALUES, check_call
from suite.properties import conformance


@conformance("padding_modes.numpy_pad")
@given(case=padding_mode_cases(conv2d_cases(tiers=("exact",))))
def test_padding_modes_pad_like_numpy_pad_then_convolve_without_padding(conv2d, device, model,
                                                                        case):
    check_call(conv2d, case, device=device, model=model, checks=VALUES)
