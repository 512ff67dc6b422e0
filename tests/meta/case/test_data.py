"""A case's data: the same for a seed everywhere, and exact in its dtype.

- ``case.arrays()`` depends on the case alone (so a descriptor replays it);
- exact tier: integers so thinned that every partial sum of every output, in
  any order, is an integer the dtype holds exactly (|partial sum| <= 2^p);
- float tier: every value is a number of the case's dtype, so the float64
  reference sees the very numbers the implementation sees;
- ``round_to`` rounds to the nearest number of the dtype, ties to even, and
  is idempotent.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

import reference
from case import Conv2dCase, parse
from case.data import EXACT_RANGE, SIGNIFICAND_BITS, round_to
from strategies import conv2d_cases
from strategies.metamorphic import padding_mode_cases
from strategies.problems import VALUE_DTYPES


def assert_identical(observed, expected, what, call):
    __tracebackhide__ = True
    if expected is None or observed is None:
        assert observed is expected, f"{what}={observed!r}, but should be {expected!r} [{call}]"
        return
    assert observed.dtype == expected.dtype and observed.shape == expected.shape, (
        f"{what} is {observed.dtype}{observed.shape}, but should be "
        f"{expected.dtype}{expected.shape} [{call}]")
    assert np.array_equal(observed, expected), (
        f"{what} differs in {int((observed != expected).sum())} elements, but should be identical [{call}]")


@given(case=conv2d_cases())
def test_arrays_are_a_function_of_the_case_alone(case):
    first = case.arrays()
    again = case.arrays()
    replayed = parse(str(case)).arrays()
    for name, a, b, c in zip(("input", "weight", "bias"), first, again, replayed):
        assert_identical(b, a, name, f"{case}.arrays() called twice")
        assert_identical(c, a, name, f"parse({str(case)!r}).arrays()")


@given(case=conv2d_cases())
def test_arrays_have_the_shapes_of_the_case(case):
    input, weight, bias = case.arrays()
    expected = (case.input_shape, case.weight_shape, case.bias_shape)
    for name, array, shape in zip(("input", "weight", "bias"), (input, weight, bias), expected):
        observed = None if array is None else array.shape
        assert observed == shape, f"{name}.shape={observed}, but should be {shape} [{case}.arrays()]"


def test_different_seeds_give_different_data():
    case = Conv2dCase((2, 3, 6, 6), (4, 3, 3, 3), (4,), tier="float", seed=1)
    first, other = case.arrays()[0], case.replace(seed=2).arrays()[0]
    assert not np.array_equal(first, other), f"seed 1 and seed 2 gave the same input [{case}]"


# ---------------------------------------------------------------------------
# Exact tier.


def l1_magnitude(input, weight, bias, case):
    """conv2d(|re| + |im|, ...): bounds both components of every partial sum (the
    padded border as the case's padding mode fills it)."""
    def size(a):
        return None if a is None else np.abs(a.real) + np.abs(a.imag)
    return reference.conv2d(size(input), size(weight), size(bias), **case.arguments,
                            padding_mode=case.padding_mode)


@st.composite
def wide_exact_cases(draw):
    """Dot products long enough that float16 and bfloat16 data must be thinned: a term
    averages about 1.4 (bfloat16, |values| <= 2) or 4.9 (float16, <= 4), so n >= 288
    and n >= 864 make the sums about twice the exact limits 2^8 and 2^11."""
    dtype = draw(st.sampled_from(["float16", "bfloat16"]))
    channels = draw(st.integers(96, 160) if dtype == "float16" else st.integers(32, 96))
    kernel = draw(st.sampled_from([(3, 3), (3, 4), (4, 3)]))
    size = (kernel[0] + draw(st.integers(0, 2)), kernel[1] + draw(st.integers(0, 2)))
    return Conv2dCase((1, channels, *size), (2, channels, *kernel),
                      (2,) if draw(st.booleans()) else None,
                      dtype=dtype, tier="exact",
                      seed=draw(st.integers(0, 2 ** 32 - 1)))


exact_cases = st.one_of(conv2d_cases(tiers=("exact",)), wide_exact_cases(),
                        padding_mode_cases(conv2d_cases(tiers=("exact",))))


@given(case=exact_cases)
def test_exact_tier_partial_sums_never_exceed_the_exact_integers_of_the_dtype(case):
    input, weight, bias = case.arrays()
    limit = 2.0 ** SIGNIFICAND_BITS[case.dtype]
    worst = l1_magnitude(input, weight, bias, case).max(initial=0)
    assert worst <= limit, (
        f"max conv2d(|x|, |w|) + |b| = {worst}, but should be <= 2^{SIGNIFICAND_BITS[case.dtype]} "
        f"[{case}.arrays()]")


# Found by padding_modes.numpy_pad in the default run (torch 2.13.0): the thinning
# summed the zero-padded border while 'reflect' fills it with input values, so a
# partial sum reached 263, past bfloat16's 256 (torch rounded it to 264).
@pytest.mark.parametrize("text", [
    "in7x8x5x3:w1x8x5x5:s1:p(0,1):d1:g1:bfloat16:contiguous:exact:seed0:reflect"
    ":input(positive,0=1):weight(positive,0=1)"])
def test_exact_tier_counts_the_border_a_padding_mode_fills(text):
    test_exact_tier_partial_sums_never_exceed_the_exact_integers_of_the_dtype.hypothesis.inner_test(
        parse(text))


@given(case=wide_exact_cases())
def test_exact_tier_thins_wide_half_precision_inputs_but_keeps_some(case):
    input, weight, bias = case.arrays()
    kept = np.count_nonzero(input) / input.size
    assert 0 < kept < 0.7, (  # 8/9 and 4/5 of undrawn integers are nonzero
        f"{kept:.0%} of the input is nonzero, but a dot product of length "
        f"{np.prod(case.weight_shape[1:])} in {case.dtype} should need thinning and keep some "
        f"[{case}.arrays()]")


@given(case=exact_cases)
def test_exact_tier_data_are_small_integers(case):
    bound = EXACT_RANGE[case.dtype]
    for name, array in zip(("input", "weight", "bias"), case.arrays()):
        if array is None:
            continue
        for part, values in (("real", array.real), ("imag", array.imag)):
            not_integer = values != np.round(values)
            assert not not_integer.any(), (
                f"{name}.{part} holds {values[not_integer][:3]}, but should hold integers [{case}.arrays()]")
            assert np.abs(values).max(initial=0) <= bound, (
                f"max |{name}.{part}| = {np.abs(values).max()}, but should be <= {bound} [{case}.arrays()]")
        if not case.dtype.startswith("complex"):
            assert not np.iscomplexobj(array), f"{name} is complex, but should be real [{case}.arrays()]"


# ---------------------------------------------------------------------------
# Float tier.


def representable(values, dtype):
    """Whether every value is a number of ``dtype``, checked without ``round_to``."""
    if np.iscomplexobj(values):
        return representable(values.real, dtype) and representable(values.imag, dtype)
    if dtype in ("float64", "complex128"):
        return values.dtype == np.float64
    if dtype == "bfloat16":
        single = values.astype(np.float32)
        return (np.array_equal(single.astype(np.float64), values)
                and not (single.view(np.uint32) & 0xFFFF).any())
    narrow = {"float32": np.float32, "complex64": np.float32, "float16": np.float16}[dtype]
    return np.array_equal(values.astype(narrow).astype(np.float64), values)


@given(case=conv2d_cases(tiers=("float",)))
def test_float_tier_values_are_numbers_of_the_case_dtype(case):
    for name, array, dtype in zip(("input", "weight", "bias"), case.arrays(), case.dtypes):
        if array is None:
            continue
        assert representable(array, dtype), (
            f"{name} holds values that are not {dtype} numbers [{case}.arrays()]")
        assert np.array_equal(round_to(array, dtype), array), (
            f"round_to({name}, {dtype!r}) changed it, but should not [{case}.arrays()]")


@given(case=conv2d_cases(tiers=("float",), dtypes=("float32", "float64")),
       weight_dtype=st.sampled_from(VALUE_DTYPES))
def test_float_tier_weight_is_a_number_of_its_own_dtype_when_it_differs(case, weight_dtype):
    case = case.replace(weight_dtype=weight_dtype)
    _, weight, _ = case.arrays()
    assert representable(weight, weight_dtype), (
        f"weight holds values that are not {weight_dtype} numbers [{case}.arrays()]")


@given(case=conv2d_cases(tiers=("float",), layouts=("expanded_weight",)))
def test_an_expanded_weight_repeats_one_filter(case):
    _, weight, _ = case.arrays()
    assert_identical(weight, np.broadcast_to(weight[:1], weight.shape), "weight",
                     f"{case}.arrays() with expanded_weight")


# ---------------------------------------------------------------------------
# round_to.

ROUNDED = ("float64", "float32", "float16", "bfloat16", "complex64", "complex128")
# finite in every dtype: float16 overflows to inf past 65504
LARGEST = {"float16": 6.5e4}


@pytest.mark.parametrize("dtype", ROUNDED)
@given(data=st.data())
def test_round_to_is_idempotent(dtype, data):
    largest = LARGEST.get(dtype, 1e30)
    values = data.draw(npst.arrays(np.float64, npst.array_shapes(max_dims=2, max_side=6),
                                   elements=st.floats(-largest, largest)), label="values")
    once = round_to(values, dtype)
    twice = round_to(once, dtype)
    assert np.array_equal(once, twice), f"round_to(round_to(v)) != round_to(v) [round_to(v, {dtype!r})]"
    assert representable(once[np.isfinite(once)], dtype), (
        f"round_to gave values that are not {dtype} numbers [round_to(v, {dtype!r})]")


@given(values=npst.arrays(np.float64, npst.array_shapes(max_dims=1, max_side=8),
                          elements=st.floats(-3e38, 3e38, allow_nan=False)))
def test_round_to_bfloat16_is_within_half_a_unit_in_the_last_place(values):
    rounded = round_to(values, "bfloat16")
    normal = np.abs(values) >= 2.0 ** -126
    error = np.abs(rounded - values)[normal]
    limit = 2.0 ** -8 * np.abs(values)[normal]  # unit roundoff of an 8-bit significand
    assert (error <= limit).all(), (
        f"|round_to(v) - v| = {error.max()!r}, but should be <= 2^-8 |v| [round_to(v, 'bfloat16')]")


@pytest.mark.parametrize("value, expected", [
    (1.0 + 2.0 ** -8, 1.0),                          # tie: down to the even significand
    (1.0 + 3 * 2.0 ** -8, 1.0 + 2.0 ** -6),          # tie: up to the even significand
    (1.0 + 2.0 ** -8 + 2.0 ** -20, 1.0 + 2.0 ** -7),  # above the tie: up
    (-(1.0 + 3 * 2.0 ** -8), -(1.0 + 2.0 ** -6)),    # symmetric in the sign
], ids=["tie-down", "tie-up", "above-tie", "negative"])
def test_round_to_bfloat16_rounds_ties_to_even(value, expected):
    observed = round_to(np.array([value]), "bfloat16")[0]
    assert observed == expected, f"round_to({value!r}, 'bfloat16')={observed!r}, but should be {expected!r}"


def test_round_to_keeps_complex_values_complex():
    observed = round_to(np.array([1 / 3 + 2j / 3]), "complex64")
    expected = np.complex128(np.complex64(1 / 3 + 2j / 3))
    assert observed.dtype == np.complex128 and observed[0] == expected, (
        f"round_to(1/3 + 2j/3, 'complex64')={observed!r}, but should be [{expected!r}] as complex128")
