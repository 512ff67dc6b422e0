"""Calling the implementation under test: one pure step from a case to an outcome.

``run`` makes the case's call and records what happened (what it returned,
what it raised, the backend state it ran under) without judging it; the one
judge (suite/judge.py) does that.  A call in the region of a known crash of
this torch (suite/registry.py) is not made: its outcome says so, and the
judge turns that into a verdict, never into a failure.

Before each call the case's descriptor goes to the process's call file (when
one is set), so a call that kills the process is still named, and a time
limit ends a call that never returns (suite/monitor.py).

``python -m suite.run DESCRIPTOR --conv2d-impl=SPEC ...`` makes one call in a
fresh process and nothing else (``--through=backward``: then backpropagates ones
through its output; ``--through=double_backward``: and ones through those
gradients): the registry rechecks crashes with it.
"""

import argparse
import contextlib
import dataclasses
import sys

import torch

from case import domain
from case.history import prior_calls
from suite import monitor, registry, torch_calls


@dataclasses.dataclass
class Outcome:
    """What one call did."""

    output: object = None
    error: object = None
    not_run: object = None  # the registry's crash entry that kept the call from being made
    environment: dict = dataclasses.field(default_factory=dict)
    # Whether the implementation hands this call to torch's kernels (a memoised
    # callable, suite/torch_calls.py): torch's registry entries explain only those.
    reaches_torch: object = None


def environment(device, conv2d=None, threads=None):
    """The backend state a call runs under, as registry conditions name it (``threads``:
    the intra-op threads its context sets, else the process's).  An implementation that
    switches oneDNN itself around its calls of torch declares the state it calls torch
    in (``conv2d.onednn``), which the flag outside does not show."""
    declared = getattr(conv2d, "onednn", None)
    return dict(device=device, onednn=torch.backends.mkldnn.enabled if declared is None
                else declared, threads=threads or torch.get_num_threads())


_monitor = monitor.Monitor()


def monitor_calls(path=None, limit=None):
    """Name every call in the file ``path`` before making it, and end the process when
    a call outlives ``limit`` seconds (suite/monitor.py); None: neither."""
    global _monitor
    _monitor.close()
    _monitor = monitor.Monitor(path, limit)


class OutsideTheDomain:
    """Why a call was not made: the kernel's declared domain does not hold it."""

    id = "outside-the-declared-domain"
    observed = "the implementation does not claim this call (--conv2d-domain)"


def run(conv2d, case, tensors, *, guard=True, claimed=True):
    """Make ``case``'s call of ``conv2d`` on ``tensors``, in its context (threads, grad
    mode, the related calls before it: case/context.py); ``guard``: unless a known
    crash of this torch (an applying registry entry) holds for it, or (``claimed``)
    the implementation's declared domain (case/domain.py) does not."""
    device = tensors[0].device.type
    if guard and claimed and case.rule() is None:
        if not domain.active().admits(case):
            return Outcome(not_run=OutsideTheDomain(), environment=environment(device, conv2d))
        domain.tally["admitted"] += 1
    for prior in prior_calls(case):
        run(conv2d, prior, prior.tensors(device=device), guard=guard, claimed=claimed)
    reaches = torch_calls.Reaches(conv2d, case, tensors)
    state = environment(device, conv2d, threads=case.context.threads)
    _monitor.starting(str(case))  # named from here: asking reaches_torch may make the call
    try:
        if guard:
            crash = registry.active().crash_for({**case.facts(), **state}, reaches=reaches)
            if crash is not None:
                return Outcome(not_run=crash, environment=state, reaches_torch=reaches)
        try:
            with called_as(case.context, case.dtype, device):
                return Outcome(output=case.invoke(conv2d, tensors), environment=state,
                               reaches_torch=reaches)
        except Exception as error:  # the call's or its context's: an observation for the judge
            return Outcome(error=error, environment=state, reaches_torch=reaches)
    finally:
        _monitor.finished()


@contextlib.contextmanager
def called_as(context, dtype, device):
    """The threads and grad mode (or autocast to ``dtype``) a call's context asks for
    (case/context.py), put back as they were afterwards."""
    threads = torch.get_num_threads()
    if context.threads:
        torch.set_num_threads(context.threads)
    modes = {"no_grad": torch.no_grad, "inference": torch.inference_mode,
             "autocast": lambda: torch.autocast(device, dtype=getattr(torch, dtype))}
    try:
        with modes.get(context.mode, contextlib.nullcontext)():
            yield
    finally:
        torch.set_num_threads(threads)


def differentiate(output, leaves, double):
    """Backpropagate ones through ``output`` (and, ``double``, through its gradients)."""
    if not output.requires_grad:
        return
    grad = torch.ones_like(output, requires_grad=double)
    firsts = torch.autograd.grad(output, leaves, grad, create_graph=double, allow_unused=True)
    firsts = [first for first in firsts if first is not None and first.requires_grad]
    if double and firsts:
        torch.autograd.grad(firsts, leaves + [grad], [torch.ones_like(f) for f in firsts],
                            allow_unused=True)


def child_environment(prog, argv, positional):
    """Parse the options a child process of the suite gets from its parent (the run's
    options, suite/options.py, and the oneDNN state), apply them, and return
    (arguments, the ``suite.options.Setup``)."""
    from suite import options
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument(positional, nargs="*")
    options.add_to_parser(parser)
    parser.add_argument("--onednn", choices=("on", "off"), default="on")
    parser.add_argument("--through", choices=("forward", "backward", "double_backward"),
                        default="forward", help="how far to differentiate the call")
    args = parser.parse_args(argv)
    torch.backends.mkldnn.enabled = args.onednn == "on"
    return args, options.configure(lambda name: getattr(args, name))


def main(argv=None):
    """Make one case's call, unguarded (``--through``: and differentiate it); exit 0
    whether it returned or raised.  A pass the implementation does not support (torch.compile
    has no double backward) raises: that too is an answer, only a dead process is a crash."""
    from case import parse
    args, setup = child_environment("python -m suite.run", argv, "descriptor")
    conv2d = setup.conv2d
    for text in args.descriptor:
        case = parse(text)
        tensors = case.tensors(device=args.device, requires_grad=args.through != "forward")
        outcome = run(conv2d, case, tensors, guard=False)
        raised = outcome.error is not None
        if args.through != "forward" and isinstance(outcome.output, torch.Tensor):
            try:
                differentiate(outcome.output, [t for t in tensors if t is not None],
                               double=args.through == "double_backward")
            except Exception:  # noqa: BLE001 - an unsupported pass, not a crash
                raised = True
        print("raised" if raised else "returned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
