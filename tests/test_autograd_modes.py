"""conv2d's forward-mode, double-backward and forward-over-reverse derivatives are
the reference's convolutions.

Each is a separate code path in torch with formulas of its own (the jvp of
convolution, ``_convolution_double_backward``, the jvp of
``convolution_backward``), and each is a convolution again, because conv2d is
bilinear in (input, weight) and affine in bias (reference/adjoints.py):

- forward mode, along a tangent ``(dx, dw, db)``:
  ``out' = conv2d(dx, w) + conv2d(x, dw) + db``;
- double backward: with ``g`` the grad_output and ``(gx, gw, gb)`` the first
  gradients (made with ``create_graph=True``), backpropagating cotangents
  ``(ggI, ggW, ggb)`` through them gives the gradients of
  ``L2 = <gx, ggI> + <gw, ggW> + <gb, ggb>``:
  ``x: grad_input(g, ggW)``, ``w: grad_weight(g, ggI)``, ``b: 0`` and
  ``g: conv2d(ggI, w) + conv2d(x, ggW) + ggb``;
- forward over reverse (``torch.func.jvp`` of ``torch.func.vjp``), along
  ``(dx, dw, db)`` and ``dg``: ``gx' = grad_input(dg, w) + grad_input(g, dw)``,
  ``gw' = grad_weight(dg, x) + grad_weight(g, dx)``, ``gb' = grad_bias(dg)``.

The tangents and cotangents come from the case's seed in the case's tier
(case/tangents.py): on exact-tier data every partial sum is an exact integer,
so the check is equality; on float data each quantity is a staged sum (two
convolutions and a bias, or a gradient summed in stages) held to
``staged_error_bound`` (reference/staged_sums.py) with its own length and
stage count.  ``gradgradcheck`` compares double backward with finite
differences in float64.  Double backward and forward over reverse are
checked on real dtypes; forward mode on complex ones too (conv2d is
holomorphic in each argument, so its jvp has no conjugate).
"""

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD
from hypothesis import given

import reference
from case.tangents import cotangents, gradient_tangents, tangents
from reference import numerics
from reference.adjoints import conv2d_tangent, double_backward
from reference.adjoints import gradient_tangents as reference_gradient_tangents
from reference.staged_sums import gradient_sums, staged_error_bound
from strategies import conv2d_cases
from strategies.problems import FINITE_DIFFERENCE_BOUNDS
from strategies.sizes import BACKWARD_WEIGHTS
from suite.judge import agree, fail_autograd, fail_with, finite_differences, output_of, require
from suite.properties import conformance
from suite.run import run

REAL = ("float32", "float64", "float16", "bfloat16")
FORWARD_DTYPES = REAL + ("complex64", "complex128")


def _lengths_and_roundings(case):
    """{quantity: (most products one partial sum adds, most roundings to the dtype per term)}
    (reference/staged_sums.py): one where a product is formed in the dtype, one
    where a partial sum is stored, one per later addition.

    - ``tangent``: two convolutions of n products each and a bias, added:
      2n+1 products, 1 + 1 + 2 roundings;
    - ``grad_input``, ``grad_weight``, ``grad_bias``: a first gradient, summed
      in stages as an im2col backward sums it (``gradient_sums``);
    - ``two_grad_inputs``, ``two_grad_weights``: two of them added: twice the
      products, one rounding more.
    """
    sums = gradient_sums(case.geometry())
    (per_input, input_roundings), (positions, weight_roundings) = (
        sums["input.grad"], sums["weight.grad"])
    return {"tangent": (2 * case.dot_length + 1, 4),
            "grad_input": sums["input.grad"], "grad_weight": sums["weight.grad"],
            "grad_bias": sums["bias.grad"],
            "two_grad_inputs": (2 * per_input, input_roundings + 1),
            "two_grad_weights": (2 * positions, weight_roundings + 1)}


def _judge(case, model, actual, expected, magnitude, quantity, *, name, source, widen=None):
    """Require ``actual`` to be ``expected``: bitwise on exact data, else within the
    staged bound of ``quantity`` (``_lengths_and_roundings``), or ``widen(bound)``."""
    __tracebackhide__ = True
    exact = case.tier == "exact" and model.bitwise_on_exact_data
    bound = None
    if not exact:
        length, roundings = _lengths_and_roundings(case)[quantity]
        bound = staged_error_bound(magnitude, dot_length=length, roundings=roundings,
                                   dtype=case.dtype, tf32=model.tf32)
        bound = bound if widen is None else widen(bound)
    require(agree(case, actual, expected, exact=exact, bound=bound, name=name, source=source))


