"""Data features: what Hypothesis decides about a tensor's values; the seed fills the rest.

Every tensor's bulk comes from the case's seed (case/data.py).  Its features,
drawn by Hypothesis (strategies/data.py) and printed in the descriptor, shape
that bulk, so Hypothesis can shrink the values and steer towards edges:

- ``exponent`` k: the tensor is scaled by 2^k, from the subnormal range to
  near overflow.  The bias is scaled by 2^(k_input + k_weight + k_bias): its
  exponent is relative to the products it is added to;
- ``density``: ``dense`` (every element from the seed), ``sparse`` (about one
  element in eight kept, the rest zero) or ``none`` (only the special values);
- ``signs``: ``mixed`` (as drawn), ``positive``, ``negative``, ``paired``
  (each odd channel repeats the even channel before it) or ``opposed`` (and
  negates it).  An opposed input under a paired weight, or the reverse,
  cancels every pair of products exactly: catastrophic cancellation by
  construction;
- ``specials``: ``(index, value)`` pairs, applied last: the element at that
  flat index (modulo the tensor's size) is set to ``value``.  A value is
  ``M`` or ``MpE`` (M * 2^E, in units of the tensor's scale 2^k), ``-0``
  (negative zero) or ``tiny`` / ``-tiny`` (the dtype's smallest subnormal,
  whatever the scale).

So ``input(none,0=1):weight(none,0=1)`` is one nonzero input element and one
nonzero weight element, both 1: what a failure shrinks towards.  A
descriptor prints each tensor's non-default features as one token,
``input(e-140,sparse,positive,0=3,5=-0,7=3p-5,9=tiny)``; default features print
nothing and leave the data exactly as they were before features existed.

Exact tier: the features keep it exact.  Values stay small integers times
2^k, the bias is in the products' units (its exponent is 0), specials are
integers no larger than the tier's range, and ``exact_exponents`` bounds the
exponents so that every value, product and partial sum (at most 2^p units,
case/data.py) is a number of the dtype: 2^(k_input + k_weight) is at least the
smallest subnormal, and 2^p of it at most the largest finite number.
"""

import dataclasses
import re

import numpy as np

from reference.rounding import FORMATS

DENSITIES = ("dense", "sparse", "none")
SIGNS = ("mixed", "positive", "negative", "paired", "opposed")
TENSORS = ("input", "weight", "bias")
SPARSE_DENSITY = 1 / 8

_VALUE = re.compile(r"-0|-?tiny|(-?\d+)(?:p(-?\d+))?")


class FeatureError(ValueError):
    """Features that cannot be read or do not fit their case."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class TensorFeatures:
    """The features of one tensor's values (see the module docstring)."""

    exponent: int = 0
    density: str = "dense"
    signs: str = "mixed"
    specials: tuple = ()

    def __post_init__(self):
        if not _is_int(self.exponent):
            raise FeatureError(f"exponent={self.exponent!r}: an int")
        if self.density not in DENSITIES or self.signs not in SIGNS:
            raise FeatureError(f"density={self.density!r}, signs={self.signs!r}: density is one "
                               f"of {DENSITIES}, signs one of {SIGNS}")
        specials = tuple(tuple(special) for special in self.specials)
        for special in specials:
            if (len(special) != 2 or not _is_int(special[0]) or special[0] < 0
                    or not isinstance(special[1], str) or not _VALUE.fullmatch(special[1])):
                raise FeatureError(f"special {special!r}: (index >= 0, value) with a value "
                                   f"like 3, -3, 3p-5, -0, tiny or -tiny")
        object.__setattr__(self, "specials", specials)

    @property
    def is_default(self):
        return self == DEFAULT

    def token(self, tensor):
        """``tensor(...)`` for the descriptor; '' for default features."""
        if self.is_default:
            return ""
        parts = [f"e{self.exponent}"] if self.exponent else []
        parts += [word for word, default in ((self.density, "dense"), (self.signs, "mixed"))
                  if word != default]
        parts += [f"{index}={value}" for index, value in self.specials]
        return f"{tensor}({','.join(parts)})"

    @classmethod
    def from_token(cls, text):
        """The features a token's parenthesised part spells (``e-3,sparse,0=1``)."""
        fields = {"specials": []}
        for part in text.split(",") if text else ():
            if re.fullmatch(r"e-?\d+", part) and "exponent" not in fields:
                fields["exponent"] = int(part[1:])
            elif part in DENSITIES and "density" not in fields:
                fields["density"] = part
            elif part in SIGNS and "signs" not in fields:
                fields["signs"] = part
            elif re.fullmatch(r"\d+=.*", part):
                index, value = part.split("=", 1)
                fields["specials"].append((int(index), value))
            else:
                raise FeatureError(f"{part!r} is not an exponent (e-3), a density "
                                   f"{DENSITIES}, a sign pattern {SIGNS} or a special (0=1), "
                                   f"or it repeats one")
        return cls(**{**fields, "specials": tuple(fields["specials"])})

    def has_tiny_specials(self):
        return any(value.endswith("tiny") for _, value in self.specials)


