"""The data of a case, built deterministically from its seed, in two tiers.

- ``exact``: small integers, thinned until every partial sum of every output
  (in any order) is an integer the dtype represents exactly, so any correct
  summation order gives the same bits and the check is bitwise.
- ``float``: normal input and bias, weight scaled by 1/sqrt(n) so outputs are
  of order one; judged against the rounding-error bound.

Values are returned in float64 (complex128) but are exactly representable in
the case's dtype, so the reference sees the very numbers the implementation
sees.  NumPy has no bfloat16: ``round_to`` rounds to it by its bit pattern.

A case's data features (case/features.py: scale, density, signs, special
values) shape the seed's values: the float tier's are clipped to 8 units,
shaped, scaled by a power of two and rounded once to the dtype; the exact
tier's integers are shaped and thinned in units (never thinning a special
value) and then scaled, which is exact.  The features' own randomness (the
sparse mask) comes from a stream of its own, so the bulk of a seed's values
is the same with and without features; with default features the data are
exactly what they were before features existed.
"""

import numpy as np

from case import features as data_features

# Significand bits p: integers up to 2^p are exact in the dtype.
SIGNIFICAND_BITS = {"float64": 53, "complex128": 53, "float32": 24, "complex64": 24,
                    "float16": 11, "bfloat16": 8}

# Largest |value| of exact-tier data: small enough that thinning rarely bites.
EXACT_RANGE = {"float64": 16, "complex128": 16, "float32": 16, "complex64": 16,
               "float16": 4, "bfloat16": 2}


def round_to(values, dtype):
    """``values`` rounded to the nearest ``dtype`` number, kept in float64/complex128."""
    if np.iscomplexobj(values):
        return round_to(values.real, dtype) + 1j * round_to(values.imag, dtype)
    if dtype in ("float64", "complex128"):
        return values.astype(np.float64)
    if dtype == "bool":
        return (values > 0).astype(np.float64)
    if dtype == "bfloat16":
        bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000  # round half to even
        return bits.astype(np.uint32).view(np.float32).astype(np.float64)
    single = {"float32": np.float32, "complex64": np.float32, "float16": np.float16}[dtype]
    return values.astype(single).astype(np.float64)


def _normal(rng, shape, dtype, scale=1.0):
    values = rng.standard_normal(shape) * scale
    if dtype.startswith("complex"):
        values = (values + 1j * rng.standard_normal(shape) * scale) / np.sqrt(2)
    return values


def _draw(rng, shape, dtype, scale=1.0):
    return round_to(_normal(rng, shape, dtype, scale), dtype)


def _draw_integers(rng, shape, dtype):
    bound = EXACT_RANGE[dtype]
    values = rng.integers(-bound, bound + 1, shape).astype(np.float64)
    if dtype.startswith("complex"):
        values = values + 1j * rng.integers(-bound, bound + 1, shape)
    return values


def stored_weight_shape(case):
    """An expanded weight holds one filter repeated over out_channels."""
    if case.layout == "expanded_weight":
        return (1, *case.weight_shape[1:])
    return case.weight_shape


def stored_bias_shape(case):
    """An expanded bias holds one element repeated over out_channels."""
    if case.layout == "expanded_bias" and case.bias_shape:
        return (1,)
    return case.bias_shape


def _broadcast(case, weight, bias):
    """The weight and bias at their full shapes (an expanded one's element repeated)."""
    weight = np.broadcast_to(weight, case.weight_shape).copy()
    if bias is not None:
        bias = np.broadcast_to(bias, case.bias_shape).copy()
    return weight, bias


def case_arrays(case):
    """(input, weight, bias) of ``case``; bias is None when the case has none."""
    rng = np.random.default_rng(case.seed)
    if case.tier == "exact":
        return _exact_arrays(case, rng)
    input_dtype, weight_dtype, bias_dtype = case.dtypes
    n = max(1, int(np.prod(case.weight_shape[1:])))
    if _plain(case):
        input = _draw(rng, case.input_shape, input_dtype)
        weight = _draw(rng, stored_weight_shape(case), weight_dtype, 1 / np.sqrt(n))
        bias = _draw(rng, stored_bias_shape(case), bias_dtype) if case.has_bias else None
        return (input, *_broadcast(case, weight, bias))
    input = _normal(rng, case.input_shape, input_dtype)
    weight = _normal(rng, stored_weight_shape(case), weight_dtype, 1 / np.sqrt(n))
    bias = _normal(rng, stored_bias_shape(case), bias_dtype) if case.has_bias else None
    shaped = _shaped(case, (input, weight, bias), clip=data_features.FLOAT_CLIP)
    exponents = data_features.exponents_of(case)
    input, weight, bias = (
        None if values is None else round_to(
            data_features.scaled(values, exponent, features, dtype), dtype)
        for values, exponent, features, dtype in zip(
            shaped, exponents, data_features.case_features(case), case.dtypes))
    return (input, *_broadcast(case, weight, bias))


def _plain(case):
    return getattr(case, "plain_data", True)


# The channel axis of each tensor, along which 'paired' and 'opposed' pair values.
_CHANNEL_AXES = (-3, 1, 0)


def _clipped(values, clip):
    if np.iscomplexobj(values):
        return np.clip(values.real, -clip, clip) + 1j * np.clip(values.imag, -clip, clip)
    return np.clip(values, -clip, clip)


def _shaped(case, arrays, clip=None):
    """Unit-scale ``arrays`` with each tensor's density, sign pattern and numeric specials
    (the sparse masks from the features' own stream of the seed)."""
    shaped = []
    for number, (values, features, axis) in enumerate(zip(
            arrays, data_features.case_features(case), _CHANNEL_AXES)):
        if values is None:
            shaped.append(None)
            continue
        if clip is not None:
            values = _clipped(values, clip)
        rng = np.random.default_rng([case.seed, 3, number])
        shaped.append(data_features.shape_values(values, features, channel_axis=axis, rng=rng))
    return shaped


