"""Judging one call: the implementation's output against the reference.

Every assertion here reads ``what was observed, what it should be, for which
call``, and names the case by its descriptor so the failure can be replayed.
Helpers hide their own frames (``__tracebackhide__``) so a failure points at
the property that called them.
"""

import dataclasses

import numpy as np
import torch
from hypothesis import target

import reference


def describe_call(case):
    """``conv2d(<descriptor>)``: the call a message is about."""
    return f"conv2d({case})"


def call(conv2d, case, tensors):
    """Run the implementation under test on a case's tensors."""
    input, weight, bias = tensors
    return conv2d(input, weight, bias, **case.arguments)


def expected_output(case, arrays):
    """The reference's answer for the very values the implementation saw."""
    return reference.conv2d(*arrays, **case.arguments)


def as_numpy(tensor):
    """A result as float64/complex128 NumPy (exact for every tested dtype)."""
    tensor = tensor.detach().cpu()
    wide = torch.complex128 if tensor.is_complex() else torch.float64
    return tensor.to(wide).numpy()


def check_shape_and_dtype(case, actual, expected_shape):
    __tracebackhide__ = True
    assert isinstance(actual, torch.Tensor), (
        f"result is a {type(actual).__name__}, but should be a torch.Tensor [{describe_call(case)}]")
    assert tuple(actual.shape) == tuple(expected_shape), (
        f"out.shape={tuple(actual.shape)}, but should be {tuple(expected_shape)} "
        f"[{describe_call(case)}]")
    assert str(actual.dtype) == f"torch.{case.dtype}", (
        f"out.dtype={actual.dtype}, but should be torch.{case.dtype} [{describe_call(case)}]")


def suggests_channels_last(tensor):
    """torch's reading of a tensor's strides: channels_last only if not also contiguous."""
    return (tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last)
            and not tensor.is_contiguous())


def output_memory_format(input, weight):
    """torch's rule: the output is channels_last if the input or the weight is."""
    if input.dim() == 4 and (suggests_channels_last(input) or suggests_channels_last(weight)):
        return torch.channels_last
    return torch.contiguous_format


@dataclasses.dataclass
class Discrepancy:
    """Where and by how much a result misses the reference."""

    max_error: float
    error: float
    ratio: float
    index: tuple
    actual: complex
    expected: complex
    bound: float

    def describe(self):
        return (f"worst element out{list(self.index)} = {self.actual!r}, expected "
                f"{self.expected!r}: |error| {self.error:.3g}, bound {self.bound:.3g}, "
                f"error/bound {self.ratio:.3g} (max |error| anywhere {self.max_error:.3g})")


def discrepancy(actual, expected, bound):
    """The worst element of ``|actual - expected| / bound`` (NaN counts as infinite)."""
    error = np.abs(actual - expected)
    error = np.where(np.isnan(error), np.inf, error)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error == 0, 0.0, error / bound)
    index = np.unravel_index(np.argmax(ratio), ratio.shape)
    item = lambda a: a[index].item()  # noqa: E731
    return Discrepancy(float(error.max()), item(error), float(ratio.max()),
                       tuple(int(i) for i in index), item(actual), item(expected),
                       float(bound[index]))


def check_bitwise(case, actual, expected):
    """Exact tier: any correct summation order gives exactly these numbers."""
    __tracebackhide__ = True
    check_shape_and_dtype(case, actual, expected.shape)
    got = as_numpy(actual)
    if got.size and not np.array_equal(got, expected):
        worst = discrepancy(got, expected, np.ones(expected.shape))
        raise AssertionError(
            f"out differs from the exact reference: {worst.describe()}; "
            f"{int(np.count_nonzero(got != expected))} of {got.size} elements differ "
            f"[{describe_call(case)}]")


def check_within_bound(case, actual, expected, arrays, tolerance):
    """Float tier: the error of every element stays within the rounding bound."""
    __tracebackhide__ = True
    check_shape_and_dtype(case, actual, expected.shape)
    got = as_numpy(actual)
    if not got.size:
        return
    geometry = case.geometry()
    bound = reference.error_bound(
        reference.magnitude(*arrays, **case.arguments), expected,
        dot_length=geometry.dot_length, dtype=case.dtype, **tolerance.bound_options())
    worst = discrepancy(got, expected, bound)
    target(min(worst.ratio, 1e6), label="error/bound")
    assert worst.ratio <= 1, (
        f"out is further from the reference than rounding allows: {worst.describe()} "
        f"[{describe_call(case)}]")


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """Which error model a correct implementation is held to.

    ``strict``: every output element is a sum of the n products (direct, GEMM,
    any order); ``fast-algorithms``: Winograd/FFT, whose error is normwise, add
    ``64 * ceil(log2(H*W)) / 8 * u * max(M)`` (shared notes section 3).
    """

    name: str = "strict"
    global_factor: float = 0.0

    def bound_options(self):
        return {"global_factor": self.global_factor}