DEFAULT = TensorFeatures()


def special_value(text):
    """(value in units of the tensor's scale, or None, absolute value or None)."""
    if text == "-0":
        return None, -0.0
    if text.endswith("tiny"):
        return None, text
    match = _VALUE.fullmatch(text)
    return int(match[1]) * 2.0 ** int(match[2] or 0), None


# --- exponent ranges ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Exponents:
    """Allowed exponents: of each tensor's scale (``value``), of the products' scale
    ``k_input + k_weight`` (``product``) and of the bias's total scale
    ``k_input + k_weight + k_bias`` (``bias``), each an inclusive (low, high)."""

    value: tuple
    product: tuple
    bias: tuple


def exact_exponents(dtype, exact_range):
    """Exact tier: values up to ``exact_range`` * 2^k, partial sums up to 2^p units of
    2^(k_input + k_weight), the bias in those units (so its own exponent is 0)."""
    form = FORMATS[dtype]
    headroom = int(np.ceil(np.log2(exact_range)))
    low = form.subnormal_exponent
    product = (low, form.max_exponent - form.significand)
    return Exponents((low, form.max_exponent - headroom), product, product)


# The float tier's values are clipped to 8 units (specials included, strategies/data.py),
# so sizes below are bounds, not estimates.
FLOAT_CLIP = 8.0


def float_exponents(dtype, dot_length, accumulation):
    """Float tier: every value finite, and M = conv(|x|, |w|) + |b| at most half the
    accumulation's largest number, so no partial sum in any order can overflow (each
    of the n products is at most 8 * 8 units, the specials add at most four more per
    output; complex moduli are sqrt(2) larger)."""
    form, wide = FORMATS[dtype], FORMATS[accumulation]
    n = max(1, dot_length)
    terms = FLOAT_CLIP * FLOAT_CLIP * (np.sqrt(n) + 4) * (2 if dtype.startswith("complex") else 1)
    top = form.max_exponent - 3  # 8 * 2^top = 2^max_exponent: finite
    product_top = wide.max_exponent - 2 - int(np.ceil(np.log2(terms)))
    bias_top = min(top, wide.max_exponent - 2 - 3)
    low = form.subnormal_exponent
    return Exponents((low, top), (2 * low, product_top), (low, bias_top))


# --- applying features --------------------------------------------------------

def _moved(values, axis):
    return np.moveaxis(values, axis, 0)


def _signed(values, signs, channel_axis):
    if signs == "mixed":
        return values
    if signs in ("positive", "negative"):
        size = np.abs(values.real) + (1j * np.abs(values.imag) if np.iscomplexobj(values) else 0)
        return size if signs == "positive" else -size
    values = values.copy()
    if not -values.ndim <= channel_axis < values.ndim or values.shape[channel_axis] < 2:
        return values  # no channel axis (a tensor of the wrong rank), or no pairs
    channels = _moved(values, channel_axis)  # a view: writes reach ``values``
    pairs = channels.shape[0] // 2 * 2
    even = channels[0:pairs:2]
    channels[1:pairs:2] = even if signs == "paired" else -even
    return values


