"""What the ``--conv2d-impl`` presets run: the ways people run torch's conv2d.

A name without ``:`` selects one of these instead of a ``MODULE:ATTR`` (the
table of names is ``PRESETS`` in suite/implementation.py):

- ``eager``: ``torch.nn.functional.conv2d`` as it is (the default);
- ``eager-no-onednn``: the same with oneDNN (mkldnn) disabled, so float32 on
  the CPU takes torch's own slow path;
- ``compile``: ``torch.compile(F.conv2d)`` (inductor; on the CPU it builds C++
  with the machine's compiler).  Slow to test, so never part of the default
  run: select it for single files.  Measured on torch 2.13.0, 2 CPU cores:
  the first call compiles for about 19 s (cold inductor cache), each new
  shape or argument combination for 0.2 to 14 s (typically 1 to 3 s);
  tests/test_forward_values.py took 53 s (warm inductor cache) instead of
  1 s, tests/test_gradients.py 8 minutes (60 examples per property, ci
  profile), so the whole suite takes about an hour;
- ``module``: an ``nn.Conv2d`` built from the call's arguments and run with
  the given weight and bias as its parameters (so gradients reach them).
  It also takes ``padding_mode``, which tests/test_padding_modes.py uses.
"""

import functools

from case.calls import module_conv2d


def module(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           padding_mode="zeros"):
    """``nn.Conv2d(...)(input)`` with ``weight`` and ``bias`` as its parameters
    (case/calls.py).  Its own argument checks apply: nn.Conv2d raises ValueError
    at construction where F.conv2d raises RuntimeError (bad padding string,
    'same' with a stride, groups < 1 or not dividing the channels), so the
    argument-error properties fail for those rules."""
    return module_conv2d(input, weight, bias, stride, padding, dilation, groups, padding_mode)


@functools.cache
def _compiled(dynamic):
    from implementations.compiled import compiled_conv2d
    return compiled_conv2d(dynamic=dynamic)


def compiled(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``torch.compile(F.conv2d, dynamic=True)``, compiled on first use (not at import)."""
    return _compiled(True)(input, weight, bias, stride, padding, dilation, groups)


def compiled_static(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``torch.compile(F.conv2d, dynamic=False)``: one graph per shape."""
    return _compiled(False)(input, weight, bias, stride, padding, dilation, groups)


def _compile_unavailable():
    """Why this torch cannot run the compile presets (their settings), or None."""
    from implementations.compiled import unavailable
    reason = unavailable()
    return None if reason is None else f"the compile presets need settings it lacks: {reason}"


compiled.unavailable = compiled_static.unavailable = _compile_unavailable

