"""A per-sample problem as a case: N samples, each with its own weight.

Shapes: input ``(N, C, H, W)``, weight ``(N, O, C/g, kh, kw)``, bias ``(N, O)``
or none; stride, padding, dilation and groups ``g`` are those of every
sample's own convolution; ``formulation`` names the way the implementation
is asked to compute it (case/formulations.py).  The descriptor is the case
descriptor with a 5-D weight, a 2-D bias and the formulation:

    in3x4x7x7:w3x2x2x3x3:b3x2:s1:p0:d1:g2:float32:contiguous:exact:seed5:grouped_trick

The data are those of the one grouped call the grouped trick makes
(``as_grouped_call``: input ``(1, N*C, H, W)``, weight ``(N*O, C/g, kh, kw)``,
``groups = N*g``), reshaped.  Every output element of that call is the same
dot product as in the per-sample problem, so case/data.py's tiers (exact-tier
thinning, float-tier weight scaling) and the rounding bound hold element for
element, without a copy of their logic.  Only the data and the bound come
from there: the answer is reference/per_sample.py's, sample by sample.
"""

import dataclasses

from reference import per_sample as per_sample_reference
from reference.numerics import ErrorModel

from case.features import TENSORS
from case.formulations import FORMULATIONS
from case.model import DTYPES, TIERS, Case, Conv2dCase


