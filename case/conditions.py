"""Conditions on a call: Python expressions over the names a case says about itself.

A registry entry's condition and behaviour (suite/registry.py) and a declared
domain's refusals (case/domain.py) are written as expressions such as
``dtype == 'bfloat16' and per_axis(stride)[1] > 1``.  They may use exactly
the names below: ``CASE_NAMES`` are the keys of every case's ``facts()``
(tests/meta pins that), ``ENVIRONMENT_NAMES`` the backend state a call runs
in (suite/run.py ``environment``), ``OUTCOME_NAMES`` what the call did
(suite/judge.py ``facts_of``).  An expression is compiled when its file is
read, so a misspelt name fails at once, naming where it stands.
"""

import ast

# What a case says about its call (every kind's ``facts()``):
# - kind: "conv2d" or "per_sample"; rule: the rule the reference says the call breaks
#   (reference.Rule's value), or None for a valid call;
# - batch (None when unbatched), in_channels, out_channels, kernel (kh, kw),
#   input_shape, weight_shape, bias_shape, has_bias;
# - stride, padding, dilation, groups: as passed (per_axis(x) gives the (height, width)
#   pair of an int or a 1- or 2-sequence); geometry: reference.Geometry (resolved:
#   output_size, padding per side, ...), None for an invalid call;
# - dtype, weight_dtype, bias_dtype; layout (case.LAYOUTS), input_channels_last,
#   weight_channels_last; tier ("exact", "float"); padding_mode (nn.Conv2d's);
# - transform: a derived call's transform (None, "crop", "slice", "split", "poison");
#   formulation: a per-sample case's formulation (None otherwise); spelling: how the call
#   is written (case/spellings.py); context: how the call is made (case/context.py:
#   context.mode, context.threads, context.requires_grad, ...);
# - exponents: the (input, weight, bias) scale exponents of the data; subnormal_scale:
#   whether the data's features reach the dtype's subnormal range (case/features.py).
CASE_NAMES = ("kind", "rule", "batch", "in_channels", "out_channels", "kernel", "bias_shape",
              "has_bias", "stride", "padding", "dilation", "groups", "dtype", "weight_dtype",
              "bias_dtype", "layout", "tier", "padding_mode", "input_channels_last",
              "weight_channels_last", "transform", "formulation", "input_shape", "weight_shape",
              "geometry", "spelling", "context", "exponents", "subnormal_scale")
# The backend state: device ("cpu", "cuda", "mps"), onednn (oneDNN enabled for the call),
# threads (torch's intra-op threads).
ENVIRONMENT_NAMES = ("device", "onednn", "threads")
# What the call did: raised (the exception's class name, or None), message, out_shape,
# out_dtype, problems (the aspects the judge found broken: returned, error, shape, dtype,
# memory_format, values, nonfinite_spread, nonfinite_missed, autograd: a backward or
# forward-mode pass raised, ``raised`` and ``message`` then being its exception's),
# transform_ratio (where the direct model found wrong values: the worst error/bound under
# the transform model, else None).
OUTCOME_NAMES = ("raised", "message", "out_shape", "out_dtype", "problems", "transform_ratio")
FUNCTIONS = {"per_axis": lambda value: (value, value) if isinstance(value, int) else
             tuple(value) * (2 // max(1, len(value))),
             "min": min, "max": max, "len": len, "any": any, "all": all, "set": set,
             "isinstance": isinstance, "tuple": tuple, "list": list, "int": int, "bool": bool}


class ConditionError(ValueError):
    """An expression that cannot be used; the message says why."""


def compile_condition(text, names, where):
    """``text`` compiled, using only ``names`` and ``FUNCTIONS``; ``where`` names it in
    the code object (for tracebacks) and ``ConditionError``'s message."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ConditionError(f"{error.msg}") from None
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    unknown = sorted(used - set(names) - set(FUNCTIONS))
    if unknown:
        raise ConditionError(f"unknown names {unknown}; use {', '.join(names)}")
    return compile(tree, f"<{where}>", "eval")


def holds(code, facts):
    """Whether the compiled condition holds for ``facts`` (a dict of the names)."""
    return bool(eval(code, {"__builtins__": {}, **FUNCTIONS}, facts))  # noqa: S307
