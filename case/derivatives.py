"""What each derivative of a case's call must be, and how a correct implementation sums it.

A property compares a result with the reference; this says, per compared
quantity, everything the judge needs to decide how close is right: the
reference's value, the magnitude of its sums (the same sums on absolute
values), the most products one partial sum adds and how often a term is
rounded to the dtype on its way (reference/staged_sums.py).  The judge
(suite/judge.py ``expect``) turns that into equality or a bound.

- first gradients (``gradients``): ``x.grad = grad_input(g, conj(w))``,
  ``w.grad = grad_weight(g, conj(x))``, ``b.grad = grad_bias(g)`` (for complex
  dtypes torch returns the conjugate Wirtinger gradient: the adjoint of the
  linear map); float16 and bfloat16 are summed in stages by torch's im2col
  backward (``gradient_sums``), other dtypes as one dot product rounded once;
- a forward-mode derivative (``tangent``): ``conv2d(dx, w) + conv2d(x, dw) + db``,
  two convolutions and a bias, each rounded, then added; a fast algorithm
  computes the two convolutions itself (``forward_calls``);
- double backward (``double_backward``) and forward over reverse
  (``gradient_tangents``): convolutions again (reference/adjoints.py), summed in
  stages.

Each first-gradient element is a sum of products of its own length and magnitude:
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
  einsum and float64 accumulation is in docs/measurements.md.
"""

import dataclasses

import numpy as np

import reference
from reference import adjoints
from reference import per_sample as per_sample_reference
from reference.rounding import ACCUMULATION
from reference.staged_sums import gradient_sums

from case.features import TENSORS as FIRST_GRADIENTS


@dataclasses.dataclass(frozen=True)
class Quantity:
    """One result a property compares with the reference.

    ``length``: the most products one partial sum adds; ``roundings``: the most
    roundings to the dtype a term meets (None: a dot product rounded once, as the
    forward output is); ``forward_calls``: the ``(arrays, value)`` of the forward
    calls it is the sum of, which an error model with fast algorithms lets the
    implementation compute by its algorithm; ``structural``: the value is what it
    is whatever the data (a derivative that must be exactly zero).
    """

    name: str
    value: np.ndarray
    magnitude: np.ndarray
    length: int
    roundings: object = None
    source: str = "the reference"
    forward_calls: tuple = ()
    structural: bool = False


def _absolute(*arrays):
    return [None if array is None else np.abs(array) for array in arrays]


def _first_gradient_values(case, input, weight, grad_output):
    arguments = case.arguments
    return {"input": reference.grad_input(grad_output, input.shape, np.conj(weight), **arguments),
            "weight": reference.grad_weight(grad_output, np.conj(input), weight.shape,
                                            **arguments),
            "bias": reference.grad_bias(grad_output)}


def _first_gradient_sums(geometry, dtype):
    """{name: (length, roundings)}: staged for half types (torch's im2col backward
    rounds partial sums to the half type), one rounding otherwise."""
    sums = gradient_sums(geometry)
    return {name: (length, roundings if dtype in ACCUMULATION else None)
            for name, (length, roundings) in
            ((name.removesuffix(".grad"), sums[name]) for name in sums)}


def gradients(case, arrays, grad_output, wrt=FIRST_GRADIENTS):
    """{"input.grad", ...: Quantity} of backpropagating ``grad_output`` through the call,
    for the tensors in ``wrt`` (the bias only where the call has one)."""
    input, weight, _ = arrays
    values = _first_gradient_values(case, input, weight, grad_output)
    magnitudes = _first_gradient_values(case, *_absolute(input, weight, grad_output))
    sums = _first_gradient_sums(case.geometry(), case.dtype)
    return {f"{name}.grad": Quantity(f"{name}.grad", values[name], magnitudes[name],
                                     *sums[name], source="the reference adjoint")
            for name in wrt if name != "bias" or case.has_bias}


def accumulated(quantity, passes, *, name):
    """``quantity`` as ``passes`` backward passes leave it in ``.grad``, each adding its
    gradient to the last: the value and magnitude times ``passes``, and the products
    of all of them in one sum (in some order: a dot product rounded once stays one),
    a staged sum meeting one rounding more per pass added."""
    roundings = quantity.roundings
    return dataclasses.replace(
        quantity, name=name, value=passes * quantity.value,
        magnitude=passes * quantity.magnitude, length=passes * quantity.length,
        roundings=None if roundings is None else roundings + passes - 1)


def per_sample_gradients(case, arrays, grad_output, way):
    """{"grad_input", ...: Quantity} of a per-sample case (case/per_sample.py): each
    sample's gradients are its own call's, so its own call's sums."""
    values = per_sample_reference.gradients(grad_output, *arrays, **case.arguments)
    magnitudes = per_sample_reference.gradients(*_absolute(grad_output, *arrays),
                                                **case.arguments)
    sums = _first_gradient_sums(case.sample_case().geometry(), case.dtype)
    return {f"grad_{name}": Quantity(f"grad_{name} by {way}(conv2d)", value, magnitude,
                                     *sums[name],
                                     source=f"the reference's grad_{name}, sample by sample")
            for name, value, magnitude in zip(FIRST_GRADIENTS, values, magnitudes)
            if value is not None}


