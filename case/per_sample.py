"""One per-sample problem as a value: N samples, each with its own weight.

Shapes: input ``(N, C, H, W)``, weight ``(N, O, C/g, kh, kw)``, bias ``(N, O)``
or none; stride, padding, dilation and groups ``g`` are those of every
sample's own convolution.  The descriptor is the case descriptor with a 5-D
weight and a 2-D bias, so it prints, parses and replays like any other case:

    in3x4x7x7:w3x2x2x3x3:b3x2:s1:p0:d1:g2:float32:contiguous:exact:seed5

The data are those of the one grouped call the grouped trick makes
(``as_grouped_call``: input ``(1, N*C, H, W)``, weight ``(N*O, C/g, kh, kw)``,
``groups = N*g``), reshaped.  Every output element of that call is the same
dot product as in the per-sample problem, so case/data.py's tiers (exact-tier
thinning, float-tier weight scaling) hold element for element, without a copy
of their logic.  Only the data come from there: the reference still computes
sample by sample (per_sample/reference.py).
"""

import dataclasses

from case import DTYPES, LAYOUTS, TIERS, Conv2dCase, descriptor
from case.model import CallForm


@dataclasses.dataclass(frozen=True, repr=False)
class PerSampleCase(CallForm):
    """``out[i] = conv2d(input[i], weight[i], bias[i], stride, padding, dilation, groups)``."""

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

    layout = "contiguous"  # the descriptor's layout field; per-sample tensors are contiguous

    def __post_init__(self):
        batch = self.input_shape[0] if len(self.input_shape) == 4 else None
        if batch is None or len(self.weight_shape) != 5 or self.weight_shape[0] != batch:
            raise ValueError(f"input {self.input_shape} and weight {self.weight_shape}: a per-"
                             "sample problem has input (N, C, H, W), weight (N, O, C/g, kh, kw)")
        if self.bias_shape is not None and tuple(self.bias_shape) != (batch, self.weight_shape[1]):
            raise ValueError(f"bias {self.bias_shape}: should be (N, O) = "
                             f"{(batch, self.weight_shape[1])}")
        if self.dtype not in DTYPES or self.tier not in TIERS:
            raise ValueError(f"dtype={self.dtype!r}, tier={self.tier!r}: dtype is one of "
                             f"{DTYPES}, tier one of {TIERS}")

    @classmethod
    def from_sample(cls, sample, batch):
        """``batch`` samples, each of them the problem of the batch-1 case ``sample``."""
        out_channels = sample.weight_shape[0]
        return cls(input_shape=(batch, *sample.input_shape[1:]),
                   weight_shape=(batch, *sample.weight_shape),
                   bias_shape=(batch, out_channels) if sample.has_bias else None,
                   stride=sample.stride, padding=sample.padding, dilation=sample.dilation,
                   groups=sample.groups, dtype=sample.dtype, tier=sample.tier, seed=sample.seed)

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

    @property
    def output_shape(self):
        """``(N, O, out_h, out_w)``."""
        return (self.batch, *self.sample_case().geometry().output_shape[1:])

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

    @classmethod
    def parse(cls, text):
        """The problem a descriptor names; ``DescriptorError`` names a bad field."""
        fields = descriptor.parse_fields(text, dtypes=DTYPES, layouts=LAYOUTS, tiers=TIERS)
        if fields.pop("layout", "contiguous") != "contiguous":
            raise descriptor.DescriptorError(f"{text!r}: per-sample problems are contiguous")
        for other in ("weight_dtype", "bias_dtype"):
            if fields.pop(other, None) is not None:
                raise descriptor.DescriptorError(f"{text!r}: one dtype for input, weight and bias")
        try:
            return cls(**fields)
        except ValueError as error:
            raise descriptor.DescriptorError(str(error)) from None
