"""conv2d's gradients are the reference's adjoints, and autograd treats it as the linear map it is.

Backpropagating ``grad_output`` g through ``out = conv2d(x, w, b)`` must give
``x.grad = grad_input(g, w)``, ``w.grad = grad_weight(g, x)`` and
``b.grad = grad_bias(g)`` (reference/adjoints.py).  For complex dtypes torch
returns the conjugate Wirtinger gradient, i.e. the adjoint of the linear map:
``grad_input(g, conj(w))`` and ``grad_weight(g, conj(x))`` (checked on torch
2.13.0 to 3e-15 in complex128).

Every gradient element is itself a sum of products, so the two tiers of the
forward properties apply: bitwise on integer data thinned so every partial
sum is exact, within a bound on float data.  How each gradient is summed,
and so the bound, is case/derivatives.py's; the judge decides.
"""

import numpy as np
import torch
from hypothesis import event, given

import reference
from case.derivatives import gradients
from strategies import conv2d_cases
from strategies.kernel_probes import with_kernel_probes
from strategies.problems import FINITE_DIFFERENCE_BOUNDS
from strategies.sizes import BACKWARD_WEIGHTS
from suite.judge import (Finding, Problem, agreement, as_numpy, expect, fail_autograd, fail_with,
                         finite_differences, output_of, require)
from suite.properties import conformance, needs
from suite.run import run

GRADIENT_DTYPES = ("float32", "float64", "complex64", "complex128", "float16", "bfloat16")


def _backward(conv2d, case, device, arrays, grad_output):
    """{name: gradient} after backpropagating ``grad_output`` through the call."""
    __tracebackhide__ = True
    tensors = case.tensors(arrays, device=device, requires_grad=True)
    out = output_of(case, run(conv2d, case, tensors))
    if not out.requires_grad:
        fail_with(case, "out does not require grad, but should: its input, weight and bias do")
    try:
        out.backward(torch.from_numpy(grad_output).to(device=device, dtype=out.dtype))
    except Exception as error:  # noqa: BLE001 - any exception of a pass is a finding
        fail_autograd(case, "backward", error, device)
    gradients = {}
    for name, tensor in zip(("input", "weight", "bias"), tensors):
        if tensor is not None:
            if tensor.grad is None:
                fail_with(case, f"{name}.grad is None after backward, but should be a tensor")
            gradients[f"{name}.grad"] = tensor.grad
    return gradients


def _check_gradients(conv2d, device, model, case):
    __tracebackhide__ = True
    arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    actual = _backward(conv2d, case, device, arrays, grad_output)
    for name, quantity in gradients(case, arrays, grad_output).items():
        require(expect(case, actual[name], quantity, model=model))


@conformance("gradients.exact")
@needs("autograd.backward")
@given(case=conv2d_cases(dtypes=GRADIENT_DTYPES, tiers=("exact",), weights=BACKWARD_WEIGHTS))
@with_kernel_probes
def test_gradients_equal_the_adjoints_bitwise_on_integer_data(conv2d, device, model, case):
    _check_gradients(conv2d, device, model, case)


@conformance("gradients.float")
@needs("autograd.backward")
@given(case=conv2d_cases(dtypes=GRADIENT_DTYPES, tiers=("float",), weights=BACKWARD_WEIGHTS))
def test_gradients_are_within_the_rounding_error_bound_of_the_adjoints(
        conv2d, device, model, case):
    _check_gradients(conv2d, device, model, case)


@conformance("gradients.gradcheck")
@needs("autograd.backward")
@given(case=conv2d_cases(**FINITE_DIFFERENCE_BOUNDS))
def test_autograd_gradients_match_finite_differences_in_float64(conv2d, device, case):
    input, weight, bias = case.tensors(device=device, requires_grad=True)
    leaves = [tensor for tensor in (input, weight, bias) if tensor is not None]

    def convolve(input, weight, bias=None):
        return case.invoke(conv2d, (input, weight, bias))

    require(finite_differences(case, torch.autograd.gradcheck, convolve, leaves,
                               compared="autograd's gradient of conv2d"))


@conformance("gradients.uncovered_zero")
@needs("autograd.backward")
@given(case=conv2d_cases(dtypes=("float32", "float64"), tiers=("float",),
                         paddings=("numbers",), max_stride=5))
def test_input_positions_no_window_covers_get_exactly_zero_gradient(conv2d, device, case):
    input, weight, _ = arrays = case.arrays()
    # Stride that skips rows, or rows after the last window: no window reads them.
    uncovered = reference.grad_input(np.ones(case.geometry().output_shape), input.shape,
                                     np.ones(weight.shape), **case.arguments) == 0
    # Not assume(): a declared domain (stride 1, say) may cover every position; then
    # this example only checks that nothing is uncovered-and-nonzero, trivially.
    event("some input position is uncovered" if uncovered.any() else "every position covered")
    gradients = _backward(conv2d, case, device, arrays, case.grad_output(arrays))
    got = as_numpy(gradients["input.grad"])
    leaked = uncovered & (got != 0)
    if leaked.any():
        require(Finding(case, problems=[Problem("values", (
            f"input.grad is nonzero at {int(leaked.sum())} of the {int(uncovered.sum())} input "
            f"positions no window covers (first at {np.argwhere(leaked)[0].tolist()}: "
            f"{got[leaked][0]!r}), but should be exactly 0 there"))]))


@conformance("gradients.no_grad")
@needs("autograd.backward")
@given(case=conv2d_cases(dtypes=GRADIENT_DTYPES))
def test_grad_mode_computes_the_same_output_as_no_grad(conv2d, device, model, case):
    arrays = case.arrays()
    with torch.no_grad():
        plain = output_of(case, run(conv2d, case, case.tensors(arrays, device=device)))
    tracked = output_of(case, run(conv2d, case, case.tensors(arrays, device=device,
                                                             requires_grad=True)))
    require(agreement(case, tracked, as_numpy(plain), arrays, model,
                      source="out under torch.no_grad()"))
