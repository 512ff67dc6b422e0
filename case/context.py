"""How a call is made beyond its arguments and data: the context programs call conv2d in.

Production calls conv2d with only some tensors requiring grad, hands backward
gradients of every layout, runs several threads, calls under inference mode or
autocast, and calls after thousands of other calls; each is another code path
inside a kernel.  A case's ``CallContext`` says which (the defaults are how a
plain test calls it), is printed in its descriptor as ``context(...)`` and is
applied wherever the call is made (suite/run.py), so a replay makes the very
same call:

- ``requires_grad``: the tensors that require grad when a property
  differentiates the call (default: all it has);
- ``grad_output``: the layout of the gradient handed to backward:
  ``contiguous``, ``expanded`` (one value, stride 0, as ``out.sum()`` and
  ``out.mean()`` hand it), ``other_format`` (channels_last for a contiguous
  output, contiguous for a channels_last one), ``strided`` (every other
  column of a wider tensor) or ``offset`` (a nonzero storage offset);
- ``threads``: torch's intra-op threads for the call (default: the run's);
- ``mode``: ``grad`` (as is), ``no_grad``, ``inference`` (torch.inference_mode)
  or ``autocast``: float32 tensors holding values of the case's dtype, called
  under ``torch.autocast`` to that dtype (bfloat16 or float16);
- ``after``: that many related calls are made first (the same shapes with
  other data, layout, dtype or arguments: case/history.py), so the answer
  shows whether it depends on what the process computed before.
"""

import dataclasses
import re

from case.features import TENSORS

GRAD_OUTPUT_LAYOUTS = ("contiguous", "expanded", "other_format", "strided", "offset")
MODES = ("grad", "no_grad", "inference", "autocast")
AUTOCAST_DTYPES = ("bfloat16", "float16")


class ContextError(ValueError):
    """A context that cannot be made; the message names the field."""


@dataclasses.dataclass(frozen=True)
class CallContext:
    requires_grad: tuple = None
    grad_output: str = "contiguous"
    threads: int = None
    mode: str = "grad"
    after: int = 0

    def __post_init__(self):
        if self.requires_grad is not None:
            if not self.requires_grad or any(name not in TENSORS for name in self.requires_grad):
                raise ContextError(f"requires_grad={self.requires_grad!r}: a non-empty subset of "
                                   f"{TENSORS}")
            object.__setattr__(self, "requires_grad",
                               tuple(name for name in TENSORS if name in self.requires_grad))
        if self.grad_output not in GRAD_OUTPUT_LAYOUTS:
            raise ContextError(f"grad_output={self.grad_output!r}: one of {GRAD_OUTPUT_LAYOUTS}")
        if self.mode not in MODES:
            raise ContextError(f"mode={self.mode!r}: one of {MODES}")
        for name in ("threads", "after"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < (name == "threads")):
                raise ContextError(f"{name}={value!r}: a whole number"
                                   f"{' >= 1' if name == 'threads' else ''}")

    @property
    def is_default(self):
        return self == DEFAULT

    def requiring_grad(self, present):
        """Which of the ``present`` tensors (names) require grad in a differentiated call."""
        wanted = TENSORS if self.requires_grad is None else self.requires_grad
        return tuple(name for name in present if name in wanted)

    def token(self):
        """``context(...)`` for the descriptor; '' for the default context."""
        parts = []
        if self.requires_grad is not None:
            parts.append(f"grad={'+'.join(self.requires_grad)}")
        for field in ("grad_output", "threads", "mode", "after"):
            value, default = getattr(self, field), getattr(DEFAULT, field)
            if value != default:
                parts.append(f"{field}={value}")
        return f"context({','.join(parts)})" if parts else ""

    @classmethod
    def from_token(cls, text):
        """The context a token's parenthesised part spells (``grad=input+bias,threads=3``)."""
        fields, seen = {}, set()
        for part in text.split(",") if text else ():
            name, equals, value = part.partition("=")
            if not equals or name in seen or name not in ("grad", "grad_output", "threads",
                                                            "mode", "after"):
                raise ContextError(f"{part!r} is not grad=..., grad_output=..., threads=N, "
                                   f"mode=... or after=N, or it repeats one")
            seen.add(name)
            if name == "grad":
                fields["requires_grad"] = tuple(value.split("+"))
            elif name in ("threads", "after"):
                if not re.fullmatch(r"\d+", value):
                    raise ContextError(f"{part!r}: a whole number")
                fields[name] = int(value)
            else:
                fields[name] = value
        return cls(**fields)


DEFAULT = CallContext()
