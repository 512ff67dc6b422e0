"""When is a computed convolution right?  The error models, and where overflow decides.

The bounds themselves: the direct one (a sum of the n products in any order,
``error_bound``) in reference/rounding.py, the transform one (Winograd, FFT)
in reference/transform_bound.py.  ``magnitude`` is the M both build on, and
``ErrorModel`` says which of them a correct implementation is held to.

Overflow (``overflow_regions``).  A correct conv2d may sum in any order, so
where some order's partial sum could overflow the accumulation
(``M * (1 + gamma_{n+1}) >= OVERFLOW``) the specification says nothing: one
order overflows, another does not (torch's float32 CPU kernels give 1.7e38
for ``2^127 + 2^127 - 2^127`` and inf for ``-2^127 + 2^127 + 2^127``).  The
suite never draws such data (strategies/data.py).  Everywhere else no
partial sum can overflow, so the accumulated value is finite and within the
bound; rounding it to a narrower output (float16 and bfloat16, which
accumulate in float32) gives +-inf exactly where it is beyond the output's
overflow threshold: certainly where ``|y| - bound`` is, possibly where
``|y| + bound`` is (or ``|y - b| + bound``, for a kernel that rounds the sum
before adding the bias).
"""

import dataclasses

import numpy as np

from reference.arguments import resolve
from reference.forward import conv2d_resolved
from reference.rounding import ACCUMULATION, FORMATS, UNIT_ROUNDOFF, error_bound, gamma
from reference.transform_bound import transform_error_bound, transform_overflow


def magnitude(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
              padding_mode="zeros"):
    """M = conv2d(|x|, |w|) + |b|: the size of the largest partial sum."""
    input, weight = np.asarray(input), np.asarray(weight)
    bias = None if bias is None else np.asarray(bias)
    geometry = resolve(input.shape, weight.shape, None if bias is None else bias.shape,
                       stride, padding, dilation, groups)
    return magnitude_resolved(geometry, input, weight, bias, padding_mode)


def magnitude_resolved(geometry, input, weight, bias=None, padding_mode="zeros"):
    """``magnitude`` for an already validated call."""
    return conv2d_resolved(geometry, np.abs(input), np.abs(weight),
                           None if bias is None else np.abs(bias), padding_mode)



def _without_subnormals(values, dtype):
    """``values`` with every component below ``dtype``'s smallest normal number set to 0."""
    if values is None:
        return None
    normal = FORMATS[dtype].smallest_normal
    flush = lambda part: np.where(np.abs(part) < normal, 0.0, part)  # noqa: E731
    if np.iscomplexobj(values):
        return flush(values.real) + 1j * flush(values.imag)
    return flush(values)


def flush_error(magnitude, arrays, geometry, *, dot_length, dtype):
    """Per element, how far flushing subnormals to zero (a kernel's declared policy:
    FTZ/DAZ) may move a result: the terms with a subnormal operand read as zero
    (``magnitude`` less the magnitude without them), each of the n products and the
    additions below the accumulation's smallest normal number flushed (less than it
    each), and the result below the output's smallest normal flushed."""
    kept = magnitude_resolved(geometry, *(_without_subnormals(a, dtype) for a in arrays))
    accumulated = FORMATS[ACCUMULATION.get(dtype, dtype)].smallest_normal
    terms = (4 if dtype.startswith("complex") else 1) * (2 * max(1, dot_length) + 1)
    return (magnitude - kept) + terms * accumulated + FORMATS[dtype].smallest_normal


@dataclasses.dataclass(frozen=True)
class Overflow:
    """Per element, what overflow allows (boolean arrays of the output's shape):
    ``open``: some summation order may overflow, anything goes; ``must``: the result
    is +-inf, with the sign of y; ``may``: +-inf or a finite value within the bound."""

    open: np.ndarray
    must: np.ndarray
    may: np.ndarray

    def any(self):
        return bool(self.open.any() or self.must.any() or self.may.any())

    def opened(self, where):
        """These regions with ``where`` open as well (nothing due there any more)."""
        open = self.open | where
        return Overflow(open, self.must & ~open, self.may & ~open)


def could_overflow(largest_terms, *, dot_length, dtype):
    """Whether data whose largest input, weight and bias moduli are ``largest_terms``
    could come near overflow at all (a cheap test before ``overflow_regions``)."""
    input, weight, bias = largest_terms
    size = dot_length * input * weight + bias
    accumulation = ACCUMULATION.get(dtype, dtype)
    return size >= min(FORMATS[dtype].largest, FORMATS[accumulation].largest) / 4


