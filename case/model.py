"""One conv2d problem, as a value: the unit every part of the suite passes around.

A strategy draws a case; ``case.arrays()`` builds its data from its seed;
``case.tensors()`` materialises them; ``case.invoke`` makes its call on the
implementation; ``case.expected`` and ``case.bound`` say what a correct answer
is; ``str(case)`` is the one-line descriptor that ``case.parse`` reads back,
so any failure can be replayed anywhere.

Every kind of case is a ``Case``: ``Conv2dCase`` (one call of conv2d, or of
nn.Conv2d with a padding mode, possibly derived from another case by a
transform) and ``PerSampleCase`` (case/per_sample.py: a weight per sample,
computed by one of the formulations).  The judge (suite/judge.py) and every
tool that replays a case need nothing else.
"""

import dataclasses

import numpy as np

import reference
from reference import memory_format
from reference.forward import conv2d_resolved
from reference.numerics import magnitude_resolved
from reference.rules import ConvArgumentError

from case import descriptor, features, spellings
from case.context import AUTOCAST_DTYPES, CallContext
from case.context import DEFAULT as DEFAULT_CONTEXT
from case.data import EXACT_RANGE, case_arrays, grad_output_array
from case.features import DEFAULT as PLAIN_DATA

# bool only appears in invalid cases: conv2d must reject it.
DTYPES = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128", "bool")
LAYOUTS = ("contiguous", "channels_last", "channels_last_input", "channels_last_weight",
           "sliced_input", "transposed_input", "expanded_weight", "permuted_input",
           "offset_input", "sliced_weight", "offset_weight", "transposed_weight", "sliced_bias",
           "offset_bias", "expanded_bias")
# Layouts with NHWC input strides, which a 3-D (unbatched) input cannot have.
BATCHED_ONLY_LAYOUTS = ("channels_last", "channels_last_input", "permuted_input")
# Layouts that are about the bias's view: a call without a bias has none.
BIAS_LAYOUTS = tuple(layout for layout in LAYOUTS if layout.endswith("_bias"))


def fitting_layouts(layouts, *, batched, has_bias):
    """The ``layouts`` a call can have: NHWC input strides need a batched input, a
    bias's view a bias."""
    return [layout for layout in layouts if (batched or layout not in BATCHED_ONLY_LAYOUTS)
            and (has_bias or layout not in BIAS_LAYOUTS)]


TIERS = ("exact", "float")
# nn.Conv2d's padding modes; 'zeros' is F.conv2d's own.
PADDING_MODES = tuple(reference.forward.PADDING_MODES)


class Case:
    """What every kind of case provides: its call's arguments, data, reference answer,
    rounding bound and printed form.  Subclasses hold the fields."""

    context = DEFAULT_CONTEXT  # how the call is made (case/context.py); Conv2dCase varies it

    @property
    def arguments(self):
        """The keyword arguments of the call besides the tensors."""
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    @property
    def has_bias(self):
        return self.bias_shape is not None

    def rule(self):
        """The rule the call breaks (``reference.Rule``), or None for a valid call."""
        try:
            self.geometry()
        except ConvArgumentError as error:
            return error.rule
        return None

    def __str__(self):
        return descriptor.format_case(self)

    def __repr__(self):
        return f"parse({str(self)!r})"

    def _repr_pretty_(self, printer, cycle):
        """Hypothesis prints falsifying examples with this: the descriptor."""
        printer.text(repr(self))


