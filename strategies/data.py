"""What Hypothesis draws about a case's values and its call, once its sizes are drawn.

The seed still fills the bulk of every tensor; these strategies draw the
features that shape it (case/features.py) and the spelling of the call
(case/spellings.py), valid for the drawn case by construction:

- a magnitude regime gives the scale exponents: ``unit`` (2^0, the data as
  they always were), ``subnormal_input``, ``subnormal_weight``,
  ``subnormal_products`` (normal inputs whose products, and results, are
  subnormal), ``near_overflow`` (products within 2^12 of the largest that no
  summation order can overflow; float16 results past 65504) and
  ``anywhere``; exponents stay in ``exact_exponents`` (exact tier: every
  partial sum exact) or ``float_exponents`` (float tier: no partial sum in
  any order can overflow);
- a density (mostly ``dense``), a sign pattern (half of them ``mixed``) and
  one to three special values at drawn positions, per tensor.

Everything shrinks towards the plainest case that still fails: unit scale,
mixed signs, the default spelling, and from a dense bulk to ``none`` with
the specials left, i.e. towards one nonzero input element and one nonzero
weight element of value 1.
"""

import numpy as np
from hypothesis import strategies as st

from case.data import EXACT_RANGE, stored_bias_shape, stored_weight_shape
from case.features import (DENSITIES, SIGNS, TensorFeatures, exact_exponents, float_exponents)
from case.spellings import SPELLINGS
from reference.rounding import ACCUMULATION, FORMATS

MAGNITUDES = ("unit", "subnormal_input", "subnormal_weight", "subnormal_products",
              "near_overflow", "anywhere")
SUBNORMAL = ("subnormal_input", "subnormal_weight", "subnormal_products")
# Drawn first to last; shrinking goes towards the first.  Unit scale and dense,
# mixed-sign data keep most examples as strong as before features existed.
_DENSITY_CHOICES = ("none", "sparse") + ("dense",) * 6
_SIGN_CHOICES = ("mixed",) * 4 + SIGNS[1:]
_DENSITIES, _SIGNS = st.sampled_from(_DENSITY_CHOICES), st.sampled_from(_SIGN_CHOICES)
_NEAR = 12  # near_overflow: within 2^12 of the largest allowed product scale


def _check_choices(name, chosen, allowed):
    """Eager validation: a bad strategy argument fails where it is written."""
    unknown = [value for value in chosen if value not in allowed]
    if unknown or not chosen:
        raise ValueError(f"{name}={chosen!r}: choose a non-empty subset of {allowed}")


def call_spellings(spellings=SPELLINGS):
    """How the call is written; shrinks towards the default spelling ('mixed')."""
    _check_choices("spellings", spellings, SPELLINGS)
    return st.sampled_from([spelling for spelling in SPELLINGS if spelling in spellings])


def _ranges(case):
    if case.tier == "exact":
        return exact_exponents(case.dtype, EXACT_RANGE[case.dtype])
    return float_exponents(case.dtype, case.dot_length, ACCUMULATION.get(case.dtype, case.dtype))


def _within(draw, low, high, label):
    """An int in [low, high] (empty: the end nearest to 0 of a one-point range)."""
    if low > high:
        low = high
    return draw(st.integers(low, high), label=label)


@st.composite
def exponents(draw, case, regime):
    """(input, weight, bias) scale exponents of ``case`` in magnitude ``regime``."""
    if regime == "unit":
        return 0, 0, 0
    allowed = _ranges(case)
    (value_low, value_high), (product_low, product_high) = allowed.value, allowed.product
    product_high = min(product_high, 2 * value_high)
    form = FORMATS[case.dtype]
    subnormal_low = form.subnormal_exponent - (0 if case.tier == "exact" else 2)

    def split(total):
        """(input, weight) exponents adding up to ``total``, both allowed."""
        input = _within(draw, max(value_low, total - value_high),
                        min(value_high, total - value_low), "input exponent")
        return input, total - input

    if regime == "subnormal_input":
        input, weight = _within(draw, max(value_low, product_low), form.min_exponent - 1,
                                "input exponent"), 0
    elif regime == "subnormal_weight":
        input, weight = 0, _within(draw, max(value_low, product_low), form.min_exponent - 1,
                                   "weight exponent")
    elif regime == "subnormal_products":
        input, weight = split(_within(draw, max(product_low, subnormal_low),
                                      form.min_exponent - 1, "product exponent"))
    elif regime == "near_overflow":
        input, weight = split(_within(draw, product_high - _NEAR, product_high,
                                      "product exponent"))
    else:
        input = _within(draw, value_low, value_high, "input exponent")
        weight = _within(draw, max(value_low, product_low - input),
                         min(value_high, product_high - input), "weight exponent")
    if case.tier == "exact" or not case.has_bias:
        return input, weight, 0
    bias_low, bias_high = allowed.bias
    product = input + weight
    low, high = bias_low - product, bias_high - product
    bias = _within(draw, low, high, "bias exponent") if regime == "anywhere" else (
        min(max(0, low), high))
    return input, weight, bias


