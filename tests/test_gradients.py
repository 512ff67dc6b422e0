"""conv2d's gradients are the reference's adjoints, and autograd treats it as the linear map it is.

Backpropagating ``grad_output`` g through ``out = conv2d(x, w, b)`` must give
``x.grad = grad_input(g, w)``, ``w.grad = grad_weight(g, x)`` and
``b.grad = grad_bias(g)`` (reference/adjoints.py).  For complex dtypes torch
returns the conjugate Wirtinger gradient, i.e. the adjoint of the linear map:
``grad_input(g, conj(w))`` and ``grad_weight(g, conj(x))`` (checked on torch
2.13.0 to 3e-15 in complex128).

Every gradient element is itself a sum of products, so the two tiers of the
forward properties apply, with the sum's own length and magnitude:
- ``x.grad[n, c, i, j]``: over the O/groups filters of c's group and the
  kh*kw taps (each tap meets at most one output position): length
  ``O/groups * kh * kw``, magnitude ``grad_input(|g|, |w|)``;
- ``w.grad[o, c, p, q]``: over the ``N * out_h * out_w`` output positions:
  magnitude ``grad_weight(|g|, |x|)``;
- ``b.grad[o]``: ``N * out_h * out_w`` terms, magnitude ``grad_bias(|g|)``.

Half types (float16, bfloat16) accumulate partly in the half type on
torch 2.13.0's CPU path without oneDNN (the im2col path): col2im adds the
kh*kw taps of the input gradient in half, and the weight gradient adds each
sample's GEMM into a half accumulator (with oneDNN on, one float32 sum and
one rounding).  Measured (bench/half_gradients.py, 300 examples per cell):
on unthinned integer data whose results fit the half type but whose partial
sums do not, 1729 of 6683 float16 and 1150 of 11034 bfloat16 results
differ with oneDNN off, none with oneDNN on.  So:
- exact tier: grad_output is thinned until every partial sum fits the half
  type itself (``exact_limit(dtype)`` = 2^11, 2^8), which any order of
  accumulation then keeps exact: bitwise, as for the other dtypes;
- float tier: the single-rounding bound of the forward does not hold (error
  up to 1690 times it for bfloat16 input.grad, oneDNN off), but the staged
  bound does: ``staged_error_bound`` (reference/staged_sums.py) with the
  roundings an im2col backward makes per term (``gradient_sums``:
  1 + kh*kw for input.grad, 1 + N for weight.grad, N for bias.grad); the
  largest error/bound measured on torch (oneDNN on and off), im2col +
  einsum and float64 accumulation is in the README.
"""

import numpy as np
import torch
from hypothesis import event, given

import reference
from reference.staged_sums import gradient_sums, staged_error_bound
from strategies import conv2d_cases
from strategies.kernel_probes import with_kernel_probes
from strategies.problems import FINITE_DIFFERENCE_BOUNDS
from strategies.sizes import BACKWARD_WEIGHTS
from suite.judge import (Finding, Problem, agree, agreement, as_numpy, fail_autograd, fail_with,
                         finite_differences, output_of, require)
from suite.properties import conformance
from suite.run import run

HALF = ("float16", "bfloat16")
GRADIENT_DTYPES = ("float32", "float64", "complex64", "complex128") + HALF


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


def _adjoints(case, input, weight, grad_output):
    """{name: the reference's gradient}; on |values|, the magnitudes of the sums."""
    arguments = case.arguments
    adjoints = {
        "input.grad": reference.grad_input(grad_output, input.shape, np.conj(weight), **arguments),
        "weight.grad": reference.grad_weight(grad_output, np.conj(input), weight.shape,
                                             **arguments)}
    if case.has_bias:
        adjoints["bias.grad"] = reference.grad_bias(grad_output)
    return adjoints


def _sum_lengths(case):
    """{name: the number of products summed into each element of that gradient}."""
    geometry = case.geometry()
    (out_h, out_w), (kh, kw) = geometry.output_size, geometry.kernel
    positions = geometry.batch * out_h * out_w
    return {"input.grad": geometry.out_channels // geometry.groups * kh * kw,
            "weight.grad": positions, "bias.grad": positions}


@conformance("gradients.exact")
@given(case=conv2d_cases(dtypes=GRADIENT_DTYPES, tiers=("exact",), weights=BACKWARD_WEIGHTS))
@with_kernel_probes
def test_gradients_equal_the_adjoints_bitwise_on_integer_data(conv2d, device, model, case):
    input, weight, _ = arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    gradients = _backward(conv2d, case, device, arrays, grad_output)
    for name, expected in _adjoints(case, input, weight, grad_output).items():
        require(agree(case, gradients[name], expected, exact=model.bitwise_on_exact_data,
                      bound=None if model.bitwise_on_exact_data else _bound(
                          case, model, name, input, weight, grad_output, expected),
                      name=name, source="the reference adjoint"))


def _bound(case, model, name, input, weight, grad_output, expected):
    """The rounding bound of one gradient: its own sums' length and magnitude; for
    half types, rounded in stages as an im2col backward rounds them."""
    magnitude = _adjoints(case, np.abs(input), np.abs(weight), np.abs(grad_output))[name]
    if case.dtype in HALF:
        length, roundings = gradient_sums(case.geometry())[name]
        return staged_error_bound(magnitude, dot_length=length, roundings=roundings,
                                  dtype=case.dtype, tf32=model.tf32)
    return model.bound(magnitude, expected, dot_length=_sum_lengths(case)[name], dtype=case.dtype)


@conformance("gradients.float")
@given(case=conv2d_cases(dtypes=GRADIENT_DTYPES, tiers=("float",), weights=BACKWARD_WEIGHTS))
def test_gradients_are_within_the_rounding_error_bound_of_the_adjoints(
        conv2d, device, model, case):
    input, weight, _ = arrays = case.arrays()
    grad_output = case.grad_output(arrays)
    gradients = _backward(conv2d, case, device, arrays, grad_output)
    for name, expected in _adjoints(case, input, weight, grad_output).items():
        require(agree(case, gradients[name], expected, exact=False,
                      bound=_bound(case, model, name, input, weight, grad_output, expected),
                      name=name, source="the reference adjoint"))


@conformance("gradients.gradcheck")
@given(case=conv2d_cases(**FINITE_DIFFERENCE_BOUNDS))
def test_autograd_gradients_match_finite_differences_in_float64(conv2d, device, case):
    input, weight, bias = case.tensors(device=device, requires_grad=True)
    leaves = [tensor for tensor in (input, weight, bias) if tensor is not None]

    def convolve(input, weight, bias=None):
        return case.invoke(conv2d, (input, weight, bias))

    require(finite_differences(case, torch.autograd.gradcheck, convolve, leaves,
                               compared="autograd's gradient of conv2d"))


@conformance("gradients.uncovered_zero")
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
@given(case=conv2d_cases(dtypes=GRADIENT_DTYPES))
def test_grad_mode_computes_the_same_output_as_no_grad(conv2d, device, model, case):
    arrays = case.arrays()
    with torch.no_grad():
        plain = output_of(case, run(conv2d, case, case.tensors(arrays, device=device)))
    tracked = output_of(case, run(conv2d, case, case.tensors(arrays, device=device,
                                                             requires_grad=True)))
    require(agreement(case, tracked, as_numpy(plain), arrays, model,
                      source="out under torch.no_grad()"))
