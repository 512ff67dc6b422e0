"""``torch.compile(F.conv2d)`` set up to be tested: the ``compile`` presets' callables.

What a test run needs that torch.compile's defaults do not give:

- every call compiled, never eager: dynamo gives up after
  ``recompile_limit`` (8) recompilations of one function and silently runs
  eager from then on, so all but the first few graphs of a run would test
  eager; the limits are lifted;
- no donated buffers: gradcheck backpropagates twice through one graph
  (retain_graph), which a backward with donated buffers refuses;
- one call dynamo cannot trace leaves the next ones compiled: a graph break
  in this one-op frame (a functorch tensor of ``torch.func.jvp``, say) makes
  dynamo run the call eagerly, as torch.compile does, but also mark the
  frame's code to be skipped from then on, for every ``torch.compile`` of
  F.conv2d in the process (they share that code): each later property in
  the worker silently tested eager.  ``Compiled`` resets dynamo after such a
  call (``torch._dynamo.reset()``: the next calls compile again) and warns,
  naming the graph break, so a run says which calls ran eagerly;
- the graph a call gets depends on the call alone, not on the examples
  before it, so that ``python -m suite.replay`` compiles what the run did.
  ``dynamic=None`` (torch's default) compiles a shape statically and turns
  sizes symbolic only once another size arrives: history.  Here a graph is
  static (``dynamic=False``: one per shape) or symbolic from its first call
  (``dynamic=True``), and duck sizing is off.  With duck sizing, sizes that
  happen to be equal (N == C == kh, H == W) share one symbol, so a call with
  equal sizes reuses a graph compiled for unequal ones while its replay alone
  compiles a narrower graph (tests/meta/test_compile_preset.py shows both).
  Without it, a call that passes an earlier graph's guards takes the
  branches those guards record, so its replay compiles the same graph (the
  same FX code and guards; only the size hints inductor tunes loops for
  differ).

What stays specialised with ``dynamic=True`` (a guard each, so a new value
recompiles): dtype, strides (layout), requires_grad, bias or none, stride,
dilation and groups, a batch of 0 or 1, and torch's backend choice, which
conv's fake kernel evaluates (``_select_conv_backend``: batch below 16,
channel counts against the depthwise and oneDNN conditions).  So on the
suite's draws, where almost every example has another weight shape or
argument, dynamic shapes save few graphs (bench/compile_preset.py: 0.60
graphs per example against 0.65 static) and each costs more to build.
"""

import contextlib
import warnings

import torch
import torch.nn.functional as F

NO_LIMIT = 1 << 20
# The settings _patches changes, by module: torch 2.0 has no torch.fx.experimental._config,
# 2.5.1 no recompile limits by these names (2.15.0 has all; releases between not measured).
SETTINGS = {"torch._dynamo.config": ("recompile_limit", "accumulated_recompile_limit"),
            "torch._functorch.config": ("donated_buffer",),
            "torch.fx.experimental._config": ("use_duck_shape",)}


def unavailable():
    """Why this torch cannot run the compile presets as set up here, or None."""
    import importlib
    for module_name, names in SETTINGS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return f"torch {torch.__version__} has no {module_name}"
        missing = [name for name in names if not hasattr(module, name)]
        if missing:
            return f"torch {torch.__version__} has no {module_name}.{', '.join(missing)}"
    return None


def _patches(duck_shape):
    import torch._dynamo.config
    import torch._functorch.config
    import torch.fx.experimental._config
    return (torch._dynamo.config.patch(recompile_limit=NO_LIMIT,
                                       accumulated_recompile_limit=NO_LIMIT),
            torch._functorch.config.patch(donated_buffer=False),
            torch.fx.experimental._config.patch(use_duck_shape=duck_shape))


@contextlib.contextmanager
def settings(duck_shape=False):
    """The settings below, for the duration of a ``with`` block only."""
    with contextlib.ExitStack() as stack:
        for patch in _patches(duck_shape):
            stack.enter_context(patch)
        yield


def configure(duck_shape=False):
    """Lift the recompile limits, turn off donated buffers and (default) duck sizing,
    for the rest of the process: dynamo's settings are process-wide."""
    for patch in _patches(duck_shape):
        patch.__enter__()


class CompileFallback(UserWarning):
    """torch.compile ran a conv2d call eagerly (a graph break)."""


def _graph_breaks():
    from torch._dynamo.utils import counters
    return dict(counters["graph_break"])


class Compiled:
    """``torch.compile(F.conv2d, dynamic=dynamic)`` that compiles again after a call
    that fell back to eager (above)."""

    def __init__(self, dynamic=True, duck_shape=False, backend="inductor"):
        configure(duck_shape)
        self.dynamic = dynamic
        self.function = torch.compile(F.conv2d, dynamic=dynamic, backend=backend)

    def __call__(self, *args, **kwargs):
        before = _graph_breaks()
        try:
            return self.function(*args, **kwargs)
        finally:
            after = _graph_breaks()
            if after != before:
                torch._dynamo.reset()
                reason = next(reason for reason in after if after[reason] != before.get(reason))
                warnings.warn(CompileFallback(
                    f"torch.compile ran a conv2d call eagerly (graph break: "
                    f"{reason.strip().splitlines()[0]}); dynamo reset, so later calls compile"),
                    stacklevel=2)


def compiled_conv2d(dynamic=True, duck_shape=False):
    """A fresh ``Compiled`` conv2d."""
    return Compiled(dynamic, duck_shape)
