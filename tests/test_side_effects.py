"""conv2d is a pure function: it leaves its inputs alone and repeats itself."""

import torch
from hypothesis import example, given

from case import parse
from strategies import conv2d_cases
from suite.judge import fail_with, output_of
from suite.properties import conformance
from suite.run import run


def _bits(tensor):
    """A tensor's bytes and strides: NaN payloads and signed zeros included."""
    return tensor.detach().cpu().reshape(-1).clone().view(torch.uint8), tensor.stride()


@conformance("purity.untouched")
@given(case=conv2d_cases(tiers=("float",)))
def test_conv2d_never_modifies_its_input_weight_or_bias(conv2d, device, case):
    tensors = case.tensors(device=device)
    before = [None if t is None else _bits(t) for t in tensors]
    output_of(case, run(conv2d, case, tensors))
    for name, tensor, snapshot in zip(("input", "weight", "bias"), tensors, before):
        if tensor is not None and not (torch.equal(_bits(tensor)[0], snapshot[0])
                                       and tensor.stride() == snapshot[1]):
            fail_with(case, f"{name} changed during the call (strides {snapshot[1]} -> "
                            f"{tensor.stride()}), but should be left untouched", "values")


# A float32 sum over 64 channels: a kernel that adds channels in an order that varies
# between calls (racing atomics) changes its bits; the draws' channel counts rarely show it.
LONG_CHANNEL_SUM = "in2x64x5x5:w8x64x3x3:s1:p1:d1:g1:float32:contiguous:float:seed0"


@conformance("purity.repeatable")
@given(case=conv2d_cases(tiers=("float",)))
@example(case=parse(LONG_CHANNEL_SUM))
def test_repeated_calls_return_identical_bits(conv2d, device, case):
    tensors = case.tensors(device=device)
    outcome = run(conv2d, case, tensors)
    first = output_of(case, outcome)
    second = output_of(case, run(conv2d, case, tensors))
    if not (first.shape == second.shape and first.dtype == second.dtype
            and torch.equal(_bits(first)[0], _bits(second)[0])):
        # a known deviation whose garbage varies between runs explains it (the registry)
        fail_with(case, "two calls on the same tensors return different bits, but CPU conv2d "
                        "should be deterministic", "values", outcome)
