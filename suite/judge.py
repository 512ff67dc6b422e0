"""The one judge: whether one call conforms, returned as data.

- ``judge(case, outcome)``: a call against the specification: for a call the
  rules reject, which error with which message fragment; for a valid call,
  that it returned a tensor of the right shape, dtype and memory format whose
  values are the reference's (bit for bit on exact-tier data under the direct
  error model, within the rounding bound otherwise), NaN and inf exactly
  where the reference has them, and +-inf where rounding to the output's
  dtype overflows (reference/numerics.py ``overflow_regions``).  Zeros are
  compared without their sign: the sign of a zero sum depends on where a
  kernel starts its accumulator, which the specification leaves open.
- ``agree(case, actual, expected, ...)``: a result against another way of
  computing the same numbers (a metamorphic relation, an adjoint).
- ``require(finding)``: the only place a property fails.

A finding that breaks the specification is matched against the registry
(suite/registry.py): if an applying entry describes it, it is an expected
deviation, not a failure.  A call the registry kept from being made (a known
crash) is a verdict of its own.  Properties, replay, the regression corpus
and drift all judge through here, so they cannot disagree.

Every problem reads ``what was observed, but should be what [for which call]``.
"""

import dataclasses

import numpy as np
import torch

from hypothesis import currently_in_test_context, event, reject

from reference import memory_format
from reference.numerics import ErrorModel
from suite import registry, run, summary

CHECKS = ("shape", "dtype", "memory_format", "values")
VALUES = ("shape", "dtype", "values")


def describe_call(case):
    """``conv2d(<descriptor>)``: the call a message is about."""
    return f"conv2d({case})"


def as_numpy(tensor):
    """A result as float64/complex128 NumPy (exact for every tested dtype)."""
    tensor = tensor.detach().cpu()
    wide = torch.complex128 if tensor.is_complex() else torch.float64
    return tensor.to(wide).numpy()


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


@dataclasses.dataclass
class Finding:
    """What judging one call (or one comparison) found."""

    case: object
    name: str = "out"
    problems: list = dataclasses.field(default_factory=list)
    lines: list = dataclasses.field(default_factory=list)  # (label, text) for reports
    outcome: object = None
    ratio: object = None  # the worst element's error/bound, where a bound judged it
    deviation: object = None  # the registry entry that explains the problems
    crash: object = None  # why the call was not made: a known crash, or outside the domain
    held: list = dataclasses.field(default_factory=list)  # deviations whose condition held
    environment: dict = dataclasses.field(default_factory=dict)  # backend state of the call
    # Where the direct model found wrong values: the worst error/bound under the
    # transform model, which a registry entry about a fast algorithm (NNPACK) names.
    transform_ratio: object = None

    @property
    def status(self):
        if self.crash is not None:
            return "not run"
        if self.problems:
            return "deviation" if self.deviation is not None else "fails"
        return "conforms"

    @property
    def failed(self):
        return self.status == "fails"

    def verdict(self):
        if self.crash is not None:
            return f"NOT RUN: {self.crash.id} ({self.crash.observed})"
        if self.deviation is not None:
            return (f"KNOWN DEVIATION {self.deviation.id}: {self.deviation.observed}; "
                    f"reason: {self.deviation.reason}")
        if self.problems:
            return "FAIL: " + "; ".join(problem.text for problem in self.problems)
        return "PASS: conforms to the specification"

    def message(self):
        """The assertion message: every problem, then the call."""
        return "; ".join(problem.text for problem in self.problems) + \
            f" [{describe_call(self.case)}]"

    def report(self):
        rows = [*self.lines, ("verdict", self.verdict())]
        return "\n".join(f"{label:<11} {text}" for label, text in rows)


def _facts(case, environment, output=None, error=None, problems=(), transform_ratio=None):
    """Everything a registry condition or behaviour may name about this call."""
    return {**case.facts(), **environment, "transform_ratio": transform_ratio,
            "raised": None if error is None else type(error).__name__,
            "message": "" if error is None else str(error),
            "out_shape": tuple(output.shape) if isinstance(output, torch.Tensor) else None,
            "out_dtype": (str(output.dtype).removeprefix("torch.")
                          if isinstance(output, torch.Tensor) else None),
            "problems": frozenset(problem.aspect for problem in problems)}