def _through_the_algorithm(case, model, arrays, direction, expected):
    """Under the transform model a tangent is computed like the forward call, by the
    algorithm: conv(dx, w) + conv(x, dw) + db, two forward calls each within the
    model's bound, then one addition (the u |tangent| of its rounding).  None
    under the direct model, whose staged bound already covers the sum."""
    if model.kind == "direct":
        return None
    (x, w, _), (dx, dw, db) = arrays, direction
    parts = [((dx, w, None), reference.conv2d(dx, w, None, **case.arguments)),
             ((x, dw, db), reference.conv2d(x, dw, db, **case.arguments))]
    transform = sum(case.bound(part, value, model) for part, value in parts)
    rounding = numerics.gamma(1, 2.0 ** -numerics.FORMATS[case.dtype].significand)
    return lambda staged: np.maximum(staged, transform + rounding * np.abs(expected))


def _absolute(*arrays):
    return [None if array is None else np.abs(array) for array in arrays]


def _tensor(case, values, device, requires_grad=False):
    """A grad_output (or its tangent) as a contiguous tensor of the case's dtype."""
    staging = values.astype(np.float32) if case.dtype == "bfloat16" else values
    tensor = torch.from_numpy(np.ascontiguousarray(staging)).to(
        device=device, dtype=getattr(torch, case.dtype))
    return tensor.requires_grad_(requires_grad)


def _present(tensors):
    return [tensor for tensor in tensors if tensor is not None]


# ---- forward mode -------------------------------------------------------------------------

def _tangent_by_dual_tensors(conv2d, case, primals, tangents_):
    __tracebackhide__ = True
    with fwAD.dual_level():
        duals = [None if primal is None else fwAD.make_dual(primal, tangent)
                 for primal, tangent in zip(primals, tangents_)]
        out = output_of(case, run(conv2d, case, duals))
        return fwAD.unpack_dual(out).tangent


def _tangent_by_func_jvp(conv2d, case, primals, tangents_):
    __tracebackhide__ = True

    def call(*tensors):
        full = list(tensors) + [None] * (3 - len(tensors))
        return output_of(case, run(conv2d, case, full))
    _, tangent = torch.func.jvp(call, tuple(_present(primals)), tuple(_present(tangents_)))
    return tangent


FORWARD_WAYS = {"dual_tensors": _tangent_by_dual_tensors, "func_jvp": _tangent_by_func_jvp}


def _check_forward_mode(conv2d, device, model, case, way):
    __tracebackhide__ = True
    input, weight, bias = arrays = case.arrays()
    dx, dw, db = direction = tangents(case, arrays)
    tangent = FORWARD_WAYS[way](conv2d, case, case.tensors(arrays, device=device),
                                case.tensors(direction, device=device))
    if tangent is None:
        fail_with(case, f"out has no tangent under forward-mode AD ({way}), but should: its "
                        f"input, weight and bias have tangents")
    expected = conv2d_tangent(input, weight, dx, dw, db, **case.arguments)
    magnitude = conv2d_tangent(*_absolute(input, weight, dx, dw, db), **case.arguments)
    _judge(case, model, tangent, expected, magnitude, "tangent", name=f"out's tangent by {way}",
           source="the reference's conv2d(dx, w) + conv2d(x, dw) + db",
           widen=_through_the_algorithm(case, model, arrays, direction, expected))


@conformance("autograd.forward_mode_exact")
@pytest.mark.parametrize("way", FORWARD_WAYS)
@given(case=conv2d_cases(dtypes=FORWARD_DTYPES, tiers=("exact",)))
def test_forward_mode_derivative_is_the_sum_of_the_tangent_convolutions_bitwise(
        conv2d, device, model, way, case):
    _check_forward_mode(conv2d, device, model, case, way)


@conformance("autograd.forward_mode_float")
@given(case=conv2d_cases(dtypes=FORWARD_DTYPES, tiers=("float",)))
def test_forward_mode_derivative_is_within_the_rounding_bound_of_the_tangent_convolutions(
        conv2d, device, model, case):
    _check_forward_mode(conv2d, device, model, case, "dual_tensors")


# ---- double backward ----------------------------------------------------------------------

def _second_gradients(conv2d, case, device, arrays, grad_output, cotangent_arrays):
    """{name: gradient of <gx, ggI> + <gw, ggW> + <gb, ggb>} for input, weight, bias
    and grad_output, the first gradients made with create_graph=True."""
    __tracebackhide__ = True
    tensors = case.tensors(arrays, device=device, requires_grad=True)
    out = output_of(case, run(conv2d, case, tensors))
    grad = _tensor(case, grad_output, device, requires_grad=True)
    leaves = _present(tensors)
    try:
        firsts = torch.autograd.grad(out, leaves, grad, create_graph=True)
        inputs = leaves + [grad]
        seconds = torch.autograd.grad(firsts, inputs,
                                      _present(case.tensors(cotangent_arrays, device=device)),
                                      allow_unused=True)
        # an input the gradients do not depend on gets zeros (materialize_grads: torch >= 2.1)
        seconds = [torch.zeros_like(x) if g is None else g for g, x in zip(seconds, inputs)]
    except Exception as error:  # noqa: BLE001 - any exception of a pass is a finding
        fail_autograd(case, "double backward", error, device)
    names = ["input", "weight", "bias"][:len(leaves)] + ["grad_output"]
    return dict(zip(names, seconds))


