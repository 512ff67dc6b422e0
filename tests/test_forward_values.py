"""conv2d computes the cross-correlation the reference specifies.

Two tiers (reference/numerics.py, case/data.py): on thinned small-integer
data every correct summation order gives the same bits, so the check is
equality; on random normal data the check is the rounding-error bound, and
Hypothesis is steered towards the largest error/bound ratio it can find.
Both draw every data feature (strategies/data.py): scales from the subnormal
range to near overflow, sparse and one-element data, sign patterns that
cancel, special values, and every spelling of the call.
"""

from hypothesis import given

from strategies import conv2d_cases
from strategies.data import MAGNITUDES
from strategies.kernel_probes import FAST_ALGORITHM_PROBES, with_probes
from suite.judge import VALUES, check_call
from suite.properties import conformance


@conformance("forward.exact")
@given(case=conv2d_cases(tiers=("exact",), magnitudes=MAGNITUDES))
@with_probes(FAST_ALGORITHM_PROBES["exact"])
def test_conv2d_is_bitwise_exact_on_integer_data(conv2d, device, model, case):
    check_call(conv2d, case, device=device, model=model, checks=VALUES)


@conformance("forward.float")
@given(case=conv2d_cases(tiers=("float",), magnitudes=MAGNITUDES))
@with_probes(FAST_ALGORITHM_PROBES["float"])
def test_conv2d_is_within_the_rounding_error_bound_on_random_data(conv2d, device, model, case):
    check_call(conv2d, case, device=device, model=model, checks=VALUES)
