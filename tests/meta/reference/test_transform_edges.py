"""The transform error model at the edges of the number range, on correct fast kernels.

- below the normal range a transform's roundings lose absolute amounts that no
  relative bound covers (a product by 1/6 of a subnormal, a product of a tiny
  weight transform with an input transform); the bound's underflow term does;
- near the top of the range a transform's values can overflow where the
  direct sum does not (BT d B grows |d| by up to 100 for F(4,3)): those
  outputs are open under the transform model, and only under it;
- in the normal range the underflow term changes nothing that matters.
"""

import numpy as np
import pytest

from case import parse
from implementations import transform
from reference import transform_bound as tb
from reference.forward import batched, padded
from reference.numerics import ErrorModel
from reference.rounding import UNDERFLOW, gamma
from reference.transform_bound import transform_error_bound
from suite import run
from suite.judge import as_numpy, judge

TRANSFORM = ErrorModel("transform")
F4X3 = dict(algorithm="winograd", tile=4)

# Correct winograd_f4x3 rounds these by 6.4, 10.7 and 1.7 times the relative bound.
BELOW_NORMAL = [
    "in1x1x1x1:w1x1x3x3:s1:psame:d1:g1:float32:contiguous:float:seed0:input(none,0=1)"
    ":weight(e-129,sparse,0=1)",
    "in2x4x8x8:w4x4x3x3:b4:s1:p0:d1:g1:float32:contiguous:exact:seed20:input(e-149)",
    "in1x1x1x1:w1x1x3x3:s1:psame:d1:g1:float32:contiguous:exact:seed0:input(none,0=1)"
    ":weight(e-132,sparse,0=1)",
]
# The input transform of 2^119-scale data overflows float32: winograd_f4x3 gives NaN
# where the reference is 2.48e27.
HUGE_INPUT = ("in1x1x3x3:w1x1x3x3:s1:p0:d1:g1:float32:contiguous:exact:seed0:input(e119,0=1)"
              ":weight(e-28,none,0=1)")


def zero_padded_input(geometry, input):
    return padded(geometry, batched(geometry, input), input.dtype)


def f4x3_bound(case, arrays, expected):
    """The F(4,3) bound alone (without the direct one) and its relative part gamma_K M_W."""
    (input, weight, bias), geometry = case._zero_padded(arrays)
    bound = transform_error_bound(input, weight, bias, expected, geometry=geometry,
                                  dtype=case.dtype, include_direct=False, **F4X3)
    matrices = tb.winograd_matrices(4)
    K = tb.winograd_roundings(*matrices, geometry.in_channels // geometry.groups, False)
    padded = zero_padded_input(geometry, input)
    relative = gamma(K, 2.0 ** -24) * tb.winograd_magnitude(
        np.abs(padded), np.abs(weight), geometry.groups, *matrices)
    return bound, relative


@pytest.mark.parametrize("descriptor", BELOW_NORMAL)
def test_winograd_f4x3_rounding_below_the_normal_range_is_within_the_transform_bound(descriptor):
    case = parse(descriptor)
    arrays = case.arrays()
    expected = case.expected(arrays)
    error = np.abs(as_numpy(case.invoke(transform.winograd_f4x3, case.tensors(arrays))) - expected)
    bound, relative = f4x3_bound(case, arrays, expected)
    assert (error > relative).any(), (
        f"max error/(gamma_K M_W) {(error / relative).max():.3g}: the example should underflow, "
        f"beyond the relative bound [{descriptor}]")
    assert (error <= bound).all(), (
        f"max error/bound {(error / bound).max():.3g}, but should be <= 1: the F(4,3) bound "
        f"covers roundings below the normal range [winograd_f4x3, {descriptor}]")
    finding = judge(case, run.run(transform.winograd_f4x3, case, case.tensors(arrays)),
                    model=TRANSFORM, arrays=arrays)
    assert not finding.problems, f"{finding.verdict()} [winograd_f4x3, {descriptor}]"


def test_a_huge_input_whose_winograd_transform_overflows_is_open_under_the_transform_model():
    case = parse(HUGE_INPUT)
    arrays = case.arrays()
    expected = case.expected(arrays)
    direct = case.overflow(arrays, expected, case.bound(arrays, expected, ErrorModel()))
    regions = case.overflow(arrays, expected, case.bound(arrays, expected, TRANSFORM), TRANSFORM)
    assert direct is None, f"direct overflow {direct}: no summation order of the products overflows"
    assert regions is not None and regions.open.all(), (
        f"overflow {regions}, but the output should be open: BT d B of |d| = "
        f"{np.abs(arrays[0]).max():.3g} reaches float32's overflow threshold [{HUGE_INPUT}]")
    outcome = run.run(transform.winograd_f4x3, case, case.tensors(arrays))
    assert np.isnan(as_numpy(outcome.output)).any(), (
        f"winograd_f4x3 gave {outcome.output}: the example should overflow in the transform")
    finding = judge(case, outcome, model=TRANSFORM, arrays=arrays)
    assert not finding.problems, f"{finding.verdict()} [winograd_f4x3, {HUGE_INPUT}]"


@pytest.mark.parametrize("descriptor", [
    "in2x4x8x8:w4x4x3x3:b4:s1:p0:d1:g1:float32:contiguous:float:seed20",
    "in1x2x6x6:w2x2x3x3:s1:p1:d1:g1:complex64:contiguous:float:seed1",
    "in2x4x8x8:w4x2x3x3:s1:psame:d1:g2:float16:contiguous:float:seed5",
])
def test_in_the_normal_range_the_underflow_terms_are_negligible_against_the_bound(descriptor):
    case = parse(descriptor)
    arrays = case.arrays()
    (input, weight, _), geometry = case._zero_padded(arrays)
    padded = zero_padded_input(geometry, input)
    bound = case.bound(arrays, case.expected(arrays), TRANSFORM)
    underflow = UNDERFLOW["float32"]
    complex_data = np.iscomplexobj(input)
    terms = [tb.winograd_underflow(np.abs(padded), np.abs(weight), geometry.groups,
                                   *tb.winograd_matrices(tile), "any", complex_data,
                                   underflow).max() for tile in (2, 4)]
    terms.append(tb.fft_underflow(padded, weight, geometry.groups,
                                  tb.power_of_two_lengths(padded.shape[-2:]), underflow).max())
    assert max(terms) <= 2.0 ** -90 * bound.min(), (
        f"underflow terms {terms} against a smallest bound {bound.min():.3g}: they should "
        f"not matter for unit-scale data [{descriptor}]")
