"""Data features shape the seed's values as the descriptor says, and keep each tier's promise.

- default features leave the data exactly as they were before features
  existed (the corpus and the registry's recheck descriptors keep their meaning);
- ``none`` density leaves only the special values; sign patterns, scales and
  specials do what case/features.py says;
- exact tier: every drawn case's values are integers times the tensor's
  power of two, and every partial sum, in any order, is a number of the dtype;
- float tier: every value is a finite number of its dtype, and no partial
  sum in any order can overflow (M is at most half the largest number of the
  accumulation).
"""

import hashlib

import numpy as np
import pytest
from hypothesis import given

import reference
from case import parse
from case.data import SIGNIFICAND_BITS, in_units, round_to
from case.features import FeatureError, TensorFeatures, exponents_of
from reference.rounding import ACCUMULATION, FORMATS
from strategies import conv2d_cases
from strategies.data import MAGNITUDES

# sha256 prefixes of (input, weight, bias) of these descriptors, computed with the
# data generation as it was before data features existed (commit 796ecec).
BEFORE_FEATURES = {
    "in2x0x5x5:w4x0x3x3:b4:s1:p0:d1:g1:float32:contiguous:float:seed1": "fdec94ce61e9c117",
    "in0x2x5x5:w3x2x3x3:s1:p0:d1:g1:float32/float64:contiguous:float:seed2": "787c5f3e6511b50f",
    "in0x2x5x5:w3x2x3x3:s1:p0:d1:g1:bool:contiguous:float:seed3": "dfd68674f0796e6c",
    "in0x2x5x5:w3x2x3x3:s1:p3:d(0,1):g1:float32:contiguous:float:seed4": "59036a406778aa24",
    "in1x2x5x5:w3x2x3x3:b3:s1:psame:d1:g1:float32/float32/float64:contiguous:float:seed5": "27c11b62a15610b8",
    "in0x2x5x5:w3x2x0x3:s1:p0:d1:g1:float32:contiguous:float:seed6": "9a7aa4a44d581c2c",
    "in1x2x3x4:w4x1x2x4:s(1,2):p0:d1:g2:bfloat16:channels_last:exact:seed0": "719c31c939baaea2",
    "in1x1x1x3:w1x1x1x1:s(1,2):p0:d1:g1:bfloat16:contiguous:exact:seed0:poison(0.0.0.1,nan,0)": "26320b677f0d5fd3",
    "in2x3x5x5:w2x3x3x3x3:b2x3:s(1,):p0:d1:g1:float64:contiguous:exact:seed0:vmap": "78b5abc86835afa2",
    "in1x1x5x5:w1x1x3x3:s1:p(1,):d1:g1:float64:contiguous:exact:seed0:reflect": "ca12c7aa0ae5960f",
    "in1x4x8x1:w2x2x1x1:b2:s(1,3):p(0,2):d(1,3):g2:float32:channels_last_input:float:seed0": "3a41c2c863dfdf3a",
    "in1x2x5x1:w2x2x1x1:s(2,2):p[2,1]:d2:g1:float16:contiguous:float:seed3": "ac5d998e6c766bee",
    "in0x2x5x5:w3x2x3x3:b3:s1:p0:d1:g1:float32/float32/float64:contiguous:float:seed7": "b4eb24d7ee8b088d",
    "in0x2x5x5:w3x2x3x3:s1:p3:d(1,-1):g1:float32:contiguous:float:seed8": "df626f257495661e",
    "in1x2x5x5:w1x2x3x3:b:s1:p0:d1:g1:float32:contiguous:float:seed9": "fd8eb40eafa741ee",
    "in1x1x2x2:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0": "8d2d0c356b94e2c7",
    "in1x1x4x5:w1x1x2x4:b1:s1:psame:d1:g1:float64:contiguous:exact:seed10": "afa961ad2229b28b",
    "in3x4x5x5:w4x2x3x3:b4:s1:p1:d1:g2:float32:contiguous:exact:seed11": "c3d916bc6e7811c9",
    "in2x3x6x6:w6x1x3x3:b6:s(2,1):p(1,0):d1:g3:float32:sliced_input:exact:seed12": "780aa9dfb0699e8b",
    "in1x2x3x3:w2x2x1x1:s5:p0:d1:g1:float32:contiguous:exact:seed13": "285017f81d8d3f86",
    "in2x1x4x4:w3x1x2x2:s1:p0:d1:g1:float32:channels_last:exact:seed14": "db0cd26acb455d09",
    "in1x2x5x5:w2x2x3x3:s1:p1:d[3,3]:g1:float32:contiguous:exact:seed15": "d6620a950ae21373",
    "in1x2x5x5:w4x2x3x3:s1:p1:d1:g1:float32:expanded_weight:exact:seed16": "708412c7660f11f2",
    "in2x5x5:w3x2x3x3:b3:s1:p1:d1:g1:float64:transposed_input:float:seed17": "119b73c88bdfb8a1",
    "in1x4x6x6:w2x4x3x3:b2:s1:p1:d1:g1:bfloat16:contiguous:float:seed18": "b6c7f4c0972d8291",
    "in1x2x4x4:w2x2x2x2:b2:s1:p0:d1:g1:complex64:contiguous:float:seed19": "ea0a1294fb15a9b2",
    "in2x3x7x7:w4x3x3x3:b4:s1:p(1,0):d[1,2]:g1:float32:contiguous:exact:seed42": "23c5bd7f9d82450c",
    "in1x16x6x6:w4x16x3x3:b4:s1:p1:d1:g1:float16:contiguous:exact:seed5": "f3196010bbde5077",
    "in1x40x5x5:w2x40x3x3:b2:s1:p0:d1:g1:bfloat16:channels_last:exact:seed9": "7cfa490eacc73345",
    "in2x4x6x6:w4x2x3x3:b4:s1:p1:d1:g2:complex64:expanded_weight:float:seed11": "2b4528808f6d83c7",
    "in1x4x5x5:w3x4x2x2:b3:s2:p1:d1:g1:bfloat16:sliced_input:float:seed12": "7c53302609ce5567",
}


