"""Per-sample weights: the ways of computing ``out[i] = conv2d(input[i], weight[i], bias[i])``
agree, and the note's misreadings compute what they really compute.

Every formulation calls the conv2d under test for each convolution it makes
(case/formulations.py); a ``PerSampleCase`` names its formulation, and the
one judge holds it to the reference applied sample by sample
(reference/per_sample.py): bit for bit on exact-tier data, within the
rounding bound on float data.  The note's own shapes are explicit examples,
at N = 2.
"""

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from case import domain, parse
from case.formulations import (FORMULATIONS, groups_set_to_batch_size, loop, per_channel_matmul,
                               weights_as_out_channels)
from reference import Rule
from reference import per_sample as per_sample_reference
from strategies.per_sample import (batch_sized_groups_cases, full_extent_kernel_cases,
                                   per_sample_cases)
from suite.judge import Finding, agree, as_numpy, check_call, require
from suite.properties import conformance, needs
from suite.run import OutsideTheDomain

# The note's problems (fm_A (N, C, kh, kw) applied to fm_B (N, C, H, W): O = 1).
NOTE_6x3 = (  # C=1024, 18x19 maps, 6x3 kernel, padding (1, 0)
    "in2x1024x18x19:w2x1x1024x6x3:b2x1:s1:p(1,0):d1:g1:float32:contiguous:float:seed1")
NOTE_6x3_EXACT = "in2x1024x18x19:w2x1x1024x6x3:s1:p(1,0):d1:g1:float64:contiguous:exact:seed2"
NOTE_COLUMN = (  # 14x14 maps, a 14x1 column kernel
    "in2x1024x14x14:w2x1x1024x14x1:s1:p0:d1:g1:float32:contiguous:exact:seed3")
NOTE_ROW = (  # 14x14 maps, a 1x14 row kernel
    "in2x1024x14x14:w2x1x1024x1x14:b2x1:s1:p0:d1:g1:float64:contiguous:exact:seed4")
NOTES = (NOTE_6x3, NOTE_6x3_EXACT, NOTE_COLUMN, NOTE_ROW)
# The note's failing calls, and the rule each breaks.
NOTE_FAILING_CALLS = {
    # The note's misreading 1 with 1000 input channels and weights of 1024.
    "channels_1000_vs_1024": (
        "in2x1000x18x19:w2x1024x6x3:s1:p(1,0):d1:g1:float32:contiguous:float:seed0",
        Rule.CHANNEL_MISMATCH),
    # The note's misreading 2 on a last batch of 63 with groups=64 written in;
    # the input's batch (2 here, 63 in the note) does not enter the rule.
    "weight_batch_63_with_groups_64": (
        "in2x1024x14x14:w63x16x14x1:s1:p0:d1:g64:float32:contiguous:float:seed0",
        Rule.GROUPS_EXCEED_OUT_CHANNELS),
}


def note(text, formulation="loop"):
    return parse(f"{text}:{formulation}")


# Each formulation, the vmap one about a claim beyond values (running under vmap).
CLAIMED_FORMULATIONS = [pytest.param(name, marks=needs("vmap")) if name == "vmap" else name
                        for name in FORMULATIONS]


def _run(formulation, conv2d, case, tensors):
    return formulation(conv2d, *tensors, **case.arguments)


def _judged_here(case, model):
    """The misreadings' properties below make their own calls and compare them bit for
    bit: they are about which call a formulation makes, so they need exact arithmetic
    (under the transform model a correct Winograd kernel gave -180.00001 for -180 on
    exact data: its numbers are the forward properties' to judge), and a call the
    kernel claims (inside its declared domain; otherwise not made, as in run())."""
    __tracebackhide__ = True
    if not model.bitwise_on_exact_data:
        pytest.skip(f"compares calls bit for bit, which the {model} error model does not give")
    if not domain.active().admits(case):
        require(Finding(case, not_run=OutsideTheDomain()))


@conformance("per_sample.formulations")
@pytest.mark.parametrize("formulation", CLAIMED_FORMULATIONS)
@given(data=st.data())
def test_every_formulation_convolves_each_sample_with_its_own_weight(conv2d, device, model,
                                                                      formulation, data):
    case = data.draw(per_sample_cases(formulations=(formulation,)), label="case")
    check_call(conv2d, case, device=device, model=model)


@conformance("per_sample.notes_shapes")
@pytest.mark.parametrize("formulation", CLAIMED_FORMULATIONS)
@pytest.mark.parametrize("problem", NOTES, ids=["6x3", "6x3_exact", "column", "row"])
def test_every_formulation_computes_the_notes_own_problems(conv2d, device, model, formulation,
                                                           problem):
    check_call(conv2d, note(problem, formulation), device=device, model=model)


