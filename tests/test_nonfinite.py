"""A NaN or inf in the input reaches exactly the outputs whose receptive field holds it.

The receptive field is a matter of geometry, not of weight values: IEEE
arithmetic makes ``NaN * 0`` and ``inf * 0`` NaN, so a zero weight tap still
carries the poison (the poisoned case zeroes a fraction of the taps to reach
that).  The reference computes exactly that (NaN where the field holds a NaN,
an infinity or NaN where it holds an inf); outside the field the output is the
clean one, bit for bit (exact-tier data).  Real dtypes only: complex
infinities have no single IEEE reading.
"""

from hypothesis import given

from case import LAYOUTS
from strategies import conv2d_cases
from strategies.metamorphic import poisoned_cases
from suite.judge import VALUES, check_call
from suite.properties import conformance

REAL_DTYPES = ("float32", "float64", "float16", "bfloat16")
# The weight's taps are zeroed, and an expanded weight holds only one filter.
LAYOUTS_WITH_OWN_WEIGHTS = tuple(layout for layout in LAYOUTS if layout != "expanded_weight")


@conformance("nonfinite.receptive_field")
@given(case=poisoned_cases(conv2d_cases(dtypes=REAL_DTYPES, layouts=LAYOUTS_WITH_OWN_WEIGHTS,
                                        tiers=("exact",), empty_batch=False)))
def test_a_nan_or_inf_input_reaches_exactly_the_outputs_whose_receptive_field_holds_it(
        conv2d, device, model, case):
    check_call(conv2d, case, device=device, model=model, checks=VALUES)
