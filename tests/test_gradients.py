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

import dataclasses

import numpy as np
import torch
from hypothesis import event, given

import reference
from case.derivatives import accumulated, gradients
from case.tensors import grad_output_tensor
from strategies import conv2d_cases
from strategies.contexts import with_context, with_context_examples
from strategies.kernel_probes import with_kernel_probes
from strategies.problems import FINITE_DIFFERENCE_BOUNDS
from strategies.sizes import BACKWARD_WEIGHTS, REPEATED_CALL_BUDGET
from suite.backward import backward, check_gradients
from suite.judge import (Finding, Problem, agree, as_numpy, expect, fail_autograd,
                         finite_differences, output_of, require)
from suite.properties import conformance, needs
from suite.run import called_as, run

GRADIENT_DTYPES = ("float32", "float64", "complex64", "complex128", "float16", "bfloat16")
BACKWARD_CASES = dict(dtypes=GRADIENT_DTYPES, weights=BACKWARD_WEIGHTS)


# Backward as programs ask for it (the drawn context): any nonempty subset of the tensors
# requiring grad (frozen weights; a first layer whose data need none), and the gradient
# handed in expanded (out.sum()), in the other memory format, strided or offset.
@conformance("gradients.exact")
@needs("autograd.backward")
@given(case=with_context(conv2d_cases(tiers=("exact",), **BACKWARD_CASES), requires_grad=True,
                         grad_output=True))
@with_kernel_probes
@with_context_examples
def test_gradients_equal_the_adjoints_bitwise_on_integer_data(conv2d, device, model, case):
    check_gradients(conv2d, case, device, model)


@conformance("gradients.float")
@needs("autograd.backward")
@given(case=with_context(conv2d_cases(tiers=("float",), **BACKWARD_CASES), requires_grad=True,
                         grad_output=True))
def test_gradients_are_within_the_rounding_error_bound_of_the_adjoints(
        conv2d, device, model, case):
    check_gradients(conv2d, case, device, model)


@conformance("gradients.twice")
@needs("autograd.backward")
@given(case=with_context(conv2d_cases(tiers=("exact",), budget=REPEATED_CALL_BUDGET,
                                      **BACKWARD_CASES), requires_grad=True, grad_output=True))
def test_backward_twice_over_one_graph_repeats_its_gradients_and_changes_no_tensor(
        conv2d, device, model, case):
    """retain_graph=True and two losses sharing one output (gradcheck, several losses)
    run backward twice over the same saved tensors: each pass gives the adjoints,
    the two accumulate to twice them, and no tensor of the call changes."""
    arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    tensors = case.tensors(arrays, device=device, requires_grad=True)
    before = [None if tensor is None else as_numpy(tensor) for tensor in tensors]
    out = output_of(case, run(conv2d, case, tensors))
    leaves = [tensor for tensor in tensors if tensor is not None and tensor.requires_grad]
    names = [name for name, tensor in zip(("input", "weight", "bias"), tensors)
             if tensor is not None and tensor.requires_grad]
    expected = gradients(case, arrays, grad_output, wrt=names)
    gradient = grad_output_tensor(case, grad_output, out)
    try:
        with called_as(case.context, case.dtype, device):
            passes = [torch.autograd.grad(out, leaves, gradient, retain_graph=True)
                      for _ in range(2)]
            out.backward(gradient, retain_graph=True)  # two losses sharing out: their
            out.backward(gradient)                     # gradients accumulate in .grad
    except Exception as error:  # noqa: BLE001 - any exception of a pass is a finding
        fail_autograd(case, "backward twice", error, device)
    for number, found in enumerate(passes, 1):
        for name, gradient_found in zip(names, found):
            quantity = expected[f"{name}.grad"]
            require(expect(case, gradient_found, dataclasses.replace(
                quantity, name=f"{name}.grad of backward pass {number} over one graph"),
                model=model))
    for name, leaf in zip(names, leaves):
        require(expect(case, leaf.grad, accumulated(
            expected[f"{name}.grad"], 2, name=f"{name}.grad accumulated over two losses "
                                              f"sharing out"), model=model))
    for name, tensor, values in zip(("input", "weight", "bias"), tensors, before):
        if tensor is not None:
            require(agree(case, tensor.detach(), values, exact=True,
                          name=f"{name} after backward", source=f"{name} before the call"))


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
    got = as_numpy(backward(conv2d, case, device, arrays, case.grad_output(arrays))["input.grad"])
    leaked = uncovered & (got != 0)
    if leaked.any():
        require(Finding(case, problems=[Problem("values", (
            f"input.grad is nonzero at {int(leaked.sum())} of the {int(uncovered.sum())} input "
            f"positions no window covers (first at {np.argwhere(leaked)[0].tolist()}: "
            f"{got[leaked][0]!r}), but should be exactly 0 there"))]))
