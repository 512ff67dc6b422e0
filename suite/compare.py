"""Comparing numbers: where a result misses what it should be, in NumPy alone.

``compare_values`` holds a result against the reference or against another
computation of the same numbers: NaN and inf where they are due, equality on
exact data, a per-element bound otherwise, infinities where rounding may or
must overflow.  It returns the problems as sentences; the judge
(suite/judge.py) turns them into a verdict.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass
class Problem:
    """One broken expectation: ``aspect`` (shape, dtype, memory_format, values,
    nonfinite_spread, nonfinite_missed, returned, error) and the sentence."""

    aspect: str
    text: str


@dataclasses.dataclass
class Discrepancy:
    """Where and by how much a result misses what it should be."""

    max_error: float
    error: float
    ratio: float
    index: tuple
    actual: complex
    expected: complex
    bound: float

    def describe(self, name, exact):
        """The worst element; ``exact``: judged by equality, so no bound to name."""
        judged = "" if exact else f", bound {self.bound:.3g}, error/bound {self.ratio:.3g}"
        return (f"worst element {name}{list(self.index)} = {self.actual!r}, expected "
                f"{self.expected!r}: |error| {self.error:.3g}{judged} "
                f"(max |error| anywhere {self.max_error:.3g})")


def discrepancy(actual, expected, bound):
    """The worst element of ``|actual - expected| / bound`` over elements where both
    are finite (all others are judged by where they are non-finite)."""
    with np.errstate(invalid="ignore"):
        error = np.abs(actual - expected)
    error = np.where(np.isfinite(actual) & np.isfinite(expected), error, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error == 0, 0.0, error / bound)
    index = np.unravel_index(np.argmax(ratio), ratio.shape)
    item = lambda a: a[index].item()  # noqa: E731
    return Discrepancy(float(error.max(initial=0)), item(error), float(ratio.max(initial=0)),
                       tuple(int(i) for i in index), item(actual), item(expected),
                       float(np.broadcast_to(bound, ratio.shape)[index]))


def _first(mask):
    return np.argwhere(mask)[0].tolist()


def _overflowed(actual, expected, overflow, *, against_reference):
    """(actual, expected, problems) with ``overflow`` (reference.numerics.Overflow)
    applied.  Against the reference: where the result must overflow, expected is
    +-inf and a wrong-signed inf is a problem; where it may, an infinity is
    accepted; where some order may overflow, anything is.  Against another
    computation (``against_reference`` False), an infinity on either side is
    accepted wherever overflow is possible at all."""
    actual, expected = actual.copy(), expected.copy()
    problems = []
    if against_reference:
        sign = np.sign(expected[overflow.must])
        expected[overflow.must] = sign * np.inf
        wrong = overflow.must & np.isinf(actual) & (np.sign(actual) != np.sign(expected))
        if wrong.any():
            at = _first(wrong)
            problems.append(Problem("values", (
                f"out[{at}] = {actual[tuple(at)].item()!r}, but should be "
                f"{expected[tuple(at)].item()!r}: the result overflows with the sign of the "
                f"reference")))
        accepted = overflow.may & np.isinf(actual)
    else:
        accepted = (overflow.may | overflow.must) & (np.isinf(actual) | np.isinf(expected))
    accepted = accepted | overflow.open
    actual[accepted], expected[accepted] = 0.0, 0.0
    return actual, expected, problems


def compare_values(actual, expected, *, exact, bound, name, source, spread_in_planes=False,
                   overflow=None, against_reference=True):
    """(problems, error/bound ratio) of ``actual`` against ``expected`` (NumPy).

    Where ``expected`` is NaN, ``actual`` must be NaN; where it is infinite,
    ``actual`` must be non-finite (a kernel may add products with zero that the
    reference does not make, and inf * 0 is NaN); elsewhere ``actual`` must be
    finite (``spread_in_planes``: except in a (sample, channel) plane that holds
    a NaN or inf) and, on exact data, equal, otherwise within ``bound``.
    ``overflow`` (where the float tier's data come near it) says where
    infinities are due.
    """
    problems = []
    if overflow is not None and overflow.any():
        actual, expected, problems = _overflowed(actual, expected, overflow,
                                                 against_reference=against_reference)
    finite = np.isfinite(expected)
    got_finite = np.isfinite(actual)
    missed = (np.isnan(expected) & ~np.isnan(actual)) | (~finite & ~np.isnan(expected) & got_finite)
    spread = finite & ~got_finite
    if spread_in_planes and expected.ndim >= 2:
        spread &= finite.all(axis=(-2, -1), keepdims=True)
    if missed.any():
        at = _first(missed)
        problems.append(Problem("nonfinite_missed", (
            f"{name} is {'finite' if np.isfinite(actual[tuple(at)]) else 'not NaN'} at "
            f"{int(missed.sum())} of the {int((~finite).sum())} elements where {source} is NaN "
            f"or infinite (first {name}{at} = {actual[tuple(at)].item()!r}, expected "
            f"{expected[tuple(at)].item()!r})")))
    if spread.any():
        at = _first(spread)
        problems.append(Problem("nonfinite_spread", (
            f"{name} is NaN or infinite at {int(spread.sum())} of the {int(finite.sum())} "
            f"elements where {source} is finite (first {name}{at} = "
            f"{actual[tuple(at)].item()!r}, expected {expected[tuple(at)].item()!r})")))
    worst = discrepancy(actual, expected, np.ones(expected.shape) if exact else bound)
    if exact:
        differing = int(np.count_nonzero((actual != expected) & finite & got_finite))
        if differing:
            problems.append(Problem("values", (
                f"{name} differs from {source}: {worst.describe(name, exact=True)}; "
                f"{differing} of {actual.size} elements differ")))
        return problems, None
    if worst.ratio > 1:
        problems.append(Problem("values", (
            f"{name} is further from {source} than rounding allows: "
            f"{worst.describe(name, exact=False)}")))
    return problems, worst.ratio