def _size(shape):
    return int(np.prod(shape)) if shape is not None else 0


@st.composite
def special_values(draw, case, edges):
    """One special value's token: a number in units of the tensor's scale, or -0 (and
    the smallest subnormal, ``tiny``, when ``edges``).

    Every kind draws the same choices (a sign, an exponent, a mantissa), so none is
    "simpler" to Hypothesis by drawing fewer, and shrinking goes towards the number 1,
    not towards -0."""
    named = ["-0"] + (["tiny", "-tiny"] if edges and case.tier == "float" else [])
    kind = draw(st.sampled_from(["number", "number", "number", *named]), label="special kind")
    negative = draw(st.booleans(), label="special sign")
    if case.tier == "exact":
        exponent, mantissa = 0, draw(st.integers(1, EXACT_RANGE[case.dtype]),
                                     label="special value")
    else:
        exponent = draw(st.integers(-10, 3), label="special exponent")
        mantissa = draw(st.integers(1, min(2 ** 10, int(8 * 2.0 ** -exponent))),
                        label="special mantissa")
    if kind != "number":
        return kind
    while mantissa % 2 == 0 and exponent < 3 and case.tier == "float":
        mantissa, exponent = mantissa // 2, exponent + 1  # one spelling per number
    sign = "-" if negative else ""
    return f"{sign}{mantissa}" + (f"p{exponent}" if exponent else "")


@st.composite
def tensor_features(draw, case, size, exponent, edges):
    """The features of one tensor of ``size`` elements scaled by 2^``exponent``.

    Every non-empty tensor has one to three special values, so density ``none``
    leaves at least one nonzero element (never an all-zero test), and shrinking a
    dense tensor to ``none`` changes a single choice: Hypothesis shrinks towards
    shorter choice sequences, so it could never add the special value that
    shrinking to one element needs."""
    density = draw(_DENSITIES, label="density")
    signs = draw(_SIGNS, label="signs")
    specials = []
    for _ in range(draw(st.integers(min(size, 1), min(size, 3)), label="specials")):
        specials.append((_free_position(draw, size, [at for at, _ in specials]),
                         draw(special_values(case, edges))))
    return TensorFeatures(exponent, density, signs, tuple(specials))


def _free_position(draw, size, taken):
    """A position of ``size`` not in ``taken``, by construction (a list with unique
    positions rejected repeats: a third of this module's drawing time, measured),
    shrinking towards the first free one."""
    position = draw(st.integers(0, size - 1 - len(taken)), label="special position")
    for used in sorted(taken):
        position += used <= position
    return position


@st.composite
def with_data_features(draw, case, *, magnitudes=MAGNITUDES, shaped=True):
    """``case`` with drawn data features: its scale exponents from one of the
    ``magnitudes`` regimes and, if ``shaped``, each tensor's density, signs and
    specials."""
    if case.dtype not in EXACT_RANGE or case.rule() is not None:
        return case  # bool or an invalid call: nothing is computed from the values
    regimes = [regime for regime in ("unit",) * 4 + MAGNITUDES[1:] if regime in magnitudes]
    regime = draw(st.sampled_from(regimes), label="magnitude")
    scales = draw(exponents(case, regime))
    if not shaped:
        return case.replace(**{f"{tensor}_data": TensorFeatures(exponent) for tensor, exponent
                               in zip(("input", "weight", "bias"), scales)})
    edges = any(regime != "unit" for regime in magnitudes)
    sizes = (_size(case.input_shape), _size(stored_weight_shape(case)),
             _size(stored_bias_shape(case)))
    drawn = {f"{tensor}_data": draw(tensor_features(case, size, exponent, edges), label=tensor)
             for tensor, size, exponent in zip(("input", "weight", "bias"), sizes, scales)}
    return case.replace(**drawn)


def validate_magnitudes(magnitudes):
    _check_choices("magnitudes", magnitudes, MAGNITUDES)


__all__ = ["DENSITIES", "MAGNITUDES", "SUBNORMAL", "call_spellings", "exponents",
           "tensor_features", "validate_magnitudes", "with_data_features"]
