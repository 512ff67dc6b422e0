"""Per-sample weights: the ways of computing ``out[i] = conv2d(input[i], weight[i], bias[i])``
agree, and the note's misreadings compute what they really compute (DESIGN.md section 5).

Every formulation calls the conv2d under test for each convolution it makes
(per_sample/formulations.py), and is judged against the reference applied
sample by sample: bit for bit on exact-tier data, within the rounding bound
on float data.  The note's own shapes are explicit examples, at N = 2.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, find, given, settings
from hypothesis import strategies as st

from case import Conv2dCase
from per_sample import reference as per_sample_reference
from per_sample.case import PerSampleCase
from per_sample.formulations import (FORMULATIONS, channel_summed_matmul, grouped_trick,
                                     grouped_trick_in_the_wrong_order, groups_set_to_batch_size,
                                     loop, per_channel_matmul, vmapped,
                                     weights_as_out_channels)
from per_sample.verdict import check_against_reference, check_identical, check_within_bound
from reference import ConvArgumentError, Rule
from strategies.per_sample import (batch_sized_groups_cases, full_extent_kernel_cases,
                                   per_sample_cases, per_sample_cases_for_vmap)
from suite.verdict import as_numpy, call, check_bitwise, describe_call, expected_output

# The note's problems (fm_A (N, C, kh, kw) applied to fm_B (N, C, H, W): O = 1).
NOTE_6x3 = PerSampleCase.parse(  # C=1024, 18x19 maps, 6x3 kernel, padding (1, 0)
    "in2x1024x18x19:w2x1x1024x6x3:b2x1:s1:p(1,0):d1:g1:float32:contiguous:float:seed1")
NOTE_6x3_EXACT = PerSampleCase.parse(
    "in2x1024x18x19:w2x1x1024x6x3:s1:p(1,0):d1:g1:float64:contiguous:exact:seed2")
NOTE_COLUMN = PerSampleCase.parse(  # 14x14 maps, a 14x1 column kernel
    "in2x1024x14x14:w2x1x1024x14x1:s1:p0:d1:g1:float32:contiguous:exact:seed3")
NOTE_ROW = PerSampleCase.parse(  # 14x14 maps, a 1x14 row kernel
    "in2x1024x14x14:w2x1x1024x1x14:b2x1:s1:p0:d1:g1:float64:contiguous:exact:seed4")


def at_the_notes_shapes(test):
    """The note's four problems as explicit examples of ``test``."""
    for case in (NOTE_6x3, NOTE_6x3_EXACT, NOTE_COLUMN, NOTE_ROW):
        test = example(case=case)(test)
    return test


# torch's own kernel, the one whose float64 bits were measured (see below).
TORCH_CONV2D = (F.conv2d, torch.conv2d)


def _run(formulation, conv2d, case, tensors):
    return formulation(conv2d, *tensors, **case.arguments)


def _check_formulation(formulation, conv2d, device, tolerance, case):
    __tracebackhide__ = True
    arrays = case.arrays()
    actual = _run(formulation, conv2d, case, case.tensors(arrays, device=device))
    check_against_reference(case, f"{formulation.__name__}(conv2d)", actual,
                            per_sample_reference.conv2d(*arrays, **case.arguments), arrays,
                            tolerance)


@pytest.mark.parametrize("formulation", [f for f in FORMULATIONS if f is not vmapped],
                         ids=lambda f: f.__name__)
@given(case=per_sample_cases())
@at_the_notes_shapes
def test_every_formulation_convolves_each_sample_with_its_own_weight(conv2d, device, tolerance,
                                                                      formulation, case):
    _check_formulation(formulation, conv2d, device, tolerance, case)


@given(case=per_sample_cases_for_vmap())
@at_the_notes_shapes
def test_vmap_of_conv2d_convolves_each_sample_with_its_own_weight(conv2d, device, tolerance, case):
    """As above, apart because of torch 2.13's vmap bug with a per-sample bias and a
    one-element stride (strategies/per_sample.py, ``_stride_spelled_for_vmap``)."""
    _check_formulation(vmapped, conv2d, device, tolerance, case)


