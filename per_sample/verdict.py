"""Judging a per-sample result: exact tier bit for bit, float tier within the bound.

The checks are suite/verdict.py's; the label names what was computed (the
formulation, or a gradient of it), and the case's descriptor (with its 5-D
weight) names the problem; ``PerSampleCase.parse`` reads it back.

The float-tier bound of an element depends only on its own dot product, and
each element of a per-sample problem is the same dot product as the matching
element of the one grouped call of the grouped trick; so the bound is
``rounding_bound`` of that call (``case.as_grouped_call()``), reshaped.
"""

from suite.verdict import check_bitwise, check_error_within, rounding_bound


def check_identical(case, label, actual, expected, expected_label="the exact reference"):
    """``actual`` (a tensor) holds exactly the numbers of ``expected`` (NumPy)."""
    __tracebackhide__ = True
    check_bitwise(case, actual, expected, name=label, source=expected_label)


def per_sample_bound(case, arrays, expected, tolerance):
    """The rounding bound of every element of a per-sample result ``expected``."""
    grouped_expected = expected.reshape(1, -1, *expected.shape[2:])
    return rounding_bound(case.as_grouped_call(), case.grouped_arrays(arrays), grouped_expected,
                          tolerance).reshape(expected.shape)


def check_within_bound(case, label, actual, expected, arrays, tolerance):
    """Every element of ``actual`` is within the rounding bound of ``expected``."""
    __tracebackhide__ = True
    check_error_within(case, actual, expected, per_sample_bound(case, arrays, expected, tolerance),
                       name=label, source="the per-sample reference")


def check_against_reference(case, label, actual, expected, arrays, tolerance):
    """By tier: exact data give identical bits; float data stay within the bound."""
    __tracebackhide__ = True
    if case.tier == "exact":
        check_identical(case, label, actual, expected)
    else:
        check_within_bound(case, label, actual, expected, arrays, tolerance)