def facts_of(finding):
    """The registry's names for the call a finding judged and what it did."""
    outcome = finding.outcome
    return _facts(finding.case, finding.environment, outcome and outcome.output,
                  outcome and outcome.error, finding.problems, finding.transform_ratio)


def _explained(finding, explain, environments=()):
    """``finding`` with the registry's explanation of its problems, if any.

    ``environments``: the backend states of further calls the finding compares
    with its own (another backend's result): an entry that holds for any of
    them may explain the disagreement, as either call may be the wrong one.
    """
    if explain:
        for environment in (finding.environment, *environments):
            facts = {**facts_of(finding), **environment}
            finding.held += [entry for entry in registry.active().held(facts)
                             if entry not in finding.held]
            if finding.problems and finding.deviation is None:
                finding.deviation = registry.active().explain(facts)
    return finding


def _describe_tensor(tensor):
    if not isinstance(tensor, torch.Tensor):
        return repr(tensor)
    return (f"{tuple(tensor.shape)} {str(tensor.dtype).removeprefix('torch.')} "
            f"strides {tensor.stride()}")


def _error_problems(rule, output, error):
    """For a call the rules reject: the right exception, with torch's fragment."""
    should = f"should raise {rule.torch_error.__name__} because {rule.statement}"
    if error is None:
        returned = (f"a tensor of shape {tuple(output.shape)}" if isinstance(output, torch.Tensor)
                    else f"a {type(output).__name__}")
        return [Problem("error", f"returned {returned}, but {should}")]
    if not isinstance(error, rule.torch_error):
        return [Problem("error", f"raised {type(error).__name__}: {str(error)[:300]}, but "
                                 f"{should}")]
    if rule.fragment and not rule.fragment.search(str(error)):
        return [Problem("error", f"message {str(error)[:300]!r} lacks torch's fragment "
                                 f"/{rule.fragment.pattern}/ for the rule {rule.statement!r}")]
    return []


def _format_problems(case, output, tensors):
    expected = case.output_memory_format(tensors)
    observed = memory_format.format_of(tuple(output.shape), output.stride())
    if expected is None or observed is None or observed == expected:
        return []
    input, weight, _ = tensors
    return [Problem("memory_format", (
        f"out has strides {output.stride()} ({observed}), but should be {expected} (input "
        f"strides {input.stride()}, weight strides {weight.stride()})"))]


def judge(case, outcome, *, model=ErrorModel(), arrays=None, tensors=None, checks=CHECKS,
          explain=True):
    """The finding of ``case``'s call, which did ``outcome`` (suite/run.py).

    ``arrays`` and ``tensors``: what the call was made on (default: rebuilt from the
    case); ``checks``: which of ``CHECKS`` a valid call is held to; ``explain``:
    match problems against the registry (off only for the registry's rechecks).
    """
    finding = Finding(case, outcome=outcome, environment=outcome.environment)
    if outcome.not_run is not None:
        finding.crash = outcome.not_run
        return finding
    output, error = outcome.output, outcome.error
    finding.lines.append(("actual", f"raised {type(error).__name__}: {str(error)[:300]}"
                          if error is not None else f"returned {_describe_tensor(output)}"))
    rule = case.rule()
    if rule is not None:
        fragment = f" matching /{rule.fragment.pattern}/" if rule.fragment else ""
        finding.lines.insert(0, ("expected", f"raises {rule.torch_error.__name__}{fragment}, "
                                             f"because {rule.statement} (rule {rule.value})"))
        finding.problems = _error_problems(rule, output, error)
        return _explained(finding, explain)

    shape = tuple(case.output_shape)
    exact = case.tier == "exact" and model.bitwise_on_exact_data
    finding.lines.insert(0, ("expected", (
        f"returns {shape} {case.dtype}, values "
        f"{'bitwise equal to' if exact else 'within the rounding bound of'} the reference")))
    if error is not None or not isinstance(output, torch.Tensor):
        returned = (f"raised {type(error).__name__}: {str(error)[:300]}" if error is not None
                    else f"returned a {type(output).__name__}")
        finding.problems = [Problem("returned", f"{returned}, but should return a tensor")]
        return _explained(finding, explain)

    if "shape" in checks and tuple(output.shape) != shape:
        finding.problems.append(Problem("shape", f"out.shape={tuple(output.shape)}, but should "
                                                 f"be {shape}"))
    if "dtype" in checks and str(output.dtype) != f"torch.{case.dtype}":
        finding.problems.append(Problem("dtype", f"out.dtype={output.dtype}, but should be "
                                                 f"torch.{case.dtype}"))
    if "memory_format" in checks:
        tensors = case.tensors(arrays) if tensors is None else tensors
        finding.problems += _format_problems(case, output, tensors)
    if "values" in checks and tuple(output.shape) == shape and output.numel():
        arrays = case.arrays() if arrays is None else arrays
        expected = case.expected(arrays)
        got = as_numpy(output)
        bound = None if exact else case.bound(arrays, expected, model)
        overflow = None if exact else case.overflow(arrays, expected, bound, model)
        problems, finding.ratio = compare_values(
            got, expected, exact=exact, bound=bound, name="out", source="the reference",
            spread_in_planes=model.nonfinite_spreads_within_planes, overflow=overflow)
        finding.problems += problems
        if model.kind == "direct" and any(problem.aspect == "values" for problem in problems):
            finding.transform_ratio = _transform_ratio(case, arrays, expected, got, model)
        same = (got == expected) | (np.isnan(got) & np.isnan(expected))
        finding.lines.append(("values", f"{int(np.count_nonzero(~same))} of {got.size} elements "
                                        f"differ from the reference" + (
                                            "" if finding.ratio is None else
                                            f"; worst error/bound {finding.ratio:.3g}")))
    return _explained(finding, explain)


