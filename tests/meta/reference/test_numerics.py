"""The error bound holds for real low-precision evaluations, and is well formed.

It holds at every scale: subnormal-scale data, whose products underflow,
included; and the overflow rule says where infinities are due.

``reference.magnitude`` must dominate the output it bounds, and
``reference.error_bound`` must hold for any summation order: here a float32
(complex64, float16-via-float32) evaluation of the very same sum, term by
term in a random order, written in this file and sharing nothing with the
reference but its inputs.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, target
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

import reference
from reference import UNIT_ROUNDOFF, error_bound, gamma, magnitude, numerics


@st.composite
def calls(draw):
    """(input shape, weight shape, has bias, stride, padding, dilation, groups), valid."""
    groups = draw(st.integers(1, 3))
    group_channels = draw(st.integers(1, 4))
    outputs = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    sizes = tuple(draw(st.integers(max(1, dilation[a] * (kernel[a] - 1) + 1 - 2 * padding[a]), 7))
                  for a in (0, 1))
    input_shape = (draw(st.integers(1, 2)), groups * group_channels, *sizes)
    return (input_shape, (outputs, group_channels, *kernel), draw(st.booleans()),
            stride, padding, dilation, groups)


def describe(call):
    input_shape, weight_shape, has_bias, stride, padding, dilation, groups = call
    bias = f"bias({weight_shape[0]})" if has_bias else "None"
    return (f"conv2d(input{input_shape}, weight{weight_shape}, {bias}, stride={stride}, "
            f"padding={padding}, dilation={dilation}, groups={groups})")


def draw_data(call, seed, cast, complex_data=False):
    """Normal data (weights scaled by 1/sqrt(n)) rounded by ``cast`` to the test dtype."""
    input_shape, weight_shape, has_bias = call[:3]
    rng = np.random.default_rng(seed)
    n = int(np.prod(weight_shape[1:]))

    def normal(shape, scale=1.0):
        values = rng.standard_normal(shape) * scale
        if complex_data:
            values = values + 1j * rng.standard_normal(shape) * scale
        return cast(values)
    return (normal(input_shape), normal(weight_shape, 1 / np.sqrt(n)),
            normal(weight_shape[:1]) if has_bias else None)


def in_random_order(input, weight, bias, stride, padding, dilation, groups, dtype, order):
    """The convolution summed term by term in ``dtype``: bias first, then the
    products of each (channel, tap) in the order ``order`` shuffles them to."""
    n_batch, channels, height, width = input.shape
    out_channels, group_channels, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    padded = np.zeros((n_batch, channels, height + 2 * ph, width + 2 * pw), dtype)
    padded[:, :, ph:ph + height, pw:pw + width] = input
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    per_group = out_channels // groups
    out = np.zeros((n_batch, out_channels, out_h, out_w), dtype)
    if bias is not None:
        out += bias.astype(dtype)[:, None, None]
    terms = list(itertools.product(range(group_channels), range(kh), range(kw)))
    order.shuffle(terms)
    weight = weight.astype(dtype)
    for c, p, q in terms:
        rows = slice(p * dh, p * dh + sh * (out_h - 1) + 1, sh)
        cols = slice(q * dw, q * dw + sw * (out_w - 1) + 1, sw)
        for g in range(groups):
            window = padded[:, g * group_channels + c, rows, cols]  # (N, out_h, out_w)
            taps = weight[g * per_group:(g + 1) * per_group, c, p, q]
            out[:, g * per_group:(g + 1) * per_group] += window[:, None] * taps[None, :, None, None]
    return out


def to_float32(values):
    return values.astype(np.float32).astype(np.float64)


def to_complex64(values):
    return values.astype(np.complex64).astype(np.complex128)


def to_float16(values):
    return values.astype(np.float16).astype(np.float64)


def assert_within_bound(observed, expected, bound, call):
    """Every |observed - expected| <= bound; Hypothesis steers towards the worst ratio."""
    __tracebackhide__ = True
    error = np.abs(observed - expected)
    positive = bound > 0  # outputs that read only padding are exact: error and bound 0
    if positive.any() and currently_in_test_context():
        target(float((error[positive] / bound[positive]).max()), label="error / error_bound")
    if (error > bound).any():
        index = tuple(int(i) for i in np.argwhere(error > bound)[0])
        raise AssertionError(
            f"|error|[{index}]={error[index]:.3e}, but should be <= error_bound={bound[index]:.3e} "
            f"(ratio {error[index] / bound[index]:.2f}) [{call}]")


seeds = st.integers(0, 2 ** 32 - 1)


@given(call=calls(), seed=seeds, complex_data=st.booleans())
def test_magnitude_bounds_the_output_elementwise(call, seed, complex_data):
    input, weight, bias = draw_data(call, seed, lambda v: v, complex_data)
    stride, padding, dilation, groups = call[3:]
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    output = np.abs(reference.conv2d(input, weight, bias, **arguments))
    bound = magnitude(input, weight, bias, **arguments)
    # real data: |fl(sum)| <= fl(sum of |terms|) in the same order, exactly;
    # complex moduli are rounded on both sides, so allow a few units in the last place.
    slack = 8 * 2.0 ** -53 if complex_data else 0.0
    too_small = output > bound * (1 + slack)
    if too_small.any():
        index = tuple(int(i) for i in np.argwhere(too_small)[0])
        raise AssertionError(f"magnitude[{index}]={bound[index]!r}, but should be >= "
                             f"|out|={output[index]!r} [{describe(call)}]")


@pytest.mark.parametrize("dtype, cast, working, complex_data", [
    ("float32", to_float32, np.float32, False),
    ("complex64", to_complex64, np.complex64, True),
], ids=["float32", "complex64"])
@given(call=calls(), seed=seeds, order=seeds)
def test_a_low_precision_sum_in_any_order_stays_within_error_bound(
        dtype, cast, working, complex_data, call, seed, order):
    input, weight, bias = draw_data(call, seed, cast, complex_data)
    stride, padding, dilation, groups = call[3:]
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    exact = reference.conv2d(input, weight, bias, **arguments)
    computed = in_random_order(input, weight, bias, stride, padding, dilation, groups,
                               working, np.random.default_rng(order))
    assert computed.dtype == working, f"evaluated in {computed.dtype}, but should be in {dtype}"
    bound = error_bound(magnitude(input, weight, bias, **arguments), exact,
                        dot_length=int(np.prod(weight.shape[1:])), dtype=dtype)
    assert_within_bound(computed.astype(exact.dtype), exact, bound,
                        f"{dtype} sum in random order, {describe(call)}")


@given(call=calls(), seed=seeds, order=seeds)
def test_float16_accumulated_in_float32_and_rounded_stays_within_error_bound(call, seed, order):
    input, weight, bias = draw_data(call, seed, to_float16)
    stride, padding, dilation, groups = call[3:]
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    exact = reference.conv2d(input, weight, bias, **arguments)
    computed = in_random_order(input, weight, bias, stride, padding, dilation, groups,
                               np.float32, np.random.default_rng(order)).astype(np.float16)
    bound = error_bound(magnitude(input, weight, bias, **arguments), exact,
                        dot_length=int(np.prod(weight.shape[1:])), dtype="float16")
    assert_within_bound(computed.astype(np.float64), exact, bound,
                        f"float16 accumulated in float32, {describe(call)}")


def test_a_cancelling_sum_is_judged_against_the_magnitude_not_the_result():
    # 1 + 2^-24 - 1 in float32 gives 0 (the 2^-24 is lost): relative error 100 %,
    # yet within the bound, because M = 2 + 2^-24 is what the bound scales with.
    input = np.array([1.0, 2.0 ** -24, -1.0]).reshape(1, 3, 1, 1)
    weight = np.ones((1, 3, 1, 1))
    exact = reference.conv2d(input, weight)
    computed = np.float32(np.float32(1.0) + np.float32(2.0 ** -24)) + np.float32(-1.0)
    bound = error_bound(magnitude(input, weight), exact, dot_length=3, dtype="float32")
    assert exact.item() == 2.0 ** -24, f"reference={exact.item()!r}, but should be 2**-24 [1 + 2**-24 - 1]"
    assert_within_bound(np.full_like(exact, computed), exact, bound, "1 + 2**-24 - 1 in float32")


def test_error_bound_covers_float32_accumulation_then_rounding_to_float16():
    # sum in float32 (gamma_{n+1} with u = 2^-24), round the result to float16:
    # |fl16(s) - y| <= u16 |s| + |s - y| <= u16 |y| + (1 + u16) gamma M
    m, y = np.array([3.0, 1.0]), np.array([-2.0, 0.5])
    u16 = 2.0 ** -11
    rigorous = gamma(11, 2.0 ** -24) * m * (1 + u16) + u16 * np.abs(y)
    observed = error_bound(m, y, dot_length=10, dtype="float16")
    call = "error_bound(M=[3, 1], y=[-2, 0.5], dot_length=10, dtype='float16')"
    assert (observed >= rigorous).all(), f"error_bound={observed!r}, but should be >= {rigorous!r} [{call}]"
    assert (observed <= 1.001 * rigorous + 2.0 ** -20).all(), (
        f"error_bound={observed!r}, but should be close to {rigorous!r}, not far above [{call}]")


@pytest.mark.parametrize("dtype", sorted(UNIT_ROUNDOFF))
def test_gamma_is_unbounded_once_n_times_u_reaches_one(dtype):
    u = UNIT_ROUNDOFF[dtype]
    n = round(1 / u)
    with pytest.raises(ValueError, match="unbounded"):
        gamma(n, u)
    with pytest.raises(ValueError, match="unbounded"):
        gamma(n + 1, u)
    below = gamma(n - 1, u)
    assert below == (n - 1) * u / (1 - (n - 1) * u), (
        f"gamma({n - 1}, {u!r})={below!r}, but should be (n-1)u/(1-(n-1)u) [{dtype}]")


def test_gamma_of_zero_roundings_is_zero_and_of_one_is_u_over_one_minus_u():
    u = 2.0 ** -24
    assert gamma(0, u) == 0.0, f"gamma(0, u)={gamma(0, u)!r}, but should be 0"
    assert gamma(1, u) == u / (1 - u), f"gamma(1, u)={gamma(1, u)!r}, but should be u/(1-u)"


def test_error_bound_refuses_a_dot_product_too_long_for_the_dtype():
    # bfloat16 accumulated in bfloat16: u = 2^-8, so 256 terms have no bound at all
    with pytest.raises(ValueError, match="unbounded"):
        error_bound(np.ones(1), np.ones(1), dot_length=255, dtype="bfloat16",
                    accumulation="bfloat16")


# ---------------------------------------------------------------------------
# Subnormal data: products that underflow lose up to half a subnormal each.

def scaled_data(call, seed, cast, input_exponent, weight_exponent):
    """Unit normal data scaled by 2^k (input), 2^k' (weight), 2^(k+k') (bias), then cast."""
    input, weight, bias = draw_data(call, seed, lambda values: values)
    return (cast(np.ldexp(input, input_exponent)), cast(np.ldexp(weight, weight_exponent)),
            None if bias is None else cast(np.ldexp(bias, input_exponent + weight_exponent)))


@given(call=calls(), seed=seeds, order=seeds, input_exponent=st.integers(-160, -60),
       weight_exponent=st.integers(-90, 0))
def test_a_float32_sum_of_subnormal_scale_data_in_any_order_stays_within_error_bound(
        call, seed, order, input_exponent, weight_exponent):
    input, weight, bias = scaled_data(call, seed, to_float32, input_exponent, weight_exponent)
    stride, padding, dilation, groups = call[3:]
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    exact = reference.conv2d(input, weight, bias, **arguments)
    with np.errstate(under="ignore"):
        computed = in_random_order(input, weight, bias, stride, padding, dilation, groups,
                                   np.float32, np.random.default_rng(order))
    bound = error_bound(magnitude(input, weight, bias, **arguments), exact,
                        dot_length=int(np.prod(weight.shape[1:])), dtype="float32")
    assert_within_bound(computed.astype(np.float64), exact, bound,
                        f"float32 sum of data scaled by 2^{input_exponent} and "
                        f"2^{weight_exponent} in random order, {describe(call)}")


def test_a_product_that_underflows_is_within_the_bound_though_no_relative_bound_holds():
    # 1.5 * 2^-75 * 2^-75 = 0.75 * 2^-149 rounds to 2^-149 in float32: an error of
    # 2^-151, far above gamma_2 * M, within half the smallest subnormal.
    input, weight = np.array([1.5 * 2.0 ** -75]).reshape(1, 1, 1, 1), np.full((1, 1, 1, 1), 2.0 ** -75)
    exact = reference.conv2d(input, weight)
    computed = float(np.float32(input.item()) * np.float32(weight.item()))
    bound = error_bound(magnitude(input, weight), exact, dot_length=1, dtype="float32")
    error = abs(computed - exact.item())
    assert error == 2.0 ** -151 and error > gamma(2, 2.0 ** -24) * exact.item(), (
        f"error {error!r}: the example should underflow [1.5 * 2^-75 * 2^-75 in float32]")
    assert error <= bound.item(), (
        f"|error|={error!r}, but should be <= error_bound={bound.item()!r} "
        f"[1.5 * 2^-75 * 2^-75 in float32]")


# ---------------------------------------------------------------------------
# Overflow: open where some order may overflow; infinite where rounding says so.

def regions(magnitude_values, reference_values, dtype, dot_length=2):
    m, y = np.array(magnitude_values, float), np.array(reference_values, float)
    bound = error_bound(m, y, dot_length=dot_length, dtype=dtype)
    return numerics.overflow_regions(m, y, bound, dot_length=dot_length, dtype=dtype)


def test_a_float16_result_past_its_overflow_threshold_must_be_infinite():
    found = regions([70016.0, 65519.0, 60000.0], [70016.0, 65519.0, 60000.0], "float16")
    assert found.must.tolist() == [True, False, False] and found.may.tolist() == [False, True, False], (
        f"must={found.must.tolist()}, may={found.may.tolist()}, but should be must for 70016, "
        f"may for 65519 (within the bound of 65520), neither for 60000 [float16]")
    assert not found.open.any(), f"open={found.open.tolist()}: float32 sums cannot overflow here"


def test_where_some_summation_order_may_overflow_the_specification_is_open():
    top = 2.0 ** 127
    found = regions([3 * top, top], [top, top], "float32", dot_length=3)
    assert found.open.tolist() == [True, False] and not found.must.any(), (
        f"open={found.open.tolist()}, must={found.must.tolist()}, but should be open only where "
        f"M = 3 * 2^127 exceeds float32's range [2^127 + 2^127 - 2^127]")


def test_a_result_that_only_a_separate_bias_pass_overflows_may_be_infinite():
    # y = 70000 - 10000: a kernel that rounds the sum to float16 before the bias gets inf
    m, y, b = np.array([80000.0]), np.array([60000.0]), np.array([-10000.0])
    bound = error_bound(m, y, dot_length=1, dtype="float16", bias=b)
    found = numerics.overflow_regions(m, y, bound, dot_length=1, dtype="float16", bias=b)
    assert found.may.tolist() == [True] and not found.must.any(), (
        f"may={found.may.tolist()}, must={found.must.tolist()}, but should be may: |y - b| = "
        f"70000 overflows float16 [float16, y = 60000, bias -10000]")
