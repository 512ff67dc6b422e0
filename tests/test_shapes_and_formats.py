"""conv2d returns the shape, dtype and memory format the rules predict."""

from hypothesis import given

from strategies import conv2d_cases
from suite.judge import judge, require
from suite.properties import conformance, needs
from suite.run import run


@conformance("shape.formula")
@given(case=conv2d_cases(tiers=("float",)))
def test_output_shape_follows_the_formula_and_dtype_follows_the_input(conv2d, device, case):
    tensors = case.tensors(device=device)
    require(judge(case, run(conv2d, case, tensors), tensors=tensors, checks=("shape", "dtype")))


@conformance("shape.memory_format")
@needs("memory_format")
@given(case=conv2d_cases(tiers=("float",)))
def test_output_is_channels_last_when_the_input_or_the_weight_is(conv2d, device, case):
    tensors = case.tensors(device=device)
    require(judge(case, run(conv2d, case, tensors), tensors=tensors, checks=("memory_format",)))
