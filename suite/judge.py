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
- ``expect(case, actual, quantity, model=...)``: a derivative (a gradient, a
  tangent: case/derivatives.py) against the reference, equal or within the
  bound of how a correct implementation sums it;
- ``relation(model, calls, actual, expected, ...)``: a metamorphic relation
  between calls of the implementation itself;
- ``agree(case, actual, expected, ...)``: a result against another way of
  computing the same numbers, with the exactness or bound given.
Properties say what they compare; whether that is equality or which bound
holds is decided here and by the error model (reference/numerics.py), never
in a property.
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
import pytest
import torch

from hypothesis import currently_in_test_context, event, reject

from case import domain
from reference import memory_format
from reference.numerics import ErrorModel
from reference.rounding import UNIT_ROUNDOFF, gamma
from reference.staged_sums import staged_error_bound
from suite import registry, run, summary
from suite.compare import Problem, compare_values

CHECKS = ("shape", "dtype", "memory_format", "values")
VALUES = ("shape", "dtype", "values")


class NotClaimed:
    """Why a finding is not judged: the implementation does not claim that aspect
    (its declared domain's ``[claims]``, case/domain.py)."""

    def __init__(self, claim, what):
        self.id = f"not-claimed-{claim.replace('.', '-').replace('_', '-')}"
        self.observed = f"the implementation does not claim {what} ([claims] {claim})"


def bitwise(case, model, *, by_the_algorithm=True):
    """Whether ``case``'s results must equal the reference bit for bit: exact-tier data
    (every partial sum an exact integer) under an error model whose answers are sums
    of products, so any summation order gives the same bits (unless the kernel
    flushes subnormals and the data reach them).  ``by_the_algorithm`` False: a result
    the error model leaves a sum of products whatever the kernel's algorithm (a
    gradient: the transform model is about forward calls)."""
    if case.tier != "exact" or (by_the_algorithm and not model.bitwise_on_exact_data):
        return False
    return not (model.flushes_subnormals and case.facts()["subnormal_scale"])


def bound_of(case, quantity, model):
    """Per element, the largest error of a correct ``quantity`` (case/derivatives.py)
    under ``model``: a dot product rounded once (``model.bound``), or a sum in stages
    (``staged_error_bound``); where the model allows fast algorithms and the quantity
    is a sum of forward calls, those calls may each be that algorithm's, then added."""
    if quantity.roundings is None:
        bound = model.bound(quantity.magnitude, quantity.value, dot_length=quantity.length,
                            dtype=case.dtype)
    else:
        bound = staged_error_bound(quantity.magnitude, dot_length=quantity.length,
                                   roundings=quantity.roundings, dtype=case.dtype, tf32=model.tf32)
    if quantity.forward_calls and model.kind != "direct":
        algorithm = sum(case.bound(arrays, value, model) for arrays, value in quantity.forward_calls)
        addition = gamma(1, UNIT_ROUNDOFF[case.dtype]) * np.abs(quantity.value)
        bound = np.maximum(bound, algorithm + addition)
    return bound


def expect(case, actual, quantity, *, model, environment=None):
    """The finding of ``actual`` (a tensor) against ``quantity``: bit for bit where
    ``bitwise`` says so (a derivative a fast algorithm may compute, one with forward
    calls, as a forward call; any other as a sum of products), or the quantity is
    structural; else within ``bound_of``."""
    exact = quantity.structural or bitwise(case, model,
                                           by_the_algorithm=bool(quantity.forward_calls))
    return agree(case, actual, quantity.value, exact=exact,
                 bound=None if exact else bound_of(case, quantity, model), name=quantity.name,
                 source=quantity.source, environment=environment)


def relation(model, calls, actual, expected, *, name="out", source):
    """The findings of a relation between calls of the implementation (a metamorphic
    property): ``actual`` (a tensor from the calls) equals ``expected`` (NumPy, from
    the calls) bit for bit where ``bitwise`` holds for the first call; otherwise a
    relation holds only up to each call's rounding, so each of ``calls`` (``(case,
    arrays, out)`` triples) is judged against the reference on its own instead."""
    first = calls[0][0]
    if bitwise(first, model):
        return [agree(first, actual, expected, exact=True, name=name, source=source)]
    return [against_reference(case, out, arrays, model) for case, arrays, out in calls]


def against_reference(case, actual, arrays, model, *, name="out", source="the reference",
                      environment=None):
    """The finding of ``actual``, the case's output computed on ``arrays`` (by a call
    ``run`` made, or another way), against the reference, as ``model`` allows."""
    expected = case.expected(arrays)
    if bitwise(case, model):
        return agree(case, actual, expected, exact=True, name=name, source=source,
                     environment=environment, model=model)
    bound = case.bound(arrays, expected, model)
    return agree(case, actual, expected, exact=False, bound=bound, name=name, source=source,
                 environment=environment, overflow=case.overflow(arrays, expected, bound, model),
                 model=model)