@dataclasses.dataclass(frozen=True, repr=False)
class Conv2dCase(Case):
    """The shapes, arguments and data recipe of one conv2d call.

    Arguments keep the form they are passed in (``1``, ``(1,)``, ``[1, 2]``,
    ``'same'``), because the form is part of what is tested.  The weight and
    bias dtypes default to the input's; they differ only in invalid cases.
    ``padding_mode`` other than 'zeros' makes the call through nn.Conv2d.
    ``spelling`` is how the call is written (case/spellings.py; nn.Conv2d
    writes its own, so a padding mode keeps the default); ``input_data``,
    ``weight_data`` and ``bias_data`` are the data features that shape the
    seed's values (case/features.py; no bias, no bias features).
    ``context`` is how the call is made beyond its arguments and data
    (case/context.py: which tensors require grad, the grad_output's layout,
    threads, grad mode or autocast, calls made before it).
    ``derived_from`` is ``(base, transform)`` for a derived call
    (case/transforms.py); use ``base.derive(transform)`` to make one.
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
    padding_mode: str = "zeros"
    spelling: str = "mixed"
    input_data: features.TensorFeatures = PLAIN_DATA
    weight_data: features.TensorFeatures = PLAIN_DATA
    bias_data: features.TensorFeatures = PLAIN_DATA
    context: CallContext = DEFAULT_CONTEXT
    derived_from: object = None

    def __post_init__(self):
        for name, allowed in (("dtype", DTYPES), ("layout", LAYOUTS), ("tier", TIERS),
                              ("padding_mode", PADDING_MODES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} is not one of {allowed}")
        for name in ("weight_dtype", "bias_dtype"):
            if getattr(self, name) == self.dtype:
                object.__setattr__(self, name, None)  # one spelling for "same as input"
        if self.bias_shape is None:
            object.__setattr__(self, "bias_dtype", None)  # no bias, no bias dtype
            object.__setattr__(self, "bias_data", PLAIN_DATA)  # nor bias features
        if self.spelling not in spellings.SPELLINGS:
            raise ValueError(f"spelling={self.spelling!r} is not one of {spellings.SPELLINGS}")
        if self.padding_mode != "zeros":
            object.__setattr__(self, "spelling", "mixed")  # nn.Conv2d spells its own call
        for name in ("input_data", "weight_data", "bias_data"):
            if not isinstance(getattr(self, name), features.TensorFeatures):
                raise ValueError(f"{name}={getattr(self, name)!r} is not TensorFeatures")
        if self.tier == "exact" and self.dtype in EXACT_RANGE and not self.plain_data:
            features.check_exact(self, EXACT_RANGE[self.dtype])
        if not isinstance(self.context, CallContext):
            raise ValueError(f"context={self.context!r} is not a CallContext")
        if self.context.mode == "autocast" and self.dtype not in AUTOCAST_DTYPES:
            raise ValueError(f"context mode=autocast calls float32 tensors under autocast to the "
                             f"case's dtype, which must be one of {AUTOCAST_DTYPES}, not "
                             f"{self.dtype!r}")

    @property
    def plain_data(self):
        """Whether every tensor has default features (the data of the seed alone)."""
        return all(data.is_default for data in (self.input_data, self.weight_data,
                                                self.bias_data))

    kind = "conv2d"

    @property
    def dtypes(self):
        """(input, weight, bias) dtype names; bias is None without a bias."""
        bias = (self.bias_dtype or self.dtype) if self.has_bias else None
        return (self.dtype, self.weight_dtype or self.dtype, bias)

    @property
    def base(self):
        """The case this one is derived from (itself if it is not derived)."""
        return self if self.derived_from is None else self.derived_from[0]

    @property
    def transform(self):
        return None if self.derived_from is None else self.derived_from[1]

    def derive(self, transform):
        """The call ``transform`` derives from this case, with the data it derives."""
        return dataclasses.replace(self, **transform.fields(self), derived_from=(self, transform))

    def geometry(self):
        """The reference's resolved geometry; raises ConvArgumentError if invalid.
        Resolved once per case (a case is immutable): every step of a property asks."""
        resolved = self.__dict__.get("_resolved")
        if resolved is None:
            try:
                resolved = reference.resolve(self.input_shape, self.weight_shape,
                                             self.bias_shape, dtypes=self.dtypes, **self.arguments)
            except ConvArgumentError as error:
                resolved = error
            self.__dict__["_resolved"] = resolved
        if isinstance(resolved, ConvArgumentError):
            raise resolved.with_traceback(None)
        return resolved

    @property
    def dot_length(self):
        return self.geometry().dot_length

    @property
    def output_shape(self):
        return self.geometry().output_shape

    def arrays(self):
        """(input, weight, bias) as float64/complex128 NumPy arrays whose values
        are exactly representable in the case's dtypes."""
        if self.derived_from is not None:
            base, transform = self.derived_from
            return transform.arrays(base, base.arrays())
        return case_arrays(self)

    def tensors(self, arrays=None, device="cpu", requires_grad=False):
        """``arrays`` (default: ``self.arrays()``) as torch tensors in the case's
        dtypes and layout."""
        from case.tensors import materialise
        arrays = self.arrays() if arrays is None else arrays
        return materialise(self, arrays, device=device, requires_grad=requires_grad)

    def invoke(self, conv2d, tensors):
        """The call itself, written as ``spelling`` says (case/spellings.py), or through
        nn.Conv2d for a padding mode other than 'zeros' (case/calls.py)."""
        if self.padding_mode != "zeros":
            from case.calls import with_padding_mode
            return with_padding_mode(conv2d, tensors, self.arguments, self.padding_mode)
        return spellings.call(conv2d, self.spelling, tensors, self.arguments)

    def describe_call(self, tensor_names):
        """The call as ``invoke`` writes it, ``tensor_names`` standing for the tensors."""
        if self.padding_mode != "zeros":
            return (f"nn.Conv2d(padding_mode={self.padding_mode!r}, "
                    f"{', '.join(f'{k}={v!r}' for k, v in self.arguments.items())})"
                    f"({tensor_names[0]})")
        return spellings.describe(self.spelling, tensor_names, self.arguments)

    def expected(self, arrays):
        """The reference's answer for the very values the implementation saw (the call's
        geometry is resolved already: ``arrays`` have the case's shapes)."""
        return conv2d_resolved(self.geometry(), *arrays, self.padding_mode)

    def magnitude(self, arrays):
        return magnitude_resolved(self.geometry(), *arrays, self.padding_mode)

    def bound(self, arrays, expected, model):
        """Per element, the largest error a correct implementation may make under
        ``model`` (``reference.ErrorModel``)."""
        bias = None if arrays[2] is None else arrays[2][:, None, None]
        magnitude = self.magnitude(arrays)
        padded, geometry = self._zero_padded(arrays)
        return model.bound(magnitude, expected, dot_length=geometry.dot_length, dtype=self.dtype,
                           bias=bias, arrays=padded, geometry=geometry)

    def overflow(self, arrays, expected, bound, model=reference.ErrorModel()):
        """Where a correct result may or must be infinite under ``model``
        (reference.numerics.Overflow), or None where the data are too small for
        overflow to arise."""
        from reference import numerics
        if self.dtype not in numerics.FORMATS:
            return None
        largest = [0.0 if a is None or not a.size else float(np.abs(a).max()) for a in arrays]
        with np.errstate(invalid="ignore"):
            if not np.isfinite(largest).all():
                return None
            direct = numerics.could_overflow(largest, dot_length=self.dot_length,
                                             dtype=self.dtype)
        regions = None
        if direct:
            bias = None if arrays[2] is None else arrays[2][:, None, None]
            regions = numerics.overflow_regions(self.magnitude(arrays), expected, bound,
                                                dot_length=self.dot_length, dtype=self.dtype,
                                                bias=bias)
        padded, geometry = self._zero_padded(arrays)
        transform = model.transform_open(expected, dtype=self.dtype, arrays=padded,
                                         geometry=geometry)
        if transform is None or not transform.any():
            return regions
        if regions is None:
            closed = np.zeros(expected.shape, dtype=bool)
            regions = numerics.Overflow(closed, closed, closed)
        return regions.opened(transform)

    def _zero_padded(self, arrays):
        """(arrays, geometry) of the same call with its padding mode's rows and columns
        already in the input, so that what is left is zero padding (none)."""
        if self.padding_mode == "zeros":
            return arrays, self.geometry()
        input, weight, bias = arrays
        geometry = self.geometry()
        top, bottom, left, right = geometry.padding
        pads = [(0, 0)] * (input.ndim - 2) + [(top, bottom), (left, right)]
        input = np.pad(input, pads, mode=reference.forward.PADDING_MODES[self.padding_mode])
        same = dataclasses.replace(self, input_shape=input.shape, padding=0, padding_mode="zeros",
                                   derived_from=None)
        return (input, weight, bias), same.geometry()

    def grad_output(self, arrays):
        """A grad_output to backpropagate through the call (case/data.py)."""
        return grad_output_array(self, arrays)

    def output_memory_format(self, tensors):
        """The memory format the result must have (reference/memory_format.py); None
        where the specification leaves it open (nn.Conv2d's padding modes pad first)."""
        if self.padding_mode != "zeros":
            return None
        input, weight, _ = tensors
        return memory_format.output_memory_format(tuple(input.shape), input.stride(),
                                                  tuple(weight.shape), weight.stride())

    @classmethod
    def from_fields(cls, fields):
        """The case of a parsed descriptor's fields."""
        return cls(**fields)

    def replace(self, **changes):
        """Another call with ``changes``: not derived, whatever this one is."""
        return dataclasses.replace(self, derived_from=None, **changes)

    def facts(self):
        """What a condition may say about this call: case/conditions.py's ``CASE_NAMES``."""
        input_shape, weight_shape = self.input_shape, self.weight_shape
        input_dtype, weight_dtype, bias_dtype = self.dtypes
        try:
            geometry = self.geometry()
        except ConvArgumentError:
            geometry = None
        return dict(
            kind=self.kind, rule=None if geometry is not None else self.rule().value,
            batch=input_shape[0] if len(input_shape) == 4 else None,
            in_channels=input_shape[-3] if len(input_shape) >= 3 else None,
            out_channels=weight_shape[0] if weight_shape else None,
            kernel=tuple(weight_shape[2:]), input_shape=input_shape, weight_shape=weight_shape,
            bias_shape=self.bias_shape, has_bias=self.has_bias,
            stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups,
            dtype=input_dtype, weight_dtype=weight_dtype, bias_dtype=bias_dtype,
            layout=self.layout, tier=self.tier, padding_mode=self.padding_mode,
            input_channels_last=self.layout in BATCHED_ONLY_LAYOUTS,
            weight_channels_last=self.layout in ("channels_last", "channels_last_weight"),
            transform=None if self.transform is None else self.transform.name,
            formulation=None, geometry=geometry, spelling=self.spelling, context=self.context,
            exponents=features.exponents_of(self),
            subnormal_scale=features.reaches_subnormals(self))

