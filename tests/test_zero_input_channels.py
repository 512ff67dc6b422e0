"""conv2d with zero input channels returns the bias in every output channel.

A weight of shape (O, 0, kh, kw) sums no products, so each output element is
its channel's bias (zero without one) in O channels.  Torch returns 0
channels and drops the bias instead: a registry entry
(tests/known_deviations.toml, ``zero-input-channels``), reported by every run
rather than failed, so this property also keeps that entry honest.
"""

from hypothesis import given

from strategies import conv2d_cases
from suite.judge import check_call
from suite.properties import conformance


def _without_input_channels(case):
    """The same call with C_in = 0: input (N, 0, H, W), weight (O, 0, kh, kw)."""
    *batch, _, height, width = case.input_shape
    out_channels, _, kh, kw = case.weight_shape
    return case.replace(input_shape=(*batch, 0, height, width),
                        weight_shape=(out_channels, 0, kh, kw))


@conformance("zero_input_channels")
@given(case=conv2d_cases().map(_without_input_channels))
def test_conv2d_with_zero_input_channels_returns_the_bias_in_every_output_channel(
        conv2d, device, model, case):
    check_call(conv2d, case, device=device, model=model)