@given(case=per_sample_cases(dtypes=("float64",), tiers=("float",)))
def test_in_float64_the_grouped_trick_repeats_the_loop_bit_for_bit(conv2d, device, tolerance,
                                                                   case):
    """A measured fact of torch's own CPU kernel (torch 2.13): in float64 both make
    the same sums in the same order, so the trick can replace the loop without
    changing a bit.  It is not a rule of conv2d: a correct implementation may
    sum in another order for another number of groups (implementations/
    correct.py's im2col_matmul differs by 1.8e-15, measured), so for any other
    implementation or device both must only be within the rounding bound.
    """
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    looped = _run(loop, conv2d, case, tensors)
    trick = _run(grouped_trick, conv2d, case, tensors)
    if conv2d in TORCH_CONV2D and device == "cpu":
        check_identical(case, "grouped_trick(conv2d)", trick, as_numpy(looped),
                        "loop(conv2d) (they are bit for bit equal on torch 2.13 CPU, measured)")
    else:
        expected = per_sample_reference.conv2d(*arrays, **case.arguments)
        check_within_bound(case, "loop(conv2d)", looped, expected, arrays, tolerance)
        check_within_bound(case, "grouped_trick(conv2d)", trick, expected, arrays, tolerance)


def test_the_per_sample_strategy_reaches_where_a_wrong_reshape_order_shows():
    """A test of the suite, not of conv2d: the formulation runs on the reference
    itself, so only the strategy is on trial.  Folding the batch into groups in
    the wrong order is right unless both N > 1 and g > 1; Hypothesis must find a
    case where it is wrong, and the case it shrinks to must lie in that corner."""
    def wrong_order_is_wrong(case):
        arrays = case.arrays()
        out = _run(grouped_trick_in_the_wrong_order, per_sample_reference.specification_conv2d,
                   case, case.tensors(arrays))
        return not np.array_equal(as_numpy(out),
                                  per_sample_reference.conv2d(*arrays, **case.arguments))

    found = find(per_sample_cases(dtypes=("float64",), tiers=("exact",)), wrong_order_is_wrong,
                 settings=settings(max_examples=200, derandomize=True, database=None,
                                   deadline=None))
    assert found.batch > 1 and found.groups > 1, (
        f"the wrong reshape order was caught at N={found.batch}, g={found.groups}, but it can "
        f"only be wrong when both exceed 1 [{found!r}]")


@given(case=per_sample_cases(tiers=("exact",), max_groups=1), input_batch=st.integers(1, 4))
@example(case=NOTE_6x3_EXACT, input_batch=2)
def test_the_batch_of_weights_passed_as_a_weight_convolves_every_sample_with_every_weight(
        conv2d, device, case, input_batch):
    """The first misreading: a cross product ``out[i, j] = conv2d(input[i], weight[j])``
    whose diagonal alone is per-sample; the input's batch size M does not matter."""
    inputs = min(input_batch, case.batch)  # M input samples, taken from the case's N
    arrays = case.arrays()
    input, weight, bias = case.tensors(arrays, device=device)
    arguments = {k: v for k, v in case.arguments.items() if k != "groups"}
    actual = weights_as_out_channels(conv2d, input[:inputs], weight, bias, **arguments)

    x, w, b = arrays
    pairs = per_sample_reference.conv2d(  # pair (i, j) as sample i * N + j
        np.repeat(x[:inputs], case.batch, axis=0), np.tile(w, (inputs, 1, 1, 1, 1)),
        None if b is None else np.tile(b, (inputs, 1)), **case.arguments)
    check_identical(case, "weights_as_out_channels(conv2d)", actual,
                    pairs.reshape(inputs, case.batch, *pairs.shape[1:]),
                    "the cross product out[i, j] = conv2d(input[i], weight[j])")
    diagonal = actual[torch.arange(inputs), torch.arange(inputs)]
    per_sample = per_sample_reference.conv2d(
        x[:inputs], w[:inputs], None if b is None else b[:inputs], **case.arguments)
    check_identical(case, "the diagonal out[i, i] of weights_as_out_channels(conv2d)", diagonal,
                    per_sample, "the per-sample result")