@conformance("per_sample.weights_as_out_channels")
@given(case=per_sample_cases(formulations=("loop",), tiers=("exact",), max_groups=1))
@example(case=note(NOTE_6x3_EXACT))
def test_the_batch_of_weights_passed_as_a_weight_convolves_every_sample_with_every_weight(
        conv2d, device, model, case):
    """The first misreading: a cross product ``out[i, j] = conv2d(input[i], weight[j])``
    whose diagonal alone is per-sample; the input's batch size M does not matter."""
    _judged_here(case, model)
    inputs = 1 + case.seed % case.batch  # M input samples of the case's N, chosen by its seed
    arrays = case.arrays()
    input, weight, bias = case.tensors(arrays, device=device)
    arguments = {k: v for k, v in case.arguments.items() if k != "groups"}
    actual = weights_as_out_channels(conv2d, input[:inputs], weight, bias, **arguments)

    x, w, b = arrays
    pairs = per_sample_reference.conv2d(  # pair (i, j) as sample i * N + j
        np.repeat(x[:inputs], case.batch, axis=0), np.tile(w, (inputs, 1, 1, 1, 1)),
        None if b is None else np.tile(b, (inputs, 1)), **case.arguments)
    require(agree(case, actual, pairs.reshape(inputs, case.batch, *pairs.shape[1:]), exact=True,
                  name="weights_as_out_channels(conv2d)",
                  source="the cross product out[i, j] = conv2d(input[i], weight[j])"))
    diagonal = actual[torch.arange(inputs), torch.arange(inputs)]
    per_sample = per_sample_reference.conv2d(
        x[:inputs], w[:inputs], None if b is None else b[:inputs], **case.arguments)
    require(agree(case, diagonal, per_sample, exact=True,
                  name="the diagonal out[i, i] of weights_as_out_channels(conv2d)",
                  source="the per-sample result"))


@conformance("per_sample.groups_set_to_batch_size")
@given(case=batch_sized_groups_cases())
def test_groups_equal_to_the_batch_size_convolves_channel_slices_not_samples(conv2d, device, model,
                                                                            case):
    """The second misreading: ``groups=N`` is the grouped convolution over channel
    slices that the rules define, with the same weights for every sample.  So
    permuting the batch merely permutes the output, which a per-sample result
    never does unless all samples' weights are equal: no sample meets a weight
    of its own."""
    _judged_here(case, model)
    arrays = case.arrays()
    input, weight, bias = case.tensors(arrays, device=device)
    arguments = {k: v for k, v in case.arguments.items() if k != "groups"}
    actual = groups_set_to_batch_size(conv2d, input, weight, bias, **arguments)
    require(agree(case, actual, case.expected(arrays), exact=True, source="the reference"))

    order = np.random.default_rng([case.seed, 4]).permutation(case.input_shape[0]).tolist()
    permuted = groups_set_to_batch_size(conv2d, input[order], weight, bias, **arguments)
    require(agree(case, permuted, as_numpy(actual)[order], exact=True,
                  name=f"groups_set_to_batch_size(conv2d) on the batch in order {order}",
                  source="its output on the batch, permuted alike"))


@conformance("per_sample.notes_failing_calls")
@pytest.mark.parametrize("case", [parse(call) for call, _ in NOTE_FAILING_CALLS.values()],
                         ids=list(NOTE_FAILING_CALLS))
def test_the_notes_failing_calls_raise_the_errors_the_rules_predict(conv2d, device, model, case):
    """Which rule each breaks is the reference's to say (tests/meta/test_per_sample_helpers.py)."""
    check_call(conv2d, case, device=device, model=model)


@conformance("per_sample.channel_summed_matmul")
@given(case=full_extent_kernel_cases())
@example(case=note(NOTE_COLUMN))
@example(case=note(NOTE_ROW))
def test_a_full_height_or_width_kernel_is_a_per_channel_matmul_summed_over_channels(
        conv2d, device, model, case):
    """The note's ``A^T @ B`` per channel is the convolution of that channel alone;
    conv2d equals it only summed over the channels (plain equality needs C = 1).
    That the sum, ``channel_summed_matmul``, is the convolution is the helper's own
    check (tests/meta/test_per_sample_helpers.py)."""
    _judged_here(case, model)
    arrays = case.arrays()
    input, weight, bias = case.tensors(arrays, device=device)
    expected = case.expected(arrays)
    require(agree(case, _run(loop, conv2d, case, (input, weight, bias)), expected, exact=True,
                  name="loop(conv2d)", source="the reference"))
    last = input.shape[1] - 1  # one channel stands for all: C is up to 1024
    alone = _run(loop, conv2d, case, (input[:, last:], weight[:, :, last:], None))
    require(agree(case, per_channel_matmul(input, weight)[:, :, last], as_numpy(alone),
                  exact=True, name=f"per_channel_matmul's term for channel {last}",
                  source=f"loop(conv2d) on channel {last} alone"))