def _check_double_backward(conv2d, device, model, case):
    __tracebackhide__ = True
    input, weight, _ = arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    ggi, ggw, ggb = cotangent = cotangents(case, arrays, grad_output)
    got = _second_gradients(conv2d, case, device, arrays, grad_output, cotangent)
    arguments = case.arguments
    expected = double_backward(grad_output, input, weight, ggi, ggw, ggb, **arguments)
    magnitude = double_backward(*_absolute(grad_output, input, weight, ggi, ggw, ggb),
                                **arguments)
    for name, quantity, source in (
            ("input", "grad_input", "grad_input(g, ggW)"),
            ("weight", "grad_weight", "grad_weight(g, ggI)"),
            ("grad_output", "tangent", "conv2d(ggI, w) + conv2d(x, ggW) + ggb")):
        _judge(case, model, got[name], expected[name], magnitude[name], quantity,
               name=f"{name}.grad of L2", source=f"the reference's {source}")
    if "bias" in got:  # no first gradient depends on the bias: exactly zero
        require(agree(case, got["bias"], np.zeros(case.bias_shape), exact=True,
                      name="bias.grad of L2", source="zero (no first gradient depends on bias)"))


@conformance("autograd.double_backward_exact")
@given(case=conv2d_cases(dtypes=REAL, tiers=("exact",), weights=BACKWARD_WEIGHTS))
def test_double_backward_gives_the_reference_second_derivatives_bitwise(conv2d, device, model,
                                                                        case):
    _check_double_backward(conv2d, device, model, case)


@conformance("autograd.double_backward_float")
@given(case=conv2d_cases(dtypes=REAL, tiers=("float",), weights=BACKWARD_WEIGHTS))
def test_double_backward_is_within_the_rounding_bound_of_the_reference_second_derivatives(
        conv2d, device, model, case):
    _check_double_backward(conv2d, device, model, case)


@conformance("autograd.gradgradcheck")
@given(case=conv2d_cases(**FINITE_DIFFERENCE_BOUNDS))
def test_double_backward_matches_finite_differences_of_the_gradients_in_float64(
        conv2d, device, case):
    leaves = _present(case.tensors(device=device, requires_grad=True))

    def convolve(*tensors):
        return output_of(case, run(conv2d, case, list(tensors) + [None] * (3 - len(tensors))))

    require(finite_differences(case, torch.autograd.gradgradcheck, convolve, leaves,
                               compared="the double backward (of the gradients)"))


# ---- forward over reverse -----------------------------------------------------------------

@conformance("autograd.forward_over_reverse")
@given(case=conv2d_cases(dtypes=REAL, tiers=("exact",), weights=BACKWARD_WEIGHTS))
def test_forward_over_reverse_moves_the_gradients_by_the_reference_convolutions(
        conv2d, device, model, case):
    input, weight, _ = arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    (dx, dw, db), dg = gradient_tangents(case, arrays, grad_output)
    primals = _present(case.tensors(arrays, device=device))
    directions = _present(case.tensors((dx, dw, db), device=device))
    count = len(primals)

    def first_gradients(*tensors):
        def call(*leaves):
            return output_of(case, run(conv2d, case, list(leaves) + [None] * (3 - count)))
        _, pullback = torch.func.vjp(call, *tensors[:count])
        return pullback(tensors[count])

    _, moved = torch.func.jvp(first_gradients, (*primals, _tensor(case, grad_output, device)),
                              (*directions, _tensor(case, dg, device)))
    arguments = case.arguments
    expected = reference_gradient_tangents(grad_output, input, weight, dx, dw, dg, **arguments)
    magnitude = reference_gradient_tangents(*_absolute(grad_output, input, weight, dx, dw, dg),
                                            **arguments)
    for name, actual, quantity, source in (
            ("input.grad", moved[0], "two_grad_inputs", "grad_input(dg, w) + grad_input(g, dw)"),
            ("weight.grad", moved[1], "two_grad_weights",
             "grad_weight(dg, x) + grad_weight(g, dx)"),
            ("bias.grad", moved[2] if count == 3 else None, "grad_bias", "grad_bias(dg)")):
        if name == "bias.grad" and count < 3:
            continue
        _judge(case, model, actual, expected[name], magnitude[name], quantity,
               name=f"{name}'s tangent", source=f"the reference's {source}")
