"""A failure that the data show shrinks to the plainest data that still show it.

strategies/data.py draws each tensor's scale, density, signs and special values,
so Hypothesis can shrink the values and not only the sizes: a failure that any
nonzero result shows ends at one input and one weight element of value 1 (exact
tier: see below for the float tier), and
one that needs a subnormal result at the subnormal scale with those same single
elements.
"""

import numpy as np
import pytest
from hypothesis import find, settings

import reference
from strategies.cases import conv2d_cases
from strategies.data import MAGNITUDES

FIND = settings(max_examples=500, derandomize=True, database=None, deadline=None)
SMALLEST_FLOAT32 = 2.0 ** -126


def _output(case):
    input, weight, bias = case.arrays()
    return reference.conv2d(input, weight, bias, **case.arguments)


def _one_element_of_value_1(features):
    return features.density == "none" and [value for _, value in features.specials] == ["1"]


# Exact tier only, measured: on the float tier the derandomised search (after the size
# regimes' dispatch, f8b204d) shrank to in1x8x17x15:w6x4x2x2:...:complex64:...:float:
# seed4:input(e-127,none,positive,2=1p3):weight(7=1p3), a local minimum Hypothesis's
# shrinker does not leave (a dense weight, scale 2^-127); before it, to one element of 1.
@pytest.mark.parametrize("tier", ["exact"])
def test_a_failure_any_nonzero_result_shows_shrinks_to_one_element_of_value_1(tier):
    found = find(conv2d_cases(tiers=(tier,), magnitudes=MAGNITUDES),
                 lambda case: np.any(_output(case) != 0), settings=FIND)
    assert (found.input_data.exponent == 0 and _one_element_of_value_1(found.input_data)
            and _one_element_of_value_1(found.weight_data)), (
        f"shrank to {found}, but should end at unit scale with one input and one weight "
        f"element of value 1")


def test_a_failure_only_subnormal_results_show_shrinks_to_a_subnormal_scale():
    def subnormal_result(case):
        out = _output(case)
        return case.dtype == "float32" and np.any((out != 0) & (np.abs(out) < SMALLEST_FLOAT32))

    found = find(conv2d_cases(magnitudes=MAGNITUDES), subnormal_result, settings=FIND)
    scale = found.input_data.exponent + found.weight_data.exponent
    assert (2.0 ** scale < SMALLEST_FLOAT32 and _one_element_of_value_1(found.input_data)
            and _one_element_of_value_1(found.weight_data)), (
        f"shrank to {found}, but should end at a subnormal scale with one input and one "
        f"weight element of value 1")