def _staged(case):
    """{quantity: (most products one partial sum adds, most roundings per term)} of
    the higher derivatives: one rounding where a product is formed in the dtype, one
    where a partial sum is stored, one per later addition.

    - ``tangent``: two convolutions of n products each and a bias, added:
      2n+1 products, 1 + 1 + 2 roundings;
    - ``input``, ``weight``, ``bias``: a first gradient, summed in stages as an
      im2col backward sums it (``gradient_sums``);
    - ``two_inputs``, ``two_weights``: two of them added: twice the products,
      one rounding more.
    """
    sums = gradient_sums(case.geometry())
    (per_input, input_roundings), (positions, weight_roundings) = (
        sums["input.grad"], sums["weight.grad"])
    return {"tangent": (2 * case.dot_length + 1, 4),
            "input": sums["input.grad"], "weight": sums["weight.grad"],
            "bias": sums["bias.grad"],
            "two_inputs": (2 * per_input, input_roundings + 1),
            "two_weights": (2 * positions, weight_roundings + 1)}


def tangent(case, arrays, direction, *, way):
    """The forward-mode derivative of the call at ``arrays`` along ``direction``."""
    (input, weight, _), (dx, dw, db) = arrays, direction
    arguments = case.arguments
    value = adjoints.conv2d_tangent(input, weight, dx, dw, db, **arguments)
    parts = ((dx, weight, None), (input, dw, db))
    return Quantity(f"out's tangent by {way}", value,
                    adjoints.conv2d_tangent(*_absolute(input, weight, dx, dw, db), **arguments),
                    *_staged(case)["tangent"],
                    source="the reference's conv2d(dx, w) + conv2d(x, dw) + db",
                    forward_calls=tuple((part, reference.conv2d(*part, **arguments))
                                        for part in parts))


def double_backward(case, arrays, grad_output, cotangent):
    """{"input", "weight", "grad_output", "bias": Quantity}: the gradients of
    ``<gx, ggI> + <gw, ggW> + <gb, ggb>`` with the first gradients made with
    ``create_graph=True`` (reference/adjoints.py ``double_backward``)."""
    (input, weight, _), (ggi, ggw, ggb) = arrays, cotangent
    arguments = case.arguments
    values = adjoints.double_backward(grad_output, input, weight, ggi, ggw, ggb, **arguments)
    magnitudes = adjoints.double_backward(*_absolute(grad_output, input, weight, ggi, ggw, ggb),
                                          **arguments)
    staged = _staged(case)
    quantities = {
        name: Quantity(f"{name}.grad of L2", values[name], magnitudes[name], *staged[sums],
                       source=f"the reference's {source}")
        for name, sums, source in (
            ("input", "input", "grad_input(g, ggW)"),
            ("weight", "weight", "grad_weight(g, ggI)"))}
    # grad_output's is the tangent of the call along (ggI, ggW, ggb): forward calls
    quantities["grad_output"] = dataclasses.replace(
        tangent(case, arrays, (ggi, ggw, ggb), way="double backward"),
        name="grad_output.grad of L2",
        source="the reference's conv2d(ggI, w) + conv2d(x, ggW) + ggb")
    if case.has_bias:  # no first gradient depends on the bias
        zero = np.zeros(case.bias_shape)
        quantities["bias"] = Quantity("bias.grad of L2", zero, zero, 0, structural=True,
                                      source="zero (no first gradient depends on bias)")
    return quantities


def gradient_tangents(case, arrays, grad_output, direction, grad_output_tangent):
    """{"input.grad", "weight.grad", "bias.grad": Quantity}: how forward over reverse
    moves the first gradients along ``direction`` and a grad_output tangent."""
    (input, weight, _), (dx, dw, _) = arrays, direction
    arguments = case.arguments
    values = adjoints.gradient_tangents(grad_output, input, weight, dx, dw, grad_output_tangent,
                                        **arguments)
    magnitudes = adjoints.gradient_tangents(
        *_absolute(grad_output, input, weight, dx, dw, grad_output_tangent), **arguments)
    staged = _staged(case)
    quantities = {
        name: Quantity(f"{name}'s tangent", values[name], magnitudes[name], *staged[sums],
                       source=f"the reference's {source}")
        for name, sums, source in (
            ("input.grad", "two_inputs", "grad_input(dg, w) + grad_input(g, dw)"),
            ("weight.grad", "two_weights", "grad_weight(dg, x) + grad_weight(g, dx)"),
            ("bias.grad", "bias", "grad_bias(dg)"))}
    if not case.has_bias:
        del quantities["bias.grad"]
    return quantities
