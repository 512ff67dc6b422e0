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
convolutions and a bias, or a gradient summed in stages) within its bound
(case/derivatives.py says how each is summed; the judge decides).  ``gradgradcheck`` compares double backward with finite
differences in float64.  Double backward and forward over reverse are
checked on real dtypes; forward mode on complex ones too (conv2d is
holomorphic in each argument, so its jvp has no conjugate).
"""

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD
from hypothesis import given

from case import derivatives
from case.context import TENSORS
from case.tangents import cotangents, gradient_tangents, tangents
from strategies import conv2d_cases
from strategies.contexts import with_context
from strategies.problems import FINITE_DIFFERENCE_BOUNDS
from strategies.sizes import BACKWARD_WEIGHTS
from suite.judge import expect, fail_autograd, fail_with, finite_differences, output_of, require
from suite.properties import conformance, needs
from suite.run import run

REAL = ("float32", "float64", "float16", "bfloat16")
FORWARD_DTYPES = REAL + ("complex64", "complex128")


def _tensor(case, values, device, requires_grad=False):
    """A grad_output (or its tangent) as a contiguous tensor of the case's dtype."""
    staging = values.astype(np.float32) if case.dtype == "bfloat16" else values
    tensor = torch.from_numpy(np.ascontiguousarray(staging)).to(
        device=device, dtype=getattr(torch, case.dtype))
    return tensor.requires_grad_(requires_grad)


def _present(tensors):
    return [tensor for tensor in tensors if tensor is not None]


def _asked(case, components):
    """``components`` (a direction, a cotangent) for the tensors the case's context says
    require grad, None for the others: a derivative along a subset of the arguments."""
    present = [name for name, value in zip(TENSORS, components) if value is not None]
    asked = case.context.requiring_grad(present)
    return tuple(value if name in asked else None for name, value in zip(TENSORS, components))


def _zeros_for_none(components, like):
    """The reference's view of a partial direction: zero where none is given."""
    return tuple(np.zeros_like(full) if value is None and full is not None else value
                 for value, full in zip(components, like))


# ---- forward mode -------------------------------------------------------------------------

def _tangent_by_dual_tensors(conv2d, case, primals, tangents_):
    __tracebackhide__ = True
    with fwAD.dual_level():
        duals = [primal if tangent is None else fwAD.make_dual(primal, tangent)
                 for primal, tangent in zip(primals, tangents_)]
        out = output_of(case, run(conv2d, case, duals))
        return fwAD.unpack_dual(out).tangent


def _tangent_by_func_jvp(conv2d, case, primals, tangents_):
    __tracebackhide__ = True
    moving = [number for number, tangent in enumerate(tangents_) if tangent is not None]

    def call(*tensors):
        full = list(primals)
        for number, tensor in zip(moving, tensors):
            full[number] = tensor
        return output_of(case, run(conv2d, case, full))
    _, tangent = torch.func.jvp(call, tuple(primals[number] for number in moving),
                                tuple(tangents_[number] for number in moving))
    return tangent


FORWARD_WAYS = {"dual_tensors": _tangent_by_dual_tensors, "func_jvp": _tangent_by_func_jvp}


def _check_forward_mode(conv2d, device, model, case, way):
    __tracebackhide__ = True
    arrays = case.arrays()
    direction = _asked(case, tangents(case, arrays))
    tangent = FORWARD_WAYS[way](conv2d, case, case.tensors(arrays, device=device),
                                _asked(case, case.tensors(_zeros_for_none(direction, arrays),
                                                          device=device)))
    if tangent is None:
        fail_with(case, f"out has no tangent under forward-mode AD ({way}), but should: "
                        f"{', '.join(case.context.requiring_grad(TENSORS))} have tangents")
    require(expect(case, tangent, derivatives.tangent(
        case, arrays, _zeros_for_none(direction, arrays), way=way), model=model))


@conformance("autograd.forward_mode_exact")
@needs("autograd.forward_mode")
@pytest.mark.parametrize("way", FORWARD_WAYS)
@given(case=with_context(conv2d_cases(dtypes=FORWARD_DTYPES, tiers=("exact",)),
                        requires_grad=True))
def test_forward_mode_derivative_is_the_sum_of_the_tangent_convolutions_bitwise(
        conv2d, device, model, way, case):
    _check_forward_mode(conv2d, device, model, case, way)


@conformance("autograd.forward_mode_float")
@needs("autograd.forward_mode")
@given(case=with_context(conv2d_cases(dtypes=FORWARD_DTYPES, tiers=("float",)),
                        requires_grad=True))
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
    names = [name for name, tensor in zip(TENSORS, tensors)
             if tensor is not None and tensor.requires_grad]
    leaves = [tensor for tensor in tensors if tensor is not None and tensor.requires_grad]
    cotangents_ = [tensor for tensor, leaf in zip(case.tensors(cotangent_arrays, device=device),
                                                  tensors)
                   if leaf is not None and leaf.requires_grad]
    try:
        firsts = torch.autograd.grad(out, leaves, grad, create_graph=True)
        inputs = leaves + [grad]
        seconds = torch.autograd.grad(firsts, inputs, cotangents_, allow_unused=True)
        # an input the gradients do not depend on gets zeros (materialize_grads: torch >= 2.1)
        seconds = [torch.zeros_like(x) if g is None else g for g, x in zip(seconds, inputs)]
    except Exception as error:  # noqa: BLE001 - any exception of a pass is a finding
        fail_autograd(case, "double backward", error, device)
    return dict(zip(names + ["grad_output"], seconds))


def _check_double_backward(conv2d, device, model, case):
    __tracebackhide__ = True
    arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    cotangent = _zeros_for_none(_asked(case, cotangents(case, arrays, grad_output)), arrays)
    got = _second_gradients(conv2d, case, device, arrays, grad_output, cotangent)
    for name, quantity in derivatives.double_backward(case, arrays, grad_output,
                                                      cotangent).items():
        if name in got:  # the tensors that require grad, and grad_output
            require(expect(case, got[name], quantity, model=model))


@conformance("autograd.double_backward_exact")
@needs("autograd.double_backward")
@given(case=with_context(conv2d_cases(dtypes=REAL, tiers=("exact",), weights=BACKWARD_WEIGHTS),
                        requires_grad=True))
def test_double_backward_gives_the_reference_second_derivatives_bitwise(conv2d, device, model,
                                                                        case):
    _check_double_backward(conv2d, device, model, case)


@conformance("autograd.double_backward_float")
@needs("autograd.double_backward")
@given(case=with_context(conv2d_cases(dtypes=REAL, tiers=("float",), weights=BACKWARD_WEIGHTS),
                        requires_grad=True))
def test_double_backward_is_within_the_rounding_bound_of_the_reference_second_derivatives(
        conv2d, device, model, case):
    _check_double_backward(conv2d, device, model, case)


@conformance("autograd.gradgradcheck")
@needs("autograd.double_backward")
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
@needs("autograd.backward", "autograd.forward_mode")
@given(case=conv2d_cases(dtypes=REAL, tiers=("exact",), weights=BACKWARD_WEIGHTS))
def test_forward_over_reverse_moves_the_gradients_by_the_reference_convolutions(
        conv2d, device, model, case):
    arrays = case.arrays()
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
    expected = derivatives.gradient_tangents(case, arrays, grad_output, (dx, dw, db), dg)
    for quantity, actual in zip(expected.values(), moved):
        require(expect(case, actual, quantity, model=model))