def _transform_ratio(case, arrays, expected, got, model):
    """The worst error/bound of ``got`` under the transform error model (Winograd, FFT)."""
    fast = ErrorModel("transform", tf32=model.tf32)
    bound = case.bound(arrays, expected, fast)
    _, ratio = compare_values(got, expected, exact=False, bound=bound, name="out",
                              source="the reference",
                              overflow=case.overflow(arrays, expected, bound, fast))
    return ratio


def output_of(case, outcome):
    """The output of a call a property goes on to compare with another: a call that
    raised fails the property (unless the registry explains it), and an example
    whose call was not made, or whose call is an expected deviation, is rejected
    (it says nothing more; the summary counts it)."""
    __tracebackhide__ = True
    finding = judge(case, outcome, checks=())
    require(finding)
    if finding.status != "conforms":
        reject()
    return outcome.output


def agree(case, actual, expected, *, exact, bound=None, name="out", source, environment=None,
          environments=(), overflow=None):
    """The finding of comparing ``actual`` (a tensor) with ``expected`` (NumPy): the same
    numbers computed another way.  ``exact``: bit for bit; else within ``bound``, an
    infinity on either side accepted where ``overflow`` allows one.  ``environment``:
    the backend state ``actual`` was computed in (default: now); ``environments``:
    those of the calls that computed ``expected``, where they differ."""
    if environment is None:
        environment = run.environment(
            actual.device.type if isinstance(actual, torch.Tensor) else "cpu")
    finding = Finding(case, name=name, environment=environment,
                      outcome=run.Outcome(output=actual, environment=environment))
    expected = np.asarray(expected)
    if isinstance(actual, Exception):
        finding.problems = [Problem("returned", f"{name}: raised {type(actual).__name__}: "
                                                f"{str(actual)[:300]}, but should be a tensor")]
    elif not isinstance(actual, torch.Tensor):
        finding.problems = [Problem("returned", f"{name} is a {type(actual).__name__}, but "
                                                f"should be a torch.Tensor")]
    elif tuple(actual.shape) != expected.shape:
        finding.problems = [Problem("shape", f"{name}.shape={tuple(actual.shape)}, but should "
                                             f"be {expected.shape}")]
    elif str(actual.dtype) != f"torch.{case.dtype}":
        finding.problems = [Problem("dtype", f"{name}.dtype={actual.dtype}, but should be "
                                             f"torch.{case.dtype}")]
    elif actual.numel():
        finding.problems, finding.ratio = compare_values(
            as_numpy(actual), expected, exact=exact, bound=bound, name=name, source=source,
            overflow=overflow, against_reference=False)
    return _explained(finding, explain=True, environments=environments)


