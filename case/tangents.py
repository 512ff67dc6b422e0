"""Tangents and second cotangents of a case: the extra data of forward-mode and
double-backward checks, built from the case's seed, in the case's tier.

A *direction* ``(dx, dw, db)`` has the shapes of the case's input, weight and
bias (``db`` is None without a bias); it serves as the tangent of a
forward-mode derivative and as the cotangent ``(ggI, ggW, ggb)`` of the first
gradients in double backward.  A grad_output tangent ``dg`` has the output's
shape.  Each comes from its own stream of the case's seed, so a replayed case
rebuilds them bit for bit.

- float tier: normal values like the case's own (the weight direction scaled
  by 1/sqrt(n)), rounded to the dtype;
- exact tier: small integers, thinned (halving the density of a component)
  until every partial sum of every quantity the check compares is an integer
  the dtype holds exactly, with the case's own data and grad_output fixed.
  Each quantity is a sum of products of one fixed and one drawn factor, so
  its L1 magnitude (``|re| + |im|`` for complex) bounds every partial sum.

With the expanded_weight (expanded_bias) layout the weight (bias) direction is
one filter (element) repeated, as the case's weight (bias) is, so it has the
same strides as the tensor it pairs with.
"""

import numpy as np

from case.data import EXACT_RANGE, exact_limit, round_to
from reference import conv2d, grad_bias, grad_input, grad_weight

# Streams of np.random.default_rng([case.seed, stream]); case/data.py uses
# the seed itself (data) and stream 1 (grad_output).
TANGENT_STREAM, COTANGENT_STREAM, GRAD_OUTPUT_TANGENT_STREAM = 11, 12, 13
_MAX_HALVINGS = 64


def _l1(values):
    return np.abs(values.real) + np.abs(values.imag)


def _normal(rng, shape, dtype, scale=1.0):
    values = rng.standard_normal(shape) * scale
    if dtype.startswith("complex"):
        values = (values + 1j * rng.standard_normal(shape) * scale) / np.sqrt(2)
    return round_to(values, dtype)


def _integers(rng, shape, dtype):
    bound = EXACT_RANGE[dtype]
    values = rng.integers(-bound, bound + 1, shape).astype(np.float64)
    if dtype.startswith("complex"):
        values = values + 1j * rng.integers(-bound, bound + 1, shape)
    return values


def _expanded(case, name):
    """Whether the case's ``name`` tensor ("weight", "bias") is one element expanded."""
    return case.layout == f"expanded_{name}"


def _draw(case, rng, shape, scale=1.0, like=None):
    """One component in the case's tier; one ``like`` an expanded tensor is one repeated."""
    drawn_shape = (1, *shape[1:]) if like and _expanded(case, like) and shape else shape
    values = (_normal(rng, drawn_shape, case.dtype, scale) if case.tier == "float"
              else _integers(rng, drawn_shape, case.dtype))
    return np.broadcast_to(values, shape).copy()


def _thinned(case, rng, components, sums):
    """``components`` ({name: integers}) thinned until every sum is exact.

    ``sums``: ``(names, magnitude)`` pairs: ``magnitude(l1)`` maps the L1 sizes
    of the components to the L1 magnitude of one compared quantity, which
    depends on the components ``names``.  Where it exceeds the exact limit,
    those components lose half their density (the same uniform draws decide,
    so supports only shrink; expanded weights thin by filter).
    """
    limit = exact_limit(case.dtype)
    keep = {name: _draw_uniform(case, rng, name, value) for name, value in components.items()}
    density = dict.fromkeys(components, 1.0)
    current = dict(components)
    for _ in range(_MAX_HALVINGS):
        sizes = {name: _l1(value) for name, value in current.items()}
        over = {name for names, magnitude in sums
                if magnitude(sizes).max(initial=0) > limit for name in names}
        if not over:
            return current
        for name in over:
            density[name] /= 2
            current[name] = np.where(keep[name] < density[name], components[name], 0)
    return {name: np.zeros_like(value) for name, value in components.items()}


def _draw_uniform(case, rng, name, value):
    shape = value.shape
    if _expanded(case, name):
        return np.broadcast_to(rng.random((1, *shape[1:])), shape)
    return rng.random(shape)