def digest(case):
    h = hashlib.sha256()
    for a in case.arrays():
        h.update(b"none" if a is None else np.ascontiguousarray(a).tobytes() + str(a.shape).encode())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("text", sorted(BEFORE_FEATURES))
def test_default_features_give_the_data_a_descriptor_had_before_features_existed(text):
    observed = digest(parse(text))
    assert observed == BEFORE_FEATURES[text], (
        f"data digest {observed}, but should be {BEFORE_FEATURES[text]} as before data "
        f"features existed [parse({text!r}).arrays()]")


def arrays_of(text):
    return parse(text).arrays()


def test_no_bulk_leaves_exactly_the_special_values():
    input, weight, _ = arrays_of("in1x2x3x3:w1x2x2x2:s1:p0:d1:g1:float32:contiguous:float:seed4:"
                                 "input(none,4=3,13=-5p-2):weight(none,0=1)")
    expected = np.zeros(18)
    expected[[4, 13]] = [3.0, -1.25]
    assert np.array_equal(input.reshape(-1), expected), (
        f"input={input.reshape(-1)}, but should be zero except 3 at 4 and -1.25 at 13 "
        f"[input(none,4=3,13=-5p-2)]")
    assert np.count_nonzero(weight) == 1 and weight.reshape(-1)[0] == 1.0, (
        f"weight={weight.reshape(-1)}, but should be one 1 at index 0 [weight(none,0=1)]")


def test_a_special_index_wraps_around_the_tensor():
    input, _, _ = arrays_of("in1x1x2x2:w1x1x1x1:s1:p0:d1:g1:float64:contiguous:float:seed0:"
                            "input(none,6=1)")
    assert input.reshape(-1).tolist() == [0, 0, 1, 0], (
        f"input={input.reshape(-1).tolist()}, but should hold 1 at 6 mod 4 = 2 [input(none,6=1)]")


def test_negative_zero_and_tiny_specials_are_those_numbers_of_the_dtype():
    input, _, _ = arrays_of("in1x1x1x3:w1x1x1x1:s1:p0:d1:g1:float16:contiguous:float:seed0:"
                            "input(e-5,none,0=-0,1=tiny,2=-tiny)")
    values = input.reshape(-1)
    assert np.signbit(values[0]) and values[0] == 0, f"input[0]={values[0]!r}, but should be -0.0"
    assert values[1] == 2.0 ** -24 and values[2] == -2.0 ** -24, (
        f"input[1:]={values[1:].tolist()}, but should be +-2**-24, float16's smallest "
        f"subnormal, whatever the exponent [input(e-5,none,0=-0,1=tiny,2=-tiny)]")


@pytest.mark.parametrize("tier", ["exact", "float"])
def test_an_exponent_scales_the_tensor_by_that_power_of_two(tier):
    plain = f"in2x3x4x4:w2x3x3x3:b2:s1:p1:d1:g1:float64:contiguous:{tier}:seed8"
    base = parse(plain).arrays()
    scaled = arrays_of(plain + ":input(e-900):weight(e20)")
    for name, a, b, k in zip(("input", "weight", "bias"), base, scaled, (-900, 20, -880)):
        assert np.array_equal(np.ldexp(a, k), b), (
            f"{name} is not the unscaled {name} times 2^{k} [{plain}:input(e-900):weight(e20)]")


def test_an_opposed_input_under_a_paired_weight_cancels_every_pair_of_products():
    text = ("in1x4x5x5:w3x4x3x3:b3:s1:p1:d1:g1:float32:contiguous:float:seed2:"
            "input(opposed):weight(paired)")
    case = parse(text)
    input, weight, bias = case.arrays()
    out = case.expected((input, weight, bias))
    products = case.magnitude((input, weight, bias)) - np.abs(bias)[:, None, None]
    # exactly the bias in exact arithmetic; the float64 reference rounds, in its order
    left = np.abs(out - bias[:, None, None])
    assert (left <= 2.0 ** -45 * products).all(), (
        f"max |out - bias| / M = {(left / products).max():.3g}, but should be at most the "
        f"float64 reference's rounding: every product cancels its partner [{text}]")
    assert products.max() > 1, f"max M = {products.max()}, but should be large: no cancellation"


