"""conv2d gives the same answers in the contexts programs call it in.

Each property draws a context (case/context.py) that a plain test never makes,
and which takes another path inside a kernel: other intra-op thread counts
(oneDNN partitions the work and reduces backward-weights' partial sums across
threads), the no-grad modes serving code runs under, autocast, and a process
that has made related calls before.  The context is part of the case, so its
Replay line makes the very same call.
"""

import pytest
from hypothesis import given

from case import domain
from case.context import CallContext
from strategies import conv2d_cases
from strategies.contexts import with_context
from strategies.sizes import BACKWARD_WEIGHTS, REPEATED_CALL_BUDGET
from suite.backward import check_gradients
from suite.judge import (VALUES, agreement, as_numpy, check_call, judge, output_of,
                         require)
from suite.properties import conformance, needs
from suite.run import run

DTYPES = ("float32", "float64", "complex64", "complex128", "float16", "bfloat16")


@conformance("threads.agree")
@given(case=with_context(conv2d_cases(dtypes=DTYPES, weights=BACKWARD_WEIGHTS,
                                      budget=REPEATED_CALL_BUDGET), threads=True))
def test_conv2d_gives_the_single_thread_answers_at_other_thread_counts(conv2d, device, model,
                                                                        case):
    """At the drawn thread count the output and (where the kernel claims them) the
    gradients are the reference's: bit for bit on exact data, as they are with one
    thread (the other properties), and within the bound on float data.  Problems a
    quarter of the others' size: the threads split the same kernels' work."""
    check_call(conv2d, case, device=device, model=model)
    if _claims("autograd.backward"):
        check_gradients(conv2d, case, device, model)


def _claims(claim):
    """Whether the implementation claims ``claim`` (case/domain.py)."""
    return not domain.active().claims.lacks([claim])


@conformance("modes.no_grad")
@pytest.mark.parametrize("mode", ["no_grad", "inference"])
@given(case=conv2d_cases(dtypes=DTYPES))
def test_no_grad_and_inference_mode_compute_the_output_grad_mode_computes(conv2d, device, model,
                                                                          mode, case):
    """Serving code calls under torch.no_grad() or torch.inference_mode(), training code
    with tensors that require grad: the same output either way."""
    arrays = case.arrays()
    serving = case.replace(context=CallContext(mode=mode))
    plain = output_of(serving, run(conv2d, serving, serving.tensors(arrays, device=device)))
    tracked = output_of(case, run(conv2d, case, case.tensors(arrays, device=device,
                                                             requires_grad=_claims(
                                                                 "autograd.backward"))))
    require(agreement(case, tracked, as_numpy(plain), arrays, model,
                      source=f"out under {'torch.no_grad()' if mode == 'no_grad' else mode}"))


@conformance("modes.autocast")
@needs("autocast")
@given(case=conv2d_cases(dtypes=("bfloat16", "float16")))
def test_under_autocast_conv2d_computes_what_it_computes_on_the_autocast_dtype(
        conv2d, device, model, case):
    """torch's autocast op lists put conv2d among the ops cast to the lower precision
    (CPU: bfloat16 and float16; CUDA: float16): float32 tensors under
    torch.autocast(dtype=D) give what conv2d gives on the same values as D tensors,
    a D tensor.  The case's data are D's values; its context calls it on float32
    tensors under autocast."""
    arrays = case.arrays()
    autocast = case.replace(context=CallContext(mode="autocast"))
    outcome = run(conv2d, autocast, autocast.tensors(arrays, device=device))
    require(judge(autocast, outcome, model=model, arrays=arrays, checks=VALUES))
    under_autocast = output_of(autocast, outcome)
    direct = output_of(case, run(conv2d, case, case.tensors(arrays, device=device)))
    require(agreement(autocast, under_autocast, as_numpy(direct), arrays, model,
                      name="out under torch.autocast", source=f"out on {case.dtype} tensors"))


@conformance("history.independent")
@given(case=with_context(conv2d_cases(tiers=("exact",)), after=True))
def test_an_answer_does_not_depend_on_the_calls_the_process_made_before(conv2d, device, model,
                                                                        case):
    """The call, made first, then after related calls (the same shapes with other data,
    layout, dtype or arguments, in an order its seed decides: case/history.py), is
    the reference's answer both times: bit for bit, as a fresh call is on exact data."""
    first = case.replace(context=CallContext())
    check_call(conv2d, first, device=device, model=model)
    check_call(conv2d, case, device=device, model=model)
