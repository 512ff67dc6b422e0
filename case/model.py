"""One conv2d problem, as a value: the unit every part of the suite passes around.

A strategy draws a ``Conv2dCase``; ``case.arrays()`` builds its data from its
seed; ``case.tensors()`` materialises them for the implementation; the
reference judges the result; ``str(case)`` is the one-line descriptor that
``Conv2dCase.parse`` reads back, so any failure can be replayed anywhere.
"""

import dataclasses

from case import descriptor
from case.data import case_arrays

# bool only appears in invalid cases: conv2d must reject it.
DTYPES = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128", "bool")
LAYOUTS = ("contiguous", "channels_last", "channels_last_input", "channels_last_weight",
           "sliced_input", "transposed_input", "expanded_weight")
TIERS = ("exact", "float")


class CallForm:
    """What a case model with stride, padding, dilation, groups and a bias
    shape says about its call, and how it prints: shared by Conv2dCase and
    per_sample's PerSampleCase."""

    @property
    def arguments(self):
        """The keyword arguments of the call besides the tensors."""
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    @property
    def has_bias(self):
        return self.bias_shape is not None

    def __str__(self):
        return descriptor.format_case(self)

    def __repr__(self):
        return f"{type(self).__name__}.parse({str(self)!r})"

    def _repr_pretty_(self, printer, cycle):
        """Hypothesis prints falsifying examples with this: the descriptor."""
        printer.text(repr(self))


@dataclasses.dataclass(frozen=True, repr=False)
class Conv2dCase(CallForm):
    """The shapes, arguments and data recipe of one conv2d call.

    Arguments keep the form they are passed in (``1``, ``(1,)``, ``[1, 2]``,
    ``'same'``), because the form is part of what is tested.  The weight and
    bias dtypes default to the input's; they differ only in invalid cases.
    """

    input_shape: tuple
    weight_shape: tuple
    bias_shape: object = None
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: object = 1
    dtype: str = "float32"
    layout: str = "contiguous"
    tier: str = "exact"
    seed: int = 0
    weight_dtype: object = None
    bias_dtype: object = None

    def __post_init__(self):
        for name, allowed in (("dtype", DTYPES), ("layout", LAYOUTS), ("tier", TIERS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} is not one of {allowed}")
        for name in ("weight_dtype", "bias_dtype"):
            if getattr(self, name) == self.dtype:
                object.__setattr__(self, name, None)  # one spelling for "same as input"
        if self.bias_shape is None:
            object.__setattr__(self, "bias_dtype", None)  # no bias, no bias dtype

    @property
    def dtypes(self):
        """(input, weight, bias) dtype names; bias is None without a bias."""
        bias = (self.bias_dtype or self.dtype) if self.has_bias else None
        return (self.dtype, self.weight_dtype or self.dtype, bias)

    def geometry(self):
        """The reference's resolved geometry; raises ConvArgumentError if invalid."""
        from reference import resolve
        return resolve(self.input_shape, self.weight_shape, self.bias_shape,
                       dtypes=self.dtypes, **self.arguments)

    def arrays(self):
        """(input, weight, bias) as float64/complex128 NumPy arrays whose values
        are exactly representable in the case's dtypes."""
        return case_arrays(self)

    def tensors(self, arrays=None, device="cpu", requires_grad=False):
        """``arrays`` (default: ``self.arrays()``) as torch tensors in the case's
        dtypes and layout."""
        from case.tensors import materialise
        arrays = self.arrays() if arrays is None else arrays
        return materialise(self, arrays, device=device, requires_grad=requires_grad)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @classmethod
    def parse(cls, text):
        """The case a descriptor names; ``DescriptorError`` names a bad field."""
        return cls(**descriptor.parse_fields(text, dtypes=DTYPES, layouts=LAYOUTS, tiers=TIERS))