@pytest.mark.parametrize("signs, test", [("positive", np.greater_equal), ("negative", np.less_equal)])
def test_a_sign_pattern_sets_every_sign(signs, test):
    input, _, _ = arrays_of(f"in1x3x4x4:w1x3x1x1:s1:p0:d1:g1:float32:contiguous:float:seed1:"
                            f"input({signs})")
    assert test(input, 0).all(), f"input holds values of the wrong sign [input({signs})]"


def test_sparse_data_keep_about_one_element_in_eight():
    input, _, _ = arrays_of("in4x8x16x16:w1x8x1x1:s1:p0:d1:g1:float64:contiguous:float:seed3:"
                            "input(sparse)")
    kept = np.count_nonzero(input) / input.size
    assert 0.09 < kept < 0.16, f"{kept:.1%} of the input is nonzero, but should be about 12.5%"


@pytest.mark.parametrize("text, named", [
    ("in1x1x3x3:w1x1x1x1:exact:input(e-200)", "input exponent"),
    ("in1x1x3x3:w1x1x1x1:exact:input(e100):weight(e10)", r"input \+ weight"),
    ("in1x1x3x3:w1x1x1x1:b1:exact:bias(e1)", "bias exponent"),
    ("in1x1x3x3:w1x1x1x1:exact:input(0=17)", "special"),
    ("in1x1x3x3:w1x1x1x1:exact:input(0=tiny)", "special"),
    ("in1x1x3x3:w1x1x1x1:exact:input(0=1p-1)", "special"),
], ids=["subnormal limit", "product overflow", "bias exponent", "special too large",
        "tiny special", "fraction special"])
def test_exact_tier_features_that_would_break_exactness_are_refused(text, named):
    with pytest.raises(ValueError, match=named):
        parse(text)


def test_tensor_features_refuse_malformed_fields():
    for fields in (dict(exponent=1.0), dict(density="half"), dict(signs="up"),
                   dict(specials=((0, "x"),)), dict(specials=((-1, "1"),))):
        with pytest.raises(FeatureError):
            TensorFeatures(**fields)


# ---------------------------------------------------------------------------
# What every drawn case promises.

ALL_DATA = conv2d_cases(magnitudes=MAGNITUDES)


def l1_in_units(case):
    input, weight, bias = in_units(case, case.arrays())
    size = lambda a: None if a is None else np.abs(a.real) + np.abs(a.imag)  # noqa: E731
    return reference.conv2d(size(input), size(weight), size(bias), **case.arguments)


@given(case=conv2d_cases(tiers=("exact",), magnitudes=MAGNITUDES))
def test_exact_tier_partial_sums_are_numbers_of_the_dtype_at_every_scale(case):
    units = in_units(case, case.arrays())
    for name, values in zip(("input", "weight", "bias"), units):
        if values is not None:
            assert np.array_equal(values, np.round(values)), (
                f"{name} / 2^k holds non-integers [{case}.arrays()]")
    form = FORMATS[case.dtype]
    input, weight, _ = exponents_of(case)
    worst = l1_in_units(case).max(initial=0)
    limit = 2.0 ** SIGNIFICAND_BITS[case.dtype]
    assert worst <= limit, f"max partial sum {worst} units, but should be <= {limit} [{case}]"
    assert input + weight >= form.subnormal_exponent, (
        f"products in units of 2^{input + weight}, below the smallest subnormal [{case}]")
    assert limit * 2.0 ** (input + weight) <= form.largest, (
        f"partial sums up to 2^p * 2^{input + weight}, past the largest {case.dtype} [{case}]")


@given(case=conv2d_cases(tiers=("float",), magnitudes=MAGNITUDES))
def test_float_tier_values_are_finite_numbers_of_their_dtype_at_every_scale(case):
    for name, array, dtype in zip(("input", "weight", "bias"), case.arrays(), case.dtypes):
        if array is None:
            continue
        assert np.isfinite(array).all(), f"{name} holds non-finite values [{case}.arrays()]"
        assert np.array_equal(round_to(array, dtype), array), (
            f"{name} holds values that are not {dtype} numbers [{case}.arrays()]")


@given(case=conv2d_cases(tiers=("float",), magnitudes=MAGNITUDES))
def test_no_partial_sum_of_float_tier_data_can_overflow_in_any_order(case):
    arrays = case.arrays()
    largest = FORMATS[ACCUMULATION.get(case.dtype, case.dtype)].largest
    worst = case.magnitude(arrays).max(initial=0)
    assert worst <= largest / 2, (
        f"max M = {worst:.3g}, but should be <= {largest / 2:.3g}, half the largest number "
        f"the products accumulate in [{case}]")


@given(case=ALL_DATA)
def test_a_tensor_without_bulk_has_at_least_one_special_value(case):
    for name, array in zip(("input_data", "weight_data", "bias_data"), case.arrays()):
        features = getattr(case, name)
        if features.density == "none" and array is not None and array.size:
            assert features.specials, f"{name} has no bulk and no specials: all zero [{case}]"