def overflow_regions(magnitude, reference, bound, *, dot_length, dtype, bias=None):
    """``Overflow`` of a call whose magnitude is M, exact result y and error bound
    ``bound``; ``bias`` broadcast to the output, if any."""
    accumulation = ACCUMULATION.get(dtype, dtype)
    sums = magnitude * (1 + gamma(dot_length + 1, UNIT_ROUNDOFF[accumulation]))
    open = sums >= FORMATS[accumulation].overflow_threshold
    threshold = FORMATS[dtype].overflow_threshold
    size = np.abs(reference)
    must = ~open & (size - bound >= threshold)
    may = size + bound >= threshold
    if bias is not None:
        may = may | (np.abs(reference - bias) + bound >= threshold)
    return Overflow(open, must, ~open & ~must & may)


@dataclasses.dataclass(frozen=True)
class ErrorModel:
    """Which algorithms a correct implementation may use, and so how it is judged.

    - ``direct`` (the default): every output element is a sum of its n products
      in some order (direct, blocked, GEMM), so exact-tier data give identical
      bits and float-tier data stay within ``error_bound``;
    - ``transform``: the forward result may come from a fast algorithm whose
      error is normwise: Winograd F(2x2, 3x3) or F(4x4, 3x3) on any tiling, or
      an FFT of power-of-two lengths per plane.  Both tiers are held to the
      largest of those algorithms' bounds and the direct one
      (``transform_error_bound``), and a NaN or inf may reach any output of a
      plane that holds one (a tile or a plane transform mixes it in).
      Gradients are sums of products, judged as under ``direct``.

    ``tf32``: float32 operands are rounded to TF32 first (CUDA with TF32 allowed).
    ``flushes_subnormals``: the kernel declares that it flushes subnormal operands,
    products and results to zero (case/domain.py ``subnormals = "flush"``): a
    forward result may then be off by ``flush_error`` more, and data that reach
    the subnormal range are not bitwise.
    """

    kind: str = "direct"
    tf32: bool = False
    flushes_subnormals: bool = False

    KINDS = ("direct", "transform")
    ALGORITHMS = (dict(algorithm="winograd", tile=2), dict(algorithm="winograd", tile=4),
                  dict(algorithm="fft"))

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise ValueError(f"error model {self.kind!r}: choose one of {', '.join(self.KINDS)}")

    @property
    def bitwise_on_exact_data(self):
        """Whether exact-tier data must give the reference's bits."""
        return self.kind == "direct"

    @property
    def nonfinite_spreads_within_planes(self):
        """Whether a NaN or inf may reach every output of its (sample, channel) plane."""
        return self.kind == "transform"

    def bound(self, magnitude, reference, *, dot_length, dtype, bias=None, arrays=None,
              geometry=None):
        """Per element, the largest error this model allows: ``error_bound``, or for a
        forward call under ``transform`` (``arrays`` and ``geometry`` given) the
        largest of the fast algorithms' ``transform_error_bound``s."""
        direct = error_bound(magnitude, reference, dot_length=dot_length, dtype=dtype, bias=bias,
                             tf32=self.tf32)
        if self.flushes_subnormals and arrays is not None:
            direct = direct + flush_error(magnitude, arrays, geometry, dot_length=dot_length,
                                          dtype=dtype)
        if self.kind == "direct" or arrays is None:
            return direct
        input, weight, bias_vector = arrays
        bounds = [transform_error_bound(input, weight, bias_vector, reference, geometry=geometry,
                                        dtype=dtype, magnitude=magnitude, **algorithm)
                  for algorithm in self.ALGORITHMS]
        return np.maximum.reduce([direct, *bounds])

    def transform_open(self, reference, *, dtype, arrays=None, geometry=None):
        """Per element, where a fast algorithm this model allows may overflow on the way
        (``transform_overflow`` of each), for a forward call under ``transform``
        (``arrays`` and ``geometry`` given); None otherwise."""
        if self.kind == "direct" or arrays is None:
            return None
        return np.logical_or.reduce([
            transform_overflow(*arrays, reference, geometry=geometry, dtype=dtype, **algorithm)
            for algorithm in self.ALGORITHMS])

    def with_fast_algorithms(self):
        """This model, widened to the fast algorithms' bounds (``transform``): for a
        call a backend is known to hand to Winograd or FFT (NNPACK)."""
        return dataclasses.replace(self, kind="transform")

    def __str__(self):
        return (self.kind + (" with TF32 operands" if self.tf32 else "")
                + (", subnormals flushed" if self.flushes_subnormals else ""))