def describe_call(case):
    """``conv2d(<descriptor>)``: the call a message is about."""
    return f"conv2d({case})"


def as_numpy(tensor):
    """A result as float64/complex128 NumPy (exact for every tested dtype)."""
    tensor = tensor.detach().cpu()
    wide = torch.complex128 if tensor.is_complex() else torch.float64
    return tensor.to(wide).numpy()


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
    # Why the call was not made, or is not judged: a known crash of this torch, a call
    # outside the declared domain, an aspect the kernel does not claim (case/domain.py).
    not_run: object = None
    held: list = dataclasses.field(default_factory=list)  # deviations whose condition held
    environment: dict = dataclasses.field(default_factory=dict)  # backend state of the call
    # Where the direct model found wrong values: the worst error/bound under the
    # transform model, which a registry entry about a fast algorithm (NNPACK) names.
    transform_ratio: object = None

    @property
    def status(self):
        if self.not_run is not None:
            return "not run"
        if self.problems:
            return "deviation" if self.deviation is not None else "fails"
        return "conforms"

    @property
    def failed(self):
        return self.status == "fails"

    def verdict(self):
        if self.not_run is not None:
            return f"NOT RUN: {self.not_run.id} ({self.not_run.observed})"
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
        reaches = getattr(finding.outcome, "reaches_torch", None)
        for environment in (finding.environment, *environments):
            facts = {**facts_of(finding), **environment}
            finding.held += [entry for entry in registry.active().held(facts)
                             if entry not in finding.held]
            if finding.problems and finding.deviation is None:
                finding.deviation = registry.active().explain(facts, reaches=reaches)
    return finding


def _describe_tensor(tensor):
    if not isinstance(tensor, torch.Tensor):
        return repr(tensor)
    return (f"{tuple(tensor.shape)} {str(tensor.dtype).removeprefix('torch.')} "
            f"strides {tensor.stride()}")


def _error_problems(rule, output, error, claims):
    """For a call the rules reject: the right exception, with torch's fragment (an
    implementation that claims only "any" error: some exception)."""
    wanted = rule.torch_error.__name__ if claims.errors == "torch" else "an exception"
    should = f"should raise {wanted} because {rule.statement}"
    if error is None:
        returned = (f"a tensor of shape {tuple(output.shape)}" if isinstance(output, torch.Tensor)
                    else f"a {type(output).__name__}")
        return [Problem("error", f"returned {returned}, but {should}")]
    if claims.errors == "any":
        return []
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
        finding.not_run = outcome.not_run
        return finding
    output, error = outcome.output, outcome.error
    finding.lines.append(("actual", f"raised {type(error).__name__}: {str(error)[:300]}"
                          if error is not None else f"returned {_describe_tensor(output)}"))
    rule = case.rule()
    claims = domain.active().claims
    if rule is not None:
        if claims.errors == "none":
            finding.not_run = NotClaimed("errors", "how it rejects invalid calls")
            return finding
        fragment = f" matching /{rule.fragment.pattern}/" if rule.fragment else ""
        finding.lines.insert(0, ("expected", f"raises {rule.torch_error.__name__}{fragment}, "
                                             f"because {rule.statement} (rule {rule.value})"))
        finding.problems = _error_problems(rule, output, error, claims)
        return _explained(finding, explain)

    shape = tuple(case.output_shape)
    exact = bitwise(case, model)
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
    if "memory_format" in checks and claims.memory_format == "torch":
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
          environments=(), overflow=None, model=None):
    """The finding of comparing ``actual`` (a tensor) with ``expected`` (NumPy): the same
    numbers computed another way.  ``exact``: bit for bit; else within ``bound``, an
    infinity on either side accepted where ``overflow`` allows one.  ``environment``:
    the backend state ``actual`` was computed in (default: now); ``environments``:
    those of the calls that computed ``expected``, where they differ.  ``model``: the
    error model when ``expected`` is the reference's, which ``judge`` compares against
    as strictly (an overflow with the reference's sign, NaN spread as the model allows)."""
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
            overflow=overflow, against_reference=model is not None,
            spread_in_planes=model is not None and model.nonfinite_spreads_within_planes)
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
    finding = Finding(case, outcome=outcome, not_run=outcome.not_run,
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
    if finding.not_run is not None:
        if isinstance(finding.not_run, run.OutsideTheDomain):
            domain.tally["refused"] += 1
        if currently_in_test_context():
            event(f"not run: {finding.not_run.id}")
            reject()
        if isinstance(finding.not_run, (NotClaimed, run.OutsideTheDomain)):
            pytest.skip(f"{finding.not_run.observed} [{describe_call(finding.case)}]")
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
    if bitwise(case, model):
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