def fail_with(case, text, aspect="returned", outcome=None):
    """Fail the property with one problem of ``case``: a check a property makes itself
    (a gradient that is missing, a tangent that is None); given the ``outcome`` of the
    call it checked (two calls that differ), unless the registry explains it."""
    __tracebackhide__ = True
    if outcome is None:
        require(Finding(case, problems=[Problem(aspect, text)]))
        return
    require(_explained(Finding(case, outcome=outcome, environment=outcome.environment,
                               problems=[Problem(aspect, text)]), explain=True))


def autograd_finding(case, what, error, environment):
    """The finding of an autograd pass over the call (``what``: "backward", "double
    backward", ...) that raised ``error``: the registry may explain it (problem
    ``autograd``, the outcome's ``raised`` and ``message`` are the pass's)."""
    return Finding(case, outcome=run.Outcome(error=error, environment=environment),
                   environment=environment, problems=[Problem("autograd", (
                       f"{what} raised {type(error).__name__}: {str(error)[:300]}, but should "
                       f"compute the gradients"))])


def fail_autograd(case, what, error, device):
    """Fail the property for an autograd pass that raised, unless the registry explains
    it; an explained one ends the example (rejected: it has nothing more to check)."""
    __tracebackhide__ = True
    require(_explained(autograd_finding(case, what, error, run.environment(device)),
                       explain=True))
    reject()


def finite_differences(case, check, function, leaves, *, compared):
    """The finding of torch.autograd's finite-difference ``check`` (gradcheck or
    gradgradcheck, fast mode: one random projection, not the full Jacobian) of
    ``function`` at ``leaves``; ``compared`` names what autograd computed.  A pass
    that raises is an autograd finding, which the registry may explain."""
    from torch.autograd.gradcheck import GradcheckError
    try:
        check(function, leaves, fast_mode=True)
    except GradcheckError as error:
        return Finding(case, problems=[Problem("values", (
            f"{compared} differs from finite differences: {str(error).splitlines()[0]}"))])
    except Exception as error:  # noqa: BLE001 - any exception of a pass is a finding
        return _explained(autograd_finding(case, compared, error,
                                           run.environment(leaves[0].device.type)), explain=True)
    return Finding(case)


def judge_outside(case, outcome):
    """The finding of a valid call outside a kernel's declared domain, where the
    domain says ``outside = "raise"``: the kernel must raise, any exception."""
    finding = Finding(case, outcome=outcome, crash=outcome.not_run,
                      environment=outcome.environment)
    if outcome.not_run is None and outcome.error is None:
        finding.problems.append(Problem("returned", (
            "returned, but should raise: the call is outside the declared domain, whose "
            "outside = 'raise' says the kernel rejects it")))
    return finding


def require(finding):
    """Fail the property unless ``finding`` conforms or is an expected deviation.

    A call the registry kept from being made (a known crash) is rejected as an
    example (counted in the run's summary), never failed.  Every finding is
    observed for the summary (worst error/bound, deviations met).
    """
    __tracebackhide__ = True
    summary.observe(finding)
    if finding.crash is not None:
        if currently_in_test_context():
            event(f"not run: {finding.crash.id}")
            reject()
        return
    if finding.failed:
        raise AssertionError(finding.message())


def agreement(case, actual, other, arrays, model, *, name="out", source, environment=None,
              environments=()):
    """The finding of two results of the same call computed two ways (``other`` as
    NumPy, ``source`` says how): identical on exact-tier data under the direct
    model; otherwise each is within the rounding bound of the truth, so they are
    within twice that bound of each other.  ``environment``, ``environments``: the
    backend states of the two calls, where they differ (see ``agree``)."""
    exact = case.tier == "exact" and model.bitwise_on_exact_data
    if exact:
        return agree(case, actual, other, exact=True, name=name, source=source,
                     environment=environment, environments=environments)
    expected = case.expected(arrays)
    bound = case.bound(arrays, expected, model)
    return agree(case, actual, other, exact=False, bound=2 * bound, name=name, source=source,
                 environment=environment, environments=environments,
                 overflow=case.overflow(arrays, expected, bound, model))


def check_call(conv2d, case, *, device, model, checks=CHECKS):
    """Make ``case``'s call and require that it conforms: what most properties do."""
    __tracebackhide__ = True
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    require(judge(case, run.run(conv2d, case, tensors), model=model, arrays=arrays,
                  tensors=tensors, checks=checks))
