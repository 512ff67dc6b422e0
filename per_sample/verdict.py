"""Judging a per-sample result: exact tier bit for bit, float tier within the bound.

The comparisons are suite/verdict.py's (``discrepancy``, ``rounding_bound``);
what is added is the message, which names what was computed (the formulation,
or a gradient of it) and the case as ``PerSampleCase.parse('...')`` (or
``Conv2dCase.parse``), which replays it.

The float-tier bound of an element depends only on its own dot product, and
each element of a per-sample problem is the same dot product as the matching
element of the one grouped call of the grouped trick; so the bound is
``rounding_bound`` of that call (``case.as_grouped_call()``), reshaped.
"""

import numpy as np
from hypothesis import target

from suite.verdict import as_numpy, discrepancy, rounding_bound


def describe(label, case):
    """``label on <replayable case>``: the call a message is about."""
    return f"{label} on {case!r}"


def _check_shape_and_dtype(case, label, actual, expected_shape):
    __tracebackhide__ = True
    assert actual is not None, f"{label} is None, but should be a tensor [{describe(label, case)}]"
    assert tuple(actual.shape) == tuple(expected_shape), (
        f"{label} has shape {tuple(actual.shape)}, but should have {tuple(expected_shape)} "
        f"[{describe(label, case)}]")
    assert str(actual.dtype) == f"torch.{case.dtype}", (
        f"{label} has dtype {actual.dtype}, but should have torch.{case.dtype} "
        f"[{describe(label, case)}]")


def check_identical(case, label, actual, expected, expected_label="the exact reference"):
    """``actual`` (a tensor) holds exactly the numbers of ``expected`` (NumPy)."""
    __tracebackhide__ = True
    _check_shape_and_dtype(case, label, actual, expected.shape)
    got = as_numpy(actual)
    if got.size and not np.array_equal(got, expected):
        worst = discrepancy(got, expected, np.ones(expected.shape))
        raise AssertionError(
            f"{label} differs from {expected_label}: {worst.describe()}; "
            f"{int(np.count_nonzero(got != expected))} of {got.size} elements differ "
            f"[{describe(label, case)}]")


def per_sample_bound(case, arrays, expected, tolerance):
    """The rounding bound of every element of a per-sample result ``expected``."""
    grouped_expected = expected.reshape(1, -1, *expected.shape[2:])
    return rounding_bound(case.as_grouped_call(), case.grouped_arrays(arrays), grouped_expected,
                          tolerance).reshape(expected.shape)


def check_within_bound(case, label, actual, expected, arrays, tolerance):
    """Every element of ``actual`` is within the rounding bound of ``expected``."""
    __tracebackhide__ = True
    _check_shape_and_dtype(case, label, actual, expected.shape)
    got = as_numpy(actual)
    if not got.size:
        return
    worst = discrepancy(got, expected, per_sample_bound(case, arrays, expected, tolerance))
    target(min(worst.ratio, 1e6), label=f"error/bound of {label}")
    assert worst.ratio <= 1, (
        f"{label} is further from the per-sample reference than rounding allows: "
        f"{worst.describe()} [{describe(label, case)}]")


def check_against_reference(case, label, actual, expected, arrays, tolerance):
    """By tier: exact data give identical bits; float data stay within the bound."""
    __tracebackhide__ = True
    if case.tier == "exact":
        check_identical(case, label, actual, expected)
    else:
        check_within_bound(case, label, actual, expected, arrays, tolerance)