def exact_limit(dtype):
    """Partial sums up to this size are exact in ``dtype`` (its accumulator included)."""
    return 2.0 ** SIGNIFICAND_BITS[dtype]


def _l1_magnitude(case, input, weight, bias):
    """conv2d(|re|+|im|, ...): bounds every partial sum's components.  The border is
    padded as the call pads it: 'reflect', 'replicate' and 'circular' fill it with input
    values, which count in the sums as much as the rest."""
    from reference.forward import conv2d_resolved

    return conv2d_resolved(case.geometry(), _l1(input), _l1(weight),
                           None if bias is None else _l1(bias),
                           getattr(case, "padding_mode", "zeros"))


def _l1(a):
    """|re| + |im|: bounds both components of every sum of such terms."""
    return np.abs(a.real) + np.abs(a.imag)


def _largest_possible_sum(case, dtype):
    """A bound on every partial sum of exact-tier data of this shape: n products
    of at most R*R (|re|+|im| doubles each factor's size for complex) plus a bias."""
    size = EXACT_RANGE[dtype] * (2 if dtype.startswith("complex") else 1)
    return size * size * int(np.prod(case.weight_shape[1:])) + size


def _exact_arrays(case, rng):
    """Small integers; the input is thinned (halving its density) until exact; then
    each tensor is scaled by its power of two (the weight's one filter before it is
    repeated, for an expanded weight)."""
    input, weight, bias = _exact_units(case, rng)
    if not _plain(case):
        input, weight, bias = (
            None if values is None else data_features.scaled(values, exponent, features, dtype)
            for values, exponent, features, dtype in zip(
                (input, weight, bias), data_features.exponents_of(case),
                data_features.case_features(case), case.dtypes))
    return (input, *_broadcast(case, weight, bias))


def _exact_units(case, rng):
    """The exact tier's integers, in units of each tensor's scale; the weight and bias
    as drawn (one filter or element, for an expanded one)."""
    dtype = case.dtype
    input = _draw_integers(rng, case.input_shape, dtype)
    weight = _draw_integers(rng, stored_weight_shape(case), dtype)
    bias = _draw_integers(rng, stored_bias_shape(case), dtype) if case.has_bias else None
    special = np.zeros(case.input_shape, bool)
    if not _plain(case):
        input, weight, bias = _shaped(case, (input, weight, bias))
        special = data_features.special_positions(case.input_shape, case.input_data)
    limit = exact_limit(dtype)
    if _largest_possible_sum(case, dtype) <= limit:
        return input, weight, bias  # exact whatever the data: no need to look
    keep = rng.random(case.input_shape)
    density = 1.0
    whole, whole_bias = _broadcast(case, weight, bias)
    while input.size and _l1_magnitude(case, input, whole, whole_bias).max(initial=0) > limit:
        density /= 2
        input = np.where((keep < density) | special, input, 0)
    return input, weight, bias


def in_units(case, arrays):
    """``arrays`` divided by each tensor's power-of-two scale (exact): the exact tier's
    integers."""
    if _plain(case):
        return arrays
    return tuple(None if values is None else data_features.scaled(values, -exponent,
                                                                  data_features.DEFAULT, "float64")
                 for values, exponent in zip(arrays, data_features.exponents_of(case)))


def _adjoint_magnitude(case, arrays, grad_output):
    """The largest partial sum of grad_input, grad_weight and grad_bias (L1 sizes)."""
    from reference.adjoints import grad_bias, grad_input, grad_weight
    input, weight, _ = arrays
    grad = _l1(grad_output)
    sums = (grad_input(grad, input.shape, _l1(weight), **case.arguments),
            grad_weight(grad, _l1(input), weight.shape, **case.arguments), grad_bias(grad))
    return max(s.max(initial=0) for s in sums)


def _constant_grad_output(case, arrays, rng, shape):
    """One value everywhere, as ``out.sum()`` (1) or ``out.mean()`` (1/numel) hand it to
    backward; on the exact tier 1, or 0 where the sums of 1s would not be exact."""
    size = int(np.prod(shape))
    if case.tier == "float":
        return np.full(shape, round_to(np.float64(1 / max(1, size) if rng.integers(2) else 1.0),
                                       case.dtype))
    ones = np.ones(shape)
    exact = not size or _adjoint_magnitude(case, in_units(case, arrays), ones) <= exact_limit(
        case.dtype)
    return ones if exact else np.zeros(shape)


def grad_output_array(case, arrays):
    """A grad_output to backpropagate through ``case`` with data ``arrays``.

    From its own stream of the case's seed, in the case's tier: normal values
    (float), or small integers thinned until every partial sum of grad_input,
    grad_weight and grad_bias is exact (exact), as the input is for the forward;
    one value everywhere where the context hands backward an expanded gradient.
    """
    rng = np.random.default_rng([case.seed, 1])
    shape = case.geometry().output_shape
    if case.context.grad_output == "expanded":
        return _constant_grad_output(case, arrays, rng, shape)
    if case.tier == "float":
        return _draw(rng, shape, case.dtype)
    grad = _draw_integers(rng, shape, case.dtype)
    keep = rng.random(shape)
    density = 1.0
    arrays = in_units(case, arrays)  # each gradient sum is in units of one tensor's scale
    while grad.size and _adjoint_magnitude(case, arrays, grad) > exact_limit(case.dtype):
        density /= 2
        grad = np.where(keep < density, grad, 0)
    return grad