@dataclasses.dataclass(frozen=True, repr=False)
class PerSampleCase(Case):
    """``out[i] = conv2d(input[i], weight[i], bias[i], stride, padding, dilation, groups)``,
    computed by ``formulation``."""

    input_shape: tuple
    weight_shape: tuple
    bias_shape: object = None
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    dtype: str = "float32"
    tier: str = "exact"
    seed: int = 0
    formulation: str = "loop"

    kind = "per_sample"
    layout = "contiguous"  # the descriptor's layout field; per-sample tensors are contiguous

    def __post_init__(self):
        batch = self.input_shape[0] if len(self.input_shape) == 4 else None
        if batch is None or len(self.weight_shape) != 5 or self.weight_shape[0] != batch:
            raise ValueError(f"input {self.input_shape} and weight {self.weight_shape}: a per-"
                             "sample problem has input (N, C, H, W), weight (N, O, C/g, kh, kw)")
        if self.bias_shape is not None and tuple(self.bias_shape) != (batch, self.weight_shape[1]):
            raise ValueError(f"bias {self.bias_shape}: should be (N, O) = "
                             f"{(batch, self.weight_shape[1])}")
        if self.dtype not in DTYPES or self.tier not in TIERS or (
                self.formulation not in FORMULATIONS):
            raise ValueError(f"dtype={self.dtype!r}, tier={self.tier!r}, formulation="
                             f"{self.formulation!r}: dtype is one of {DTYPES}, tier one of "
                             f"{TIERS}, formulation one of {tuple(FORMULATIONS)}")

    @classmethod
    def from_sample(cls, sample, batch, formulation="loop"):
        """``batch`` samples, each of them the problem of the batch-1 case ``sample``."""
        out_channels = sample.weight_shape[0]
        return cls(input_shape=(batch, *sample.input_shape[1:]),
                   weight_shape=(batch, *sample.weight_shape),
                   bias_shape=(batch, out_channels) if sample.has_bias else None,
                   stride=sample.stride, padding=sample.padding, dilation=sample.dilation,
                   groups=sample.groups, dtype=sample.dtype, tier=sample.tier, seed=sample.seed,
                   formulation=formulation)

    @classmethod
    def from_fields(cls, fields):
        """The case of a parsed descriptor's fields (contiguous, one dtype)."""
        if fields.pop("layout", "contiguous") != "contiguous":
            raise ValueError("per-sample problems are contiguous")
        for other in ("weight_dtype", "bias_dtype"):
            if fields.pop(other, None) is not None:
                raise ValueError("one dtype for input, weight and bias")
        if fields.pop("padding_mode", "zeros") != "zeros":
            raise ValueError("per-sample problems pad with zeros")
        if fields.pop("spelling", "mixed") != "mixed" or any(
                fields.pop(f"{tensor}_data", None) is not None for tensor in TENSORS):
            raise ValueError("a per-sample problem takes the seed's data and its "
                             "formulation's calls: no data features or spelling")
        return cls(**fields)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def batch(self):
        return self.input_shape[0]

    @property
    def dtypes(self):
        return (self.dtype, self.dtype, self.dtype if self.has_bias else None)

    def sample_case(self):
        """The call of one sample (batch 1): its geometry is every sample's."""
        return Conv2dCase(input_shape=(1, *self.input_shape[1:]),
                          weight_shape=self.weight_shape[1:],
                          bias_shape=self.bias_shape[1:] if self.has_bias else None,
                          dtype=self.dtype, tier=self.tier, seed=self.seed, **self.arguments)

    def as_grouped_call(self):
        """The single grouped call of the grouped trick, as an ordinary case."""
        n, channels, height, width = self.input_shape
        out_channels = self.weight_shape[1]
        return Conv2dCase(input_shape=(1, n * channels, height, width),
                          weight_shape=(n * out_channels, *self.weight_shape[2:]),
                          bias_shape=(n * out_channels,) if self.has_bias else None,
                          stride=self.stride, padding=self.padding, dilation=self.dilation,
                          groups=n * self.groups, dtype=self.dtype, tier=self.tier,
                          seed=self.seed)

    def inner_calls(self):
        """The ordinary calls the formulation makes, as cases (for a declared domain)."""
        if self.formulation == "loop":
            return [self.sample_case()]
        if self.formulation == "im2col_einsum":  # the depthwise one-hot call of receptive_fields
            channels, (kh, kw) = self.input_shape[1], self.weight_shape[-2:]
            return [Conv2dCase(input_shape=self.input_shape,
                               weight_shape=(channels * kh * kw, 1, kh, kw),
                               dtype=self.dtype, tier=self.tier, seed=self.seed,
                               **{**self.arguments, "groups": channels})]
        return [self.as_grouped_call()]  # the grouped trick, and vmap's batch rule

    def geometry(self):
        """Every sample's geometry; raises ConvArgumentError if a sample's call is invalid."""
        return self.sample_case().geometry()

    @property
    def dot_length(self):
        return self.geometry().dot_length

    @property
    def output_shape(self):
        """``(N, O, out_h, out_w)``."""
        return (self.batch, *self.geometry().output_shape[1:])

    def arrays(self):
        """(input, weight, bias) in the per-sample shapes, float64, exactly
        representable in ``dtype``; bias is None without a bias."""
        input, weight, bias = self.as_grouped_call().arrays()
        return (input.reshape(self.input_shape), weight.reshape(self.weight_shape),
                None if bias is None else bias.reshape(self.bias_shape))

    def grouped_arrays(self, arrays):
        """``arrays`` of this problem in the shapes of ``as_grouped_call()``."""
        grouped = self.as_grouped_call()
        shapes = (grouped.input_shape, grouped.weight_shape, grouped.bias_shape)
        return tuple(None if array is None else array.reshape(shape)
                     for array, shape in zip(arrays, shapes))

    def tensors(self, arrays=None, device="cpu", requires_grad=False):
        """``arrays`` (default ``self.arrays()``) as contiguous torch tensors of ``dtype``."""
        arrays = self.arrays() if arrays is None else arrays
        # materialise reads only the case's dtypes and layout (contiguous), not its shapes.
        return self.sample_case().tensors(arrays, device=device, requires_grad=requires_grad)

    def invoke(self, conv2d, tensors):
        """The formulation, calling ``conv2d`` for every convolution it makes."""
        return FORMULATIONS[self.formulation](conv2d, *tensors, **self.arguments)

    def expected(self, arrays):
        """The reference applied sample by sample."""
        return per_sample_reference.conv2d(*arrays, **self.arguments)

    def grad_output(self, arrays):
        """case/data.py's grad_output for the one grouped call, reshaped: each gradient
        element of that call is the same sum as here, so the exact tier's thinning
        (every gradient sum exact) holds too."""
        grouped = self.as_grouped_call()
        return grouped.grad_output(self.grouped_arrays(arrays)).reshape(self.output_shape)

    def bound(self, arrays, expected, model):
        """The one grouped call's bound, reshaped: each element is that call's element
        (the same dot product, the same tile, the same plane)."""
        grouped = self.as_grouped_call()
        return grouped.bound(self.grouped_arrays(arrays), expected.reshape(grouped.output_shape),
                             model).reshape(expected.shape)

    def overflow(self, arrays, expected, bound, model=ErrorModel()):
        """The one grouped call's overflow regions, reshaped (as ``bound``)."""
        grouped = self.as_grouped_call()
        regions = grouped.overflow(self.grouped_arrays(arrays),
                                   expected.reshape(grouped.output_shape),
                                   bound.reshape(grouped.output_shape), model)
        if regions is None:
            return None
        return type(regions)(*(mask.reshape(expected.shape)
                               for mask in (regions.open, regions.must, regions.may)))

    def output_memory_format(self, tensors):
        """None: a formulation's layout is its own business; its values are what count."""
        return None

    def facts(self):
        """What a condition may say about this problem: case/conditions.py's ``CASE_NAMES``."""
        facts = self.sample_case().facts()
        facts.update(kind=self.kind, batch=self.batch, formulation=self.formulation,
                     input_shape=self.input_shape, weight_shape=self.weight_shape)
        return facts