def _thinned(values, density, rng):
    if density == "dense":
        return values
    if density == "none":
        return np.zeros_like(values)
    return np.where(rng.random(values.shape) < SPARSE_DENSITY, values, 0)


def shape_values(values, features, *, channel_axis, rng):
    """``values`` (unit scale) with the density and sign pattern of ``features`` and
    its numeric specials set (in units of the scale); named specials come later."""
    values = _signed(_thinned(values, features.density, rng), features.signs, channel_axis)
    if values.size:
        flat = values.reshape(-1).copy()
        for index, text in features.specials:
            units, _ = special_value(text)
            if units is not None:
                flat[index % flat.size] = units
        values = flat.reshape(values.shape)
    return values


def scaled(values, exponent, features, dtype):
    """``values`` times 2^exponent (exactly: a power of two), then the named specials
    (``-0``, ``tiny``) of ``features`` in ``dtype``."""
    if np.iscomplexobj(values):
        values = np.ldexp(values.real, exponent) + 1j * np.ldexp(values.imag, exponent)
    else:
        values = np.ldexp(values, exponent)
    if values.size:
        flat = values.reshape(-1).copy()
        for index, text in features.specials:
            _, absolute = special_value(text)
            if isinstance(absolute, str):
                tiny = FORMATS[dtype].smallest_subnormal
                absolute = -tiny if absolute.startswith("-") else tiny
            if absolute is not None:
                flat[index % flat.size] = absolute
        values = flat.reshape(values.shape)
    return values


def special_positions(shape, features):
    """A boolean mask of the elements ``features`` sets to special values."""
    mask = np.zeros(shape, bool)
    if mask.size:
        flat = mask.reshape(-1)
        for index, _ in features.specials:
            flat[index % flat.size] = True
    return mask


def exponents_of(case):
    """(input, weight, bias) total exponents: the scales 2^k the tensors are given."""
    product = case.input_data.exponent + case.weight_data.exponent
    return (case.input_data.exponent, case.weight_data.exponent,
            product + case.bias_data.exponent)


def reaches_subnormals(case):
    """Whether some value, product or result of ``case``'s data may be subnormal in its
    dtype, judged from its features alone (cheap: registry conditions use it).

    Exact-tier values are integers times 2^k, so nothing is below 2^k; float-tier
    values may be any small fraction of their scale, so 30 binary orders below the
    scale count too.  Unit-scale float32 or bfloat16 data never get there; float16
    data do (its smallest normal is 2^-14)."""
    form = FORMATS.get(case.dtype)
    if form is None:
        return False
    if any(features.has_tiny_specials() for features in case_features(case)):
        return True
    input, weight, bias = exponents_of(case)
    scales = [input, weight, input + weight] + ([bias] if case.has_bias else [])
    margin = 0 if case.tier == "exact" else 30
    return min(scales) - margin < form.min_exponent


def case_features(case):
    return (case.input_data, case.weight_data, case.bias_data)


def check_exact(case, exact_range):
    """Raise ``FeatureError`` where ``case``'s features would break the exact tier."""
    dtype = case.dtype
    allowed = exact_exponents(dtype, exact_range)
    input, weight = case.input_data.exponent, case.weight_data.exponent
    problems = []
    for name, exponent in (("input", input), ("weight", weight)):
        if not allowed.value[0] <= exponent <= allowed.value[1]:
            problems.append(f"{name} exponent {exponent} outside {allowed.value}")
    if not allowed.product[0] <= input + weight <= allowed.product[1]:
        problems.append(f"input + weight exponent {input + weight} outside {allowed.product}")
    if case.bias_data.exponent:
        problems.append("the bias exponent must be 0 (the bias is in the products' units)")
    for name, features in zip(TENSORS, case_features(case)):
        for index, text in features.specials:
            units, absolute = special_value(text)
            if absolute == -0.0 and not isinstance(absolute, str):
                continue
            if units is None or units != int(units) or abs(units) > exact_range:
                problems.append(f"{name} special {index}={text} is not an integer within "
                                f"+-{exact_range}")
    if problems:
        raise FeatureError(f"exact-tier {dtype} data: " + "; ".join(problems))
