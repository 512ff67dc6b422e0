"""The size regimes draw what they promise, within the caller's bounds and the budget.

The problems' strategy alone (strategies/problems.py, no data features): the
sizes are what is under test, and drawing them alone is cheap.

strategies/sizes.py: every regime's examples stay within the multiply-add
budget by construction and within the ``max_*`` bounds the caller passes; each
regime reaches the sizes it is about; a failure past a size threshold shrinks
to the smallest size past it; exact-tier data stay exact at the longest
reductions the regimes draw.
"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import reference
from case import parse
from case.data import SIGNIFICAND_BITS
from reference import ErrorModel
from strategies import sizes
from strategies.sampling import drawn as _drawn
from strategies.problems import REGIMES, conv2d_problems
from suite.backends import conv_backend
from suite.judge import check_call

FIND = settings(max_examples=2000, database=None, derandomize=True, deadline=None,
                suppress_health_check=list(HealthCheck))


def _dtypes_and_tiers():
    return st.tuples(st.sampled_from(["float32", "complex64", "bfloat16", "float16"]),
                     st.sampled_from(["exact", "float"]))


@pytest.mark.parametrize("regime", REGIMES)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_regime_keeps_each_example_within_the_multiply_add_budget(regime, data):
    dtype, tier = data.draw(_dtypes_and_tiers(), label="dtype, tier")
    case = data.draw(conv2d_problems(dtypes=(dtype,), tiers=(tier,), regimes=(regime,)),
                     label="case")
    budget = sizes.MAC_BUDGET // sizes.cost_factor(dtype, tier)
    tiny_most = 400_000  # the tiny regime ignores the budget: it never comes near it
    assert sizes.multiply_adds(case) <= (tiny_most if regime == "tiny" else budget), (
        f"{sizes.multiply_adds(case)} multiply-adds, but the budget is {budget} [{case}]")


BOUNDS = dict(max_batch=5, max_groups=6, max_group_channels=20, max_multiplier=9, max_kernel=9,
              max_dilation=2, max_stride=2, max_extra=12)


@pytest.mark.parametrize("regime", REGIMES)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_regime_keeps_within_the_callers_bounds(regime, data):
    case = data.draw(conv2d_problems(regimes=(regime,), **BOUNDS), label="case")
    geometry = case.geometry()
    group_channels = geometry.in_channels // geometry.groups
    sizes_seen = dict(max_batch=geometry.batch, max_groups=geometry.groups,
                      max_group_channels=group_channels,
                      max_multiplier=geometry.out_channels // geometry.groups,
                      max_kernel=max(geometry.kernel), max_dilation=max(geometry.dilation),
                      max_stride=max(geometry.stride))
    over = {name: value for name, value in sizes_seen.items() if value > BOUNDS[name]}
    assert not over, f"{over} exceed the bounds {BOUNDS} [{case}]"


# What each regime is for, as a predicate on a case: it must reach it.
REACHES = {
    "channels": ("C/g = 17 (the tail of a 16-wide block)",
                 lambda case: case.weight_shape[1] == 17),
    "channels ": ("O/g = 65", lambda case: case.weight_shape[0] // case.groups == 65),
    "groups": ("depthwise with 32 or more channels and a multiplier above 1",
               lambda case: case.weight_shape[1] == 1 and case.groups >= 32
               and case.weight_shape[0] > case.groups),
    "groups ": ("64 groups", lambda case: case.groups == 64),
    "batch": ("float32, N >= 16: torch's NNPACK with oneDNN off",
              lambda case: _nnpack(case)),
    "kernels": ("a 1xK or Kx1 kernel, K >= 21, on a channels_last input",
                lambda case: min(case.weight_shape[2:]) == 1 and max(case.weight_shape[2:]) >= 21
                and case.layout in ("channels_last", "channels_last_input")),
    "kernels ": ("a depthwise 1xK, K >= 15, on channels_last (pytorch#120211: 1x15)",
                 lambda case: case.weight_shape[2] == 1 and case.weight_shape[3] >= 15
                 and case.weight_shape[1] == 1
                 and case.groups > 1 and case.layout in ("channels_last",
                                                          "channels_last_input")),
    "spatial": ("more than 32 output rows and columns, an odd width",
                lambda case: min(case.output_shape[-2:]) > 32 and case.input_shape[-1] % 2),
    "reduction": ("C/g * kh * kw of 4096 or more",
                  lambda case: case.dot_length >= 4096),
    "reduction ": ("the seed note's 6x3 kernel on 1024 channels of 18x19",
                   lambda case: case.weight_shape[1:] == (1024, 6, 3)
                   and case.input_shape[-2:] == (18, 19)),
    "dispatch": ("dense float32 3x3 at stride 1, 2+ channels, batch 2+, on NHWC "
                 "(brg_conv_bwd:avx512_core backward)",
                 lambda case: case.groups == 1 and case.weight_shape[2:] == (3, 3)
                 and case.weight_shape[1] >= 2 and case.geometry().stride == (1, 1)
                 and case.geometry().batch >= 2
                 and case.layout in sizes.PREFERRED["dispatch"]["layouts"]),
    "dispatch ": ("a 1x1 past stride 1 on an input exactly the output times the stride "
                  "(jit_1x1:avx512_core backward weights)",
                  lambda case: case.weight_shape[2:] == (1, 1) and max(case.geometry().stride) > 1
                  and all(size == out * step for size, out, step in zip(
                      case.input_shape[-2:], case.output_shape[-2:], case.geometry().stride))),
}


def _nnpack(case):
    if case.dtype != "float32" or len(case.input_shape) != 4:
        return False
    input, weight, bias = case.tensors()
    with torch.backends.mkldnn.flags(enabled=False):
        return conv_backend(input, weight, bias, **case.arguments) == "NnpackSpatial"


class _Reached(Exception):
    pass


def _first(strategy, predicate, examples=1000):
    """The first of ``examples`` derandomised draws that satisfies ``predicate`` (no
    shrinking: cheaper than ``find``), or None."""
    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def search(case):
        if predicate(case):
            raise _Reached(case)
    try:
        search()
    except _Reached as reached:
        return reached.args[0]
    return None


def _drawn_regimes(monkeypatch, strategy, examples):
    """The regime of each of ``examples`` derandomised draws of ``strategy``."""
    drawn = []
    for name, draw_sizes in sizes.DRAW.items():
        monkeypatch.setitem(sizes.DRAW, name, lambda draw, context, name=name, sizes=draw_sizes:
                            drawn.append(name) or sizes(draw, context))
    _drawn(strategy, examples)
    return drawn


def _scarce(drawn, weights):
    """The regimes ``drawn`` holds under a quarter of their share.  Why so little:
    Hypothesis favours small indices (tiny gets more than its share) and keeps an
    example's regime in the mutations it runs of it, so the counts scatter: measured
    (the default mix, 1000 draws, every test module loaded as in a run, whose integer
    constants Hypothesis also draws), reduction got 22 to 74 draws of its 61 in five
    random searches, spatial 25 to 41, and one derandomised search gave reduction 20,
    a third of its share.  A regime whose weight the mix ignores gets none."""
    total = sum(weights.values())
    return {name: drawn.count(name) for name, weight in weights.items()
            if drawn.count(name) < len(drawn) * weight / total / 4}


def test_the_default_mix_draws_every_regime_near_its_weight(monkeypatch):
    drawn = _drawn_regimes(monkeypatch, conv2d_problems(), 1000)
    scarce = _scarce(drawn, sizes.WEIGHTS)
    assert not scarce, f"in {len(drawn)} draws these regimes got under a quarter of their share: {scarce}"


def test_the_backward_mix_draws_dispatch_and_tiny_near_their_weights(monkeypatch):
    # What the properties that backpropagate draw (their ``weights=``): the default mix
    # with tiny's share moved to dispatch.  The other weights are the default mix's,
    # checked above; 400 draws are too few for a weight of 6 (measured: reduction got 5
    # of its 24 in the derandomised ones), plenty for 25.
    moved = {name: weight for name, weight in sizes.BACKWARD_WEIGHTS.items()
             if weight != sizes.WEIGHTS[name]}
    assert set(moved) == {"tiny", "dispatch"}, f"the backward mix moved {sorted(moved)}"
    drawn = _drawn_regimes(monkeypatch, conv2d_problems(weights=sizes.BACKWARD_WEIGHTS), 400)
    scarce = {name: count for name, count in _scarce(drawn, sizes.BACKWARD_WEIGHTS).items()
              if name in moved}
    assert not scarce, f"in {len(drawn)} draws these regimes got under a quarter of their share: {scarce}"


def test_the_dispatch_regime_draws_each_side_of_onednns_rules_in_bfloat16():
    """Where the caller allows them: always bfloat16 or float32 on NHWC; bfloat16 always
    depthwise with one filter per channel, at stride 1 and past it, 3x3 and 5x5 (the
    four backward kernels of sizes._dispatch's comment)."""
    cases = _drawn(conv2d_problems(regimes=("dispatch",)), 200)
    elsewhere = [str(case) for case in cases if case.dtype not in ("bfloat16", "float32")
                 or case.layout not in sizes.PREFERRED["dispatch"]["layouts"]]
    assert not elsewhere, f"drawn outside bfloat16/float32 on NHWC: {elsewhere[:3]}"
    bfloat16 = [case for case in cases if case.dtype == "bfloat16"]
    dense = [str(case) for case in bfloat16 if case.weight_shape[1] != 1
             or case.weight_shape[0] != case.groups]
    assert not dense, f"bfloat16 not depthwise with one filter per channel: {dense[:3]}"
    forms = {(case.geometry().stride == (1, 1), case.weight_shape[2:]) for case in bfloat16}
    assert forms == {(True, (3, 3)), (True, (5, 5)), (False, (3, 3)), (False, (5, 5))}, (
        f"200 draws gave the bfloat16 depthwise forms (stride 1?, kernel) {sorted(forms)}")


@pytest.mark.parametrize("block", [8, 16, 32, 64])
def test_the_channels_regime_draws_both_sides_of_every_channel_block(block):
    cases = _drawn(conv2d_problems(regimes=("channels",)), 300)
    seen = {case.weight_shape[1] for case in cases} & set(sizes.near(block))
    assert seen == set(sizes.near(block)), (
        f"C/g drew {sorted(seen)} of {sizes.near(block)} in 300 draws of the channels regime")


@pytest.mark.parametrize("regime", sorted(REACHES), ids=str.strip)
def test_each_regime_reaches_the_sizes_it_is_about(regime):
    what, reached = REACHES[regime]
    found = _first(conv2d_problems(dtypes=("float32",), regimes=(regime.strip(),)), reached)
    assert found is not None, f"1000 draws of the {regime.strip()} regime never reached {what}"


@pytest.mark.parametrize("predicate, smallest", [
    (lambda case: case.weight_shape[1] > 16, lambda case: case.weight_shape[1] == 17),
    (lambda case: case.weight_shape[0] // case.groups > 32,
     lambda case: case.weight_shape[0] // case.groups == 33),
    (lambda case: len(case.input_shape) == 4 and case.input_shape[0] > 16,
     lambda case: case.input_shape[0] == 17),
    (lambda case: case.weight_shape[-1] > 16, lambda case: case.weight_shape[-1] == 17),
], ids=["channels_past_16", "out_channels_per_group_past_32", "batch_past_16", "kernel_width_past_16"])
def test_a_failure_past_a_size_threshold_shrinks_to_the_first_size_past_it(predicate,
                                                                          smallest):
    # One dtype, layout and tier: what varies is the sizes (and shrinking is cheaper).
    strategy = conv2d_problems(dtypes=("float32",), layouts=("contiguous",), tiers=("exact",))
    found = find(strategy, predicate, settings=FIND)
    assert smallest(found), f"shrank to {found!r}, but the smallest past the threshold is smaller"
    assert sizes.multiply_adds(found) <= 100_000, f"{found!r} did not shrink its other sizes"


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "complex64", "float32"])
@pytest.mark.parametrize("text", [
    "in1x1024x18x19:w1x1024x6x3:s1:p(1,0):d1:g1:{dtype}:contiguous:exact:seed3",
    "in2x1024x14x14:w2x1024x14x1:s1:p0:d1:g1:{dtype}:contiguous:exact:seed4",
    "in1x512x5x5:w4x256x5x5:b4:s1:p2:d1:g2:{dtype}:channels_last:exact:seed5",
], ids=["note_6x3", "note_14x1", "grouped_long"])
def test_exact_tier_data_give_torch_the_reference_bits_at_the_longest_reductions(text, dtype):
    case = parse(text.format(dtype=dtype))
    input, weight, bias = case.arrays()
    size = lambda a: None if a is None else np.abs(a.real) + np.abs(a.imag)  # noqa: E731
    worst = reference.conv2d(size(input), size(weight), size(bias), **case.arguments).max()
    limit = 2.0 ** SIGNIFICAND_BITS[dtype]
    assert worst <= limit, f"a partial sum reaches {worst} > 2^{SIGNIFICAND_BITS[dtype]} [{case}]"
    assert np.count_nonzero(input), f"thinning left no input at all [{case}]"
    # judged as every call is: bitwise on exact data, or a registry entry (torch 2.0 has no
    # float16 CPU kernel) that explains it
    check_call(torch.nn.functional.conv2d, case, device="cpu", model=ErrorModel())
