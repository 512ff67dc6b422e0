"""Bugs in how a conv2d reads its arguments: right for one spelling of the call only.

Before cases carried a spelling (case/spellings.py) every property wrote
``conv2d(input, weight, bias, stride=..., padding=..., dilation=...,
groups=...)``, so a wrong default or a bias read only by name passed (one
read only by position was caught).  ``caught_by`` names the properties that
fail on it in both the ``ci`` and the ``selfcheck`` profile.
"""

import torch.nn.functional as F

from implementations.broken import broken

EXACT, FLOAT = "forward.exact", "forward.float"
SUBNORMAL, NO_OVERFLOW, HALF_OVERFLOW = "edges.subnormal", "edges.no_overflow", "edges.half_overflow"


@broken(caught_by=[EXACT, FLOAT, HALF_OVERFLOW])
def defaults_to_stride_two(input, weight, bias=None, stride=2, padding=0, dilation=1, groups=1):
    """Has a default stride of 2 (right whenever the stride is passed)."""
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=[EXACT, FLOAT, SUBNORMAL, NO_OVERFLOW, HALF_OVERFLOW])
def ignores_a_positional_bias(input, weight, *positional, **keywords):
    """Reads the bias only by name: a bias passed by position is dropped (a wrapper that
    forwards ``*args`` after the bias slot)."""
    names = ("stride", "padding", "dilation", "groups")
    arguments = dict(zip(names, positional[1:]))
    arguments.update(keywords)
    return F.conv2d(input, weight, **arguments)


@broken(caught_by=[EXACT, FLOAT, SUBNORMAL, NO_OVERFLOW])
def ignores_a_keyword_bias(input, weight, *positional, **keywords):
    """Reads the bias only by position: ``bias=b`` is dropped (a wrapper that forwards
    ``**kwargs`` without it)."""
    keywords.pop("bias", None)
    return F.conv2d(input, weight, *positional, **keywords)
