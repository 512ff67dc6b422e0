"""conv2d is a pure function: it leaves its inputs alone and repeats itself."""

import torch
from hypothesis import given

from strategies import conv2d_cases
from suite.verdict import call, describe_call, identical_bits


def _snapshot(tensors):
    return [None if t is None else (t.clone(), t.stride()) for t in tensors]


@given(case=conv2d_cases(tiers=("float",)))
def test_conv2d_never_modifies_its_input_weight_or_bias(conv2d, device, case):
    tensors = case.tensors(device=device)
    before = _snapshot(tensors)
    call(conv2d, case, tensors)
    for name, tensor, snapshot in zip(("input", "weight", "bias"), tensors, before):
        if tensor is None:
            continue
        values, strides = snapshot
        assert torch.equal(tensor.nan_to_num(), values.nan_to_num()) and tensor.stride() == strides, (
            f"{name} changed during the call (strides {strides} -> {tensor.stride()}), "
            f"but should be left untouched [{describe_call(case)}]")


@given(case=conv2d_cases(tiers=("float",)))
def test_repeated_calls_return_identical_bits(conv2d, device, case):
    tensors = case.tensors(device=device)
    first, second = call(conv2d, case, tensors), call(conv2d, case, tensors)
    assert identical_bits(first, second), (
        f"two calls on the same tensors differ (max |difference| "
        f"{(first - second).abs().max().item() if first.numel() else 0}), but CPU conv2d "
        f"should be deterministic [{describe_call(case)}]")
