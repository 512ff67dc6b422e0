"""conv2d at the edges of the number range, where the specification still says what is right.

The data features (strategies/data.py) put each tensor's scale where the
property needs it; the reference and its bound (reference/numerics.py) say
what a correct conv2d returns there:
- subnormal inputs, weights, products and results are numbers like any
  other: on exact-tier data every partial sum is still exact, so flushing
  any of them to zero changes the bits;
- while no partial sum in any summation order can overflow (the data are
  drawn so), the result is finite and within the bound, whatever order a
  kernel sums in;
- a float16 result is the float32 sum rounded to float16: past 65519.99 it
  is inf, not 65504.
"""

from hypothesis import given

from strategies import conv2d_cases
from strategies.data import SUBNORMAL
from suite.judge import VALUES, check_call
from suite.properties import conformance

# The dtypes whose products accumulate in their own format: a partial sum of these
# overflows where the result would be finite only in a kernel that computes more
# than the products.
WIDE = ("float32", "float64", "complex64", "complex128")


@conformance("edges.subnormal")
@given(case=conv2d_cases(tiers=("exact",), magnitudes=SUBNORMAL))
def test_conv2d_keeps_subnormal_inputs_weights_products_and_results(conv2d, device, model, case):
    check_call(conv2d, case, device=device, model=model, checks=VALUES)


@conformance("edges.no_overflow")
@given(case=conv2d_cases(dtypes=WIDE, magnitudes=("near_overflow",)))
def test_conv2d_is_finite_and_right_while_no_partial_sum_in_any_order_can_overflow(
        conv2d, device, model, case):
    check_call(conv2d, case, device=device, model=model, checks=VALUES)


@conformance("edges.half_overflow")
@given(case=conv2d_cases(dtypes=("float16",), tiers=("float",), magnitudes=("near_overflow",)))
def test_a_float16_result_past_the_largest_float16_is_infinite(conv2d, device, model, case):
    check_call(conv2d, case, device=device, model=model, checks=VALUES)
