"""The judge at the edges of the number range: zeros of either sign, and overflow.

- the sign of a zero result is not specified (it depends on where a kernel
  starts its accumulator: torch's float32 slow path returns -0.0 for
  ``-0 * 1 + (-0)``, its float64 path +0.0), so zeros compare equal;
- where rounding must overflow, the result must be infinite with the
  reference's sign; where it may, an infinity or a finite value within the
  bound conforms; where some summation order may overflow, anything does.
"""

import numpy as np

from reference.numerics import Overflow
from suite.compare import compare_values


def overflow(open=False, must=False, may=False):
    return Overflow(np.array([open]), np.array([must]), np.array([may]))


def problems_of(actual, expected, exact=False, bound=1.0, **options):
    found, _ = compare_values(np.array([actual]), np.array([expected]), exact=exact,
                              bound=None if exact else np.array([bound]), name="out",
                              source="the reference", **options)
    return [problem.aspect for problem in found]


def test_a_zero_result_of_either_sign_conforms():
    for exact in (True, False):
        observed = problems_of(-0.0, 0.0, exact=exact) + problems_of(0.0, -0.0, exact=exact)
        assert not observed, f"problems {observed}, but -0.0 and +0.0 should both conform"


def test_a_result_that_must_overflow_must_be_infinite_with_the_right_sign():
    must = overflow(must=True)
    assert not problems_of(np.inf, 70016.0, overflow=must), "inf should conform where y = 70016"
    assert problems_of(65504.0, 70016.0, overflow=must) == ["nonfinite_missed"], (
        "65504 should be flagged where float16 rounding of 70016 gives inf")
    assert problems_of(-np.inf, 70016.0, overflow=must) == ["values"], (
        "-inf should be flagged where the result overflows to +inf")


def test_a_result_that_may_overflow_may_be_infinite_or_within_the_bound():
    may = overflow(may=True)
    for actual in (np.inf, 65504.0):
        observed = problems_of(actual, 65510.0, bound=16.0, overflow=may)
        assert not observed, f"problems {observed} for {actual!r}, but it should conform"
    assert problems_of(np.nan, 65510.0, bound=16.0, overflow=may) == ["nonfinite_spread"], (
        "NaN should be flagged: rounding gives inf or a number, never NaN")


def test_anything_conforms_where_some_summation_order_may_overflow():
    for actual in (np.inf, -np.inf, np.nan, 1.0):
        observed = problems_of(actual, 3e38, overflow=overflow(open=True))
        assert not observed, f"problems {observed} for {actual!r}, but the result is open"


def test_between_two_computations_an_infinity_on_either_side_is_accepted_where_it_may_be():
    for actual, other in ((np.inf, 65504.0), (65504.0, np.inf)):
        observed = problems_of(actual, other, bound=32.0, overflow=overflow(may=True),
                               against_reference=False)
        assert not observed, f"problems {observed} for {actual!r} against {other!r}"


def test_wrong_values_carry_their_error_under_the_transform_model_for_the_registry():
    """What lets nnpack-rounds-like-a-fast-algorithm accept NNPACK's rounding and not a
    wrong term: a result one ulp off is within the transform bound, a dropped sample not."""
    import torch

    from case import parse
    from suite.judge import judge
    from suite.run import Outcome, environment

    case = parse("in16x1x2x1:w1x1x1x1:s1:psame:d1:g1:float32:contiguous:exact:seed0:"
                 "input(0=1):weight(none,0=1)")
    arrays = case.arrays()
    right = torch.from_numpy(case.expected(arrays)).float()
    one_ulp, dropped = right.clone(), right.clone()
    one_ulp[right == 1] = torch.nextafter(torch.tensor(1.0), torch.tensor(0.0))
    dropped[-1] = 0
    assert judge(case, Outcome(output=right, environment=environment("cpu")), arrays=arrays).transform_ratio is None
    rounded = judge(case, Outcome(output=one_ulp, environment=environment("cpu")), arrays=arrays, explain=False)
    wrong = judge(case, Outcome(output=dropped, environment=environment("cpu")), arrays=arrays, explain=False)
    assert rounded.problems and rounded.transform_ratio <= 1, (
        f"one ulp off: transform error/bound {rounded.transform_ratio}, but should be <= 1")
    assert wrong.problems and wrong.transform_ratio > 1, (
        f"a dropped sample: transform error/bound {wrong.transform_ratio}, but should be > 1")


def test_nnpacks_rounding_is_explained_only_where_onednn_is_off_for_the_call():
    """A float32 regression of oneDNN's kernels within the transform bound is no NNPACK
    call: the entry holds only where the call ran with oneDNN off (declared or not)."""
    import torch

    from case import parse
    from suite import registry
    from suite.judge import facts_of, judge
    from suite.run import Outcome, environment

    entry = next(e for e in registry.load() if e.id == "nnpack-rounds-like-a-fast-algorithm")
    known = registry.Registry([entry])
    known.set_status({entry.id: registry.PRESENT})
    case = parse(entry.recheck)
    arrays = case.arrays()
    one_ulp = torch.from_numpy(case.expected(arrays)).float()
    one_ulp[0, 0, 0, 0] = torch.nextafter(torch.tensor(1.0), torch.tensor(0.0))
    for onednn in (True, False):
        state = {**environment("cpu"), "onednn": onednn}
        finding = judge(case, Outcome(output=one_ulp, environment=state), arrays=arrays,
                        explain=False)
        explained = known.explain(facts_of(finding)) is entry
        assert explained == (not onednn), (
            f"with oneDNN {'on' if onednn else 'off'} the entry explained: {explained}, but "
            f"should {'not ' if onednn else ''}explain one ulp off")
