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
from suite.summary import observe_ratio


def describe_call(case):
    """``conv2d(<descriptor>)``: the call a message is about."""
    return f"conv2d({case})"


def call(conv2d, case, tensors):
    """Run the implementation under test on a case's tensors."""
    from suite.known_crashes import avoid_known_crashes  # these import this module
    from suite.replay import note_call
    avoid_known_crashes(case, tensors)
    note_call(case)  # a failing example that drew no `case` prints this one's Replay line
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


def check_shape_and_dtype(case, actual, expected_shape, name="out"):
    __tracebackhide__ = True
    assert isinstance(actual, torch.Tensor), (
        f"{name} is a {type(actual).__name__}, but should be a torch.Tensor [{describe_call(case)}]")
    assert tuple(actual.shape) == tuple(expected_shape), (
        f"{name}.shape={tuple(actual.shape)}, but should be {tuple(expected_shape)} "
        f"[{describe_call(case)}]")
    assert str(actual.dtype) == f"torch.{case.dtype}", (
        f"{name}.dtype={actual.dtype}, but should be torch.{case.dtype} [{describe_call(case)}]")


def identical_bits(first, second):
    """Same shape, dtype and bit pattern (NaN payloads and the sign of zero included)."""
    if first.shape != second.shape or first.dtype != second.dtype:
        return False
    return torch.equal(first.reshape(-1).view(torch.uint8), second.reshape(-1).view(torch.uint8))


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

    def describe(self, name="out", exact=False):
        """The worst element; ``exact``: judged by equality, so no bound to name."""
        judged = "" if exact else (f", bound {self.bound:.3g}, "
                                   f"error/bound {self.ratio:.3g}")
        return (f"worst element {name}{list(self.index)} = {self.actual!r}, expected "
                f"{self.expected!r}: |error| {self.error:.3g}{judged} "
                f"(max |error| anywhere {self.max_error:.3g})")


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


def check_bitwise(case, actual, expected, name="out", source="the exact reference"):
    """Exact tier: any correct summation order gives exactly these numbers.

    ``name`` is what ``actual`` is (``out``, ``input.grad``); ``source`` is
    where ``expected`` comes from, for the message."""
    __tracebackhide__ = True
    check_shape_and_dtype(case, actual, expected.shape, name)
    got = as_numpy(actual)
    if got.size and not np.array_equal(got, expected):
        worst = discrepancy(got, expected, np.ones(expected.shape))
        raise AssertionError(
            f"{name} differs from {source}: {worst.describe(name, exact=True)}; "
            f"{int(np.count_nonzero(got != expected))} of {got.size} elements differ "
            f"[{describe_call(case)}]")


def rounding_bound(case, arrays, expected, tolerance):
    """Per element, the largest error a correct implementation may make."""
    bias = None if arrays[2] is None else arrays[2][:, None, None]
    return reference.error_bound(
        reference.magnitude(*arrays, **case.arguments), expected,
        dot_length=case.geometry().dot_length, dtype=case.dtype, bias=bias,
        **tolerance.bound_options())


def check_within_bound(case, actual, expected, arrays, tolerance):
    """Float tier: the error of every element stays within the rounding bound."""
    __tracebackhide__ = True
    check_error_within(case, actual, expected, rounding_bound(case, arrays, expected, tolerance))


def check_error_within(case, actual, expected, bound, name="out", source="the reference"):
    """Every element of ``actual`` is within ``bound`` of ``expected``."""
    __tracebackhide__ = True
    check_shape_and_dtype(case, actual, expected.shape, name)
    got = as_numpy(actual)
    if not got.size:
        return
    worst = discrepancy(got, expected, bound)
    target(min(worst.ratio, 1e6), label=f"{name} error/bound")
    observe_ratio(worst.ratio)  # for the gate's summary (suite/summary.py)
    assert worst.ratio <= 1, (
        f"{name} is further from {source} than rounding allows: {worst.describe(name)} "
        f"[{describe_call(case)}]")


def check_agreement(case, actual, other, arrays, tolerance, source):
    """``actual`` and ``other`` are the same call's result computed two ways
    (``source`` says how ``other`` was): identical on exact-tier data; on
    float-tier data each is within the rounding bound of the truth, so they
    are within twice that bound of each other."""
    __tracebackhide__ = True
    if case.tier == "exact":
        check_bitwise(case, actual, as_numpy(other), source=source)
    else:
        bound = 2 * rounding_bound(case, arrays, expected_output(case, arrays), tolerance)
        check_error_within(case, actual, as_numpy(other), bound, source=source)


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """Which error model a correct implementation is held to.

    By default every output element is a sum of the n products (direct, GEMM,
    any order).  ``global_factor``: Winograd/FFT algorithms, whose error is
    normwise, need ``c * u * max(M)`` more (shared notes section 3 suggests
    c = 64 * ceil(log2(H*W)) / 8); no option selects it yet, as no backend
    tested here uses them.  ``tf32``: float32 operands are rounded to TF32
    (CUDA with --allow-tf32=on).
    """

    global_factor: float = 0.0
    tf32: bool = False

    def bound_options(self):
        return {"global_factor": self.global_factor, "tf32": self.tf32}
