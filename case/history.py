"""The calls a process made before: related calls, derived from a case's seed.

Kernels keep state between calls (oneDNN caches prepared primitives, a
kernel may cache packed weights or a plan per shape).  A cache keyed too
coarsely answers a call with what it prepared for another one, and the calls
most likely to collide are those with the same tensor shapes: other data,
another layout, another dtype, another stride, padding or dilation.  A case
whose context says ``after = k`` is called after k such calls, chosen and
ordered by its seed, so the same descriptor replays the same history.
"""

import numpy as np

from case.context import DEFAULT
from case.model import LAYOUTS, fitting_layouts

# Stream of np.random.default_rng([case.seed, stream]) (case/data.py uses 0..3,
# case/tangents.py 11..13).
HISTORY_STREAM = 21
# dtypes of the same values' shapes a kernel may prepare for separately.
_OTHER_DTYPES = {"float32": ("float64", "bfloat16"), "float64": ("float32",),
                 "float16": ("float32",), "bfloat16": ("float32",),
                 "complex64": ("complex128",), "complex128": ("complex64",)}


def _other_data(case, rng):
    return case.replace(seed=int(rng.integers(2 ** 32)))


def _other_layout(case, rng):
    layouts = [layout for layout in fitting_layouts(LAYOUTS, batched=len(case.input_shape) == 4,
                                                    has_bias=case.has_bias)
               if layout != case.layout]
    return case.replace(layout=layouts[rng.integers(len(layouts))])


def _other_dtype(case, rng):
    others = _OTHER_DTYPES.get(case.dtype, ())
    if not others:
        return None
    return case.replace(dtype=others[rng.integers(len(others))], weight_dtype=None,
                        bias_dtype=None)


def _other_arguments(case, rng):
    """Another stride, padding or dilation for the same tensors, where one is valid."""
    geometry = case.geometry()
    choices = [dict(stride=tuple(s + 1 for s in geometry.stride)),
               dict(padding=0 if case.padding != 0 else 1),
               dict(dilation=tuple(d + 1 for d in geometry.dilation))]
    for at in rng.permutation(len(choices)):
        changed = dict(choices[at])
        if "stride" in changed and case.padding == "same":
            changed["padding"] = 0
        other = case.replace(**changed)
        if other.rule() is None:
            return other
    return None


VARIATIONS = (_other_data, _other_layout, _other_dtype, _other_arguments)


def prior_calls(case):
    """The related calls made before ``case``'s own (its context's ``after``), in order;
    each a plain case of its own (no context)."""
    if not case.context.after:
        return []
    rng = np.random.default_rng([case.seed, HISTORY_STREAM])
    plain = case.replace(context=DEFAULT)
    calls = []
    for _ in range(case.context.after):
        try:
            prior = VARIATIONS[rng.integers(len(VARIATIONS))](plain, rng)
        except ValueError:  # data features the other dtype cannot hold exactly
            prior = None
        if prior is not None:
            calls.append(prior)
    return calls
