"""The per-sample properties' own helpers say what the properties assume.

Not conformance (no implementation under test is called): the reference's rule
for the note's failing calls, the pure-matmul formulation against the
reference, and a measured fact of torch's own CPU kernel.
"""

import pytest
import torch.nn.functional as F
from hypothesis import example, given

from case import parse
from case.formulations import channel_summed_matmul
from reference import ConvArgumentError
from strategies.per_sample import full_extent_kernel_cases, per_sample_cases
from suite.judge import agree, as_numpy, describe_call, require
from suite.run import run
from tests.test_per_sample import NOTE_COLUMN, NOTE_FAILING_CALLS, NOTE_ROW, note


@pytest.mark.parametrize("call, rule", NOTE_FAILING_CALLS.values(), ids=list(NOTE_FAILING_CALLS))
def test_the_reference_rejects_the_notes_failing_calls_by_the_rule_each_breaks(call, rule):
    case = parse(call)
    with pytest.raises(ConvArgumentError) as predicted:
        case.geometry()
    assert predicted.value.rule is rule, (
        f"the reference rejects it by {predicted.value.rule.value}, but should by {rule.value} "
        f"[{describe_call(case)}]")


@given(case=full_extent_kernel_cases())
@example(case=note(NOTE_COLUMN))
@example(case=note(NOTE_ROW))
def test_a_full_height_or_width_kernel_is_the_channel_summed_matmul(case):
    """The matmul formulation makes no convolution at all: the reference judges it."""
    arrays = case.arrays()
    input, weight, bias = case.tensors(arrays)
    require(agree(case, channel_summed_matmul(input, weight, bias), case.expected(arrays),
                  exact=True, name="channel_summed_matmul", source="the reference"))


@given(case=per_sample_cases(formulations=("grouped_trick",), dtypes=("float64",),
                             tiers=("float",)))
def test_in_float64_torchs_cpu_kernel_gives_the_grouped_trick_the_loops_bits(case):
    """A measured fact of torch's own CPU kernel (torch 2.13): in float64 both make
    the same sums in the same order, so the trick can replace the loop without
    changing a bit.  It is not a rule of conv2d: a correct implementation may sum
    in another order for another number of groups (implementations/correct.py's
    im2col_matmul differs by 1.8e-15, measured), so the per-sample properties hold
    each formulation to the reference and its rounding bound instead."""
    tensors = case.tensors(case.arrays())
    looped = case.replace(formulation="loop")
    require(agree(case, run(F.conv2d, case, tensors).output,
                  as_numpy(run(F.conv2d, looped, tensors).output), exact=True,
                  name="grouped_trick(F.conv2d)", source="loop(F.conv2d)"))