def direction(case, arrays, stream):
    """``(dx, dw, db)``: normal (float tier) or small integers (exact tier), not yet thinned."""
    input, weight, bias = arrays
    rng = np.random.default_rng([case.seed, stream])
    n = max(1, int(np.prod(case.weight_shape[1:])))
    return (_draw(case, rng, input.shape),
            _draw(case, rng, weight.shape, 1 / np.sqrt(n), like="weight"),
            None if bias is None else _draw(case, rng, bias.shape, like="bias")), rng


def _without_none(**components):
    return {name: value for name, value in components.items() if value is not None}


def _as_direction(components, has_bias):
    return (components["input"], components["weight"],
            components["bias"] if has_bias else None)


def _tangent_magnitude(case, input, weight, sizes):
    """L1 magnitude of conv2d(dx, w) + conv2d(x, dw) + db with the drawn sizes."""
    arguments = case.arguments
    return (conv2d(sizes["input"], _l1(weight), sizes.get("bias"), **arguments)
            + conv2d(_l1(input), sizes["weight"], None, **arguments))


def tangents(case, arrays):
    """``(dx, dw, db)``, the tangent of a forward-mode derivative of the case's call:
    on exact data, ``conv2d(dx, w) + conv2d(x, dw) + db`` is exact in any order."""
    (dx, dw, db), rng = direction(case, arrays, TANGENT_STREAM)
    if case.tier == "float":
        return dx, dw, db
    input, weight, _ = arrays
    components = _without_none(input=dx, weight=dw, bias=db)
    sums = [(tuple(components), lambda sizes: _tangent_magnitude(case, input, weight, sizes))]
    return _as_direction(_thinned(case, rng, components, sums), db is not None)


def cotangents(case, arrays, grad_output):
    """``(ggI, ggW, ggb)``, the cotangents of the first gradients ``(input.grad,
    weight.grad, bias.grad)`` in double backward: on exact data the three second
    derivatives ``grad_input(g, ggW)``, ``grad_weight(g, ggI)`` and
    ``conv2d(ggI, w) + conv2d(x, ggW) + ggb`` are exact in any order."""
    (ggi, ggw, ggb), rng = direction(case, arrays, COTANGENT_STREAM)
    if case.tier == "float":
        return ggi, ggw, ggb
    input, weight, _ = arrays
    arguments, grad = case.arguments, _l1(grad_output)
    components = _without_none(input=ggi, weight=ggw, bias=ggb)
    sums = [(("weight",), lambda sizes: grad_input(grad, input.shape, sizes["weight"],
                                                   **arguments)),
            (("input",), lambda sizes: grad_weight(grad, sizes["input"], weight.shape,
                                                   **arguments)),
            (tuple(components), lambda sizes: _tangent_magnitude(case, input, weight, sizes))]
    return _as_direction(_thinned(case, rng, components, sums), ggb is not None)


def gradient_tangents(case, arrays, grad_output):
    """``((dx, dw, db), dg)``: a tangent of the call's inputs and of its grad_output,
    along which forward-over-reverse differentiates the first gradients: on exact
    data ``grad_input(dg, w) + grad_input(g, dw)``, ``grad_weight(dg, x) +
    grad_weight(g, dx)`` and ``grad_bias(dg)`` are exact in any order."""
    (dx, dw, db), rng = direction(case, arrays, GRAD_OUTPUT_TANGENT_STREAM)
    dg = _draw(case, rng, np.shape(grad_output))
    if case.tier == "float":
        return (dx, dw, db), dg
    input, weight, _ = arrays
    arguments, grad = case.arguments, _l1(grad_output)
    components = _without_none(input=dx, weight=dw, bias=db, grad_output=dg)
    sums = [(("grad_output", "weight"), lambda sizes: (
                grad_input(sizes["grad_output"], input.shape, _l1(weight), **arguments)
                + grad_input(grad, input.shape, sizes["weight"], **arguments))),
            (("grad_output", "input"), lambda sizes: (
                grad_weight(sizes["grad_output"], _l1(input), weight.shape, **arguments)
                + grad_weight(grad, sizes["input"], weight.shape, **arguments))),
            (("grad_output",), lambda sizes: grad_bias(sizes["grad_output"]))]
    thinned = _thinned(case, rng, components, sums)
    return _as_direction(thinned, db is not None), thinned["grad_output"]
