"""conv2d computes the cross-correlation the reference specifies.

Two tiers (DESIGN.md section 4): on thinned small-integer data every correct
summation order gives the same bits, so the check is equality; on random
normal data the check is the rounding-error bound, and Hypothesis is steered
towards the largest error/bound ratio it can find.
"""

from hypothesis import given

from strategies import conv2d_cases
from suite.verdict import call, check_bitwise, check_within_bound, expected_output


@given(case=conv2d_cases(tiers=("exact",)))
def test_conv2d_is_bitwise_exact_on_integer_data(conv2d, device, case):
    arrays = case.arrays()
    actual = call(conv2d, case, case.tensors(arrays, device=device))
    check_bitwise(case, actual, expected_output(case, arrays))


@given(case=conv2d_cases(tiers=("float",)))
def test_conv2d_is_within_the_rounding_error_bound_on_random_data(conv2d, device, tolerance, case):
    arrays = case.arrays()
    actual = call(conv2d, case, case.tensors(arrays, device=device))
    check_within_bound(case, actual, expected_output(case, arrays), arrays, tolerance)
