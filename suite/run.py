"""Calling the implementation under test: one pure step from a case to an outcome.

``run`` makes the case's call and records what happened (what it returned,
what it raised, the backend state it ran under) without judging it; the one
judge (suite/judge.py) does that.  A call in the region of a known crash of
this torch (suite/registry.py) is not made: its outcome says so, and the
judge turns that into a verdict, never into a failure.

Before each call the case's descriptor goes to the process's call log (when
one is set), so a call that kills the process is still named: the pytest
plugin reads the log of a worker that died (suite/crashes.py).

``python -m suite.run DESCRIPTOR --conv2d-impl=SPEC ...`` makes one call in a
fresh process and nothing else (``--through=backward``: then backpropagates ones
through its output; ``--through=double_backward``: and ones through those
gradients): the registry rechecks crashes with it.
"""

import argparse
import dataclasses
import os
import sys

import torch

from suite import registry


@dataclasses.dataclass
class Outcome:
    """What one call did."""

    output: object = None
    error: object = None
    not_run: object = None  # the registry's crash entry that kept the call from being made
    environment: dict = dataclasses.field(default_factory=dict)


def environment(device):
    """The backend state a call runs under, as registry conditions name it."""
    return dict(device=device, onednn=torch.backends.mkldnn.enabled,
                threads=torch.get_num_threads())


class CallLog:
    """One file per process holding the descriptor of the call in progress (empty
    between calls); the write reaches the kernel before the call starts, so it
    survives the process being killed."""

    def __init__(self, path):
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def starting(self, text):
        data = text.encode() + b"\n"
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))

    def finished(self):
        os.ftruncate(self._fd, 0)


_call_log = None


def log_calls_to(path):
    """Name every call in ``path`` before making it (None: stop)."""
    global _call_log
    _call_log = None if path is None else CallLog(path)


def run(conv2d, case, tensors, *, guard=True):
    """Make ``case``'s call of ``conv2d`` on ``tensors``; ``guard``: unless a known
    crash of this torch (an applying registry entry) holds for it."""
    device = tensors[0].device.type
    state = environment(device)
    if guard:
        crash = registry.active().crash_for({**case.facts(), **state})
        if crash is not None:
            return Outcome(not_run=crash, environment=state)
    if _call_log is not None:
        _call_log.starting(str(case))
    try:
        return Outcome(output=case.invoke(conv2d, tensors), environment=state)
    except Exception as error:  # any exception is an observation; the judge decides
        return Outcome(error=error, environment=state)
    finally:
        if _call_log is not None:
            _call_log.finished()


def _differentiate(output, leaves, double):
    """Backpropagate ones through ``output`` (and, ``double``, through its gradients)."""
    if not output.requires_grad:
        return
    grad = torch.ones_like(output, requires_grad=double)
    firsts = torch.autograd.grad(output, leaves, grad, create_graph=double, allow_unused=True)
    firsts = [first for first in firsts if first is not None and first.requires_grad]
    if double and firsts:
        torch.autograd.grad(firsts, leaves + [grad], [torch.ones_like(f) for f in firsts],
                            allow_unused=True)


def main(argv=None):
    """Make one case's call, unguarded; exit 0 whether it returned or raised."""
    from case import parse
    from suite.device import FLAG_DEFAULTS, apply_flags
    from suite.implementation import load_implementation
    parser = argparse.ArgumentParser(prog="python -m suite.run")
    parser.add_argument("descriptor")
    parser.add_argument("--conv2d-impl", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--onednn", choices=("on", "off"), default="on")
    parser.add_argument("--through", choices=("forward", "backward", "double_backward"),
                        default="forward", help="how far to differentiate the call")
    for name, default in FLAG_DEFAULTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=default)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.torch_threads)
    torch.backends.mkldnn.enabled = args.onednn == "on"
    apply_flags(argparse.Namespace(getoption=lambda name: getattr(args, name)))
    case = parse(args.descriptor)
    tensors = case.tensors(device=args.device, requires_grad=args.through != "forward")
    outcome = run(load_implementation(args.conv2d_impl), case, tensors, guard=False)
    if args.through != "forward" and isinstance(outcome.output, torch.Tensor):
        _differentiate(outcome.output, [t for t in tensors if t is not None],
                       double=args.through == "double_backward")
    print("raised" if outcome.error is not None else "returned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