@given(case=batch_sized_groups_cases(), data=st.data())
def test_groups_equal_to_the_batch_size_convolves_channel_slices_not_samples(
        conv2d, device, case, data):
    """The second misreading: ``groups=N`` is the grouped convolution over channel
    slices that the rules define, with the same weights for every sample.  So
    permuting the batch merely permutes the output, which a per-sample result
    never does unless all samples' weights are equal: no sample meets a weight
    of its own."""
    arrays = case.arrays()
    input, weight, bias = case.tensors(arrays, device=device)
    arguments = {k: v for k, v in case.arguments.items() if k != "groups"}
    actual = groups_set_to_batch_size(conv2d, input, weight, bias, **arguments)
    check_bitwise(case, actual, expected_output(case, arrays))

    order = data.draw(st.permutations(range(case.input_shape[0])), label="batch order")
    permuted = groups_set_to_batch_size(conv2d, input[order], weight, bias, **arguments)
    check_identical(case, f"groups_set_to_batch_size(conv2d) on the batch in order {order}",
                    permuted, as_numpy(actual)[order], "its output on the batch, permuted alike")


@pytest.mark.parametrize("case, rule", [
    # The note's misreading 1 with 1000 input channels and weights of 1024.
    (Conv2dCase.parse("in2x1000x18x19:w2x1024x6x3:s1:p(1,0):d1:g1:float32:contiguous:float:seed0"),
     Rule.CHANNEL_MISMATCH),
    # The note's misreading 2 on a last batch of 63 with groups=64 written in;
    # the input's batch (2 here, 63 in the note) does not enter the rule.
    (Conv2dCase.parse("in2x1024x14x14:w63x16x14x1:s1:p0:d1:g64:float32:contiguous:float:seed0"),
     Rule.GROUPS_EXCEED_OUT_CHANNELS),
], ids=["channels_1000_vs_1024", "weight_batch_63_with_groups_64"])
def test_the_notes_failing_calls_raise_the_errors_the_rules_predict(conv2d, device, case, rule):
    with pytest.raises(ConvArgumentError) as predicted:
        case.geometry()
    assert predicted.value.rule is rule, (
        f"the reference rejects it by {predicted.value.rule.value}, but should by {rule.value} "
        f"[{describe_call(case)}]")
    with pytest.raises(Exception) as raised:
        output = call(conv2d, case, case.tensors(device=device))
        pytest.fail(f"returned a tensor of shape {tuple(output.shape)}, but should raise "
                    f"{rule.torch_error.__name__} because {rule.statement} [{describe_call(case)}]")
    error = raised.value
    assert isinstance(error, rule.torch_error) and rule.fragment.search(str(error)), (
        f"raised {type(error).__name__}: {str(error)[:300]}, but should raise "
        f"{rule.torch_error.__name__} matching /{rule.fragment.pattern}/ because {rule.statement} "
        f"[{describe_call(case)}]")


@given(case=full_extent_kernel_cases())
@example(case=NOTE_COLUMN)
@example(case=NOTE_ROW)
def test_a_full_height_or_width_kernel_is_a_per_channel_matmul_summed_over_channels(
        conv2d, device, case):
    """The note's ``A^T @ B`` per channel is the convolution of that channel alone;
    conv2d equals it only summed over the channels (plain equality needs C = 1)."""
    arrays = case.arrays()
    input, weight, bias = case.tensors(arrays, device=device)
    expected = per_sample_reference.conv2d(*arrays, **case.arguments)
    check_identical(case, "channel_summed_matmul", channel_summed_matmul(input, weight, bias),
                    expected)
    check_identical(case, "loop(conv2d)", _run(loop, conv2d, case, (input, weight, bias)),
                    expected)
    last = input.shape[1] - 1  # one channel stands for all: C is up to 1024
    alone = _run(loop, conv2d, case, (input[:, last:], weight[:, :, last:], None))
    check_identical(case, f"per_channel_matmul's term for channel {last}",
                    per_channel_matmul(input, weight)[:, :, last], as_numpy(alone),
                    f"loop(conv2d) on channel {last} alone")
