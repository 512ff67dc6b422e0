"""When is a computed convolution right?  The rounding-error bound.

Each output element is a dot product of length ``n = C/groups * kh * kw`` plus
a bias.  Summed in any order with unit roundoff ``u`` (Higham, Accuracy and
Stability, section 3.1):

    |y_hat - y| <= gamma_{n+1} * M,   gamma_k = k*u / (1 - k*u),
    M = conv2d(|x|, |w|) + |b|        (``magnitude``)

This holds for direct, blocked, pairwise and GEMM summation alike, so a
correct implementation can never exceed it.  Terms added to it:
- half types accumulate in float32 (torch on CPU and CUDA) and round the
  result once more: ``+ u_out * |y|``, or half a subnormal spacing near zero;
  a kernel may also round the sum before adding the bias (a separate bias
  pass, as cuDNN and im2col+GEMM do): ``+ u_out * |y - b|``;
- complex products cost two more roundings and mix components: ``x 2`` and
  ``gamma_{n+3}``;
- TF32 (CUDA float32 with TF32 allowed) rounds the operands to 10 bits:
  ``+ (2 * 2^-11 + 2^-22) * M`` when asked for;
- the float64 reference itself rounds too: ``+ gamma_{n+1}(2^-53) * M``;
- a product that lands below the smallest normal number loses up to half
  the smallest subnormal, absolutely, with no relative bound (Higham's model
  ``fl(a*b) = a*b(1 + d) + e``, ``|e| <= UNDERFLOW``; sums of subnormals are
  exact): ``+ n * UNDERFLOW`` for the accumulation and for the reference
  (``4n`` for complex: four real products per complex one).

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

No constant here is fitted.  Calibration (bench/calibrate_bound.py, torch
2.13.0 CPU, Hypothesis targeting the ratio, 300 examples per cell) on torch's
default kernel, oneDNN disabled, float64 accumulation and im2col + einsum:
largest error/bound 0.78 (float32), 0.54 (float64), 0.64 (complex), and 0.99
for float16/bfloat16, where the output rounding ``u_out * |y|`` is reached
exactly by round-to-nearest.
"""

import dataclasses

import numpy as np

from reference.arguments import resolve
from reference.forward import conv2d_resolved

UNIT_ROUNDOFF = {
    "float64": 2.0 ** -53, "complex128": 2.0 ** -53,
    "float32": 2.0 ** -24, "complex64": 2.0 ** -24,
    "float16": 2.0 ** -11, "bfloat16": 2.0 ** -8,
}


@dataclasses.dataclass(frozen=True)
class Format:
    """A binary floating-point format: ``significand`` bits (the hidden one included),
    normal exponents ``min_exponent`` .. ``max_exponent``."""

    significand: int
    min_exponent: int
    max_exponent: int

    @property
    def subnormal_exponent(self):
        """The exponent of the smallest subnormal, 2^subnormal_exponent."""
        return self.min_exponent - (self.significand - 1)

    @property
    def smallest_normal(self):
        return 2.0 ** self.min_exponent

    @property
    def smallest_subnormal(self):
        return 2.0 ** self.subnormal_exponent

    @property
    def largest(self):
        """The largest finite number."""
        return (2 - 2.0 ** (1 - self.significand)) * 2.0 ** self.max_exponent

    @property
    def overflow_threshold(self):
        """Round to nearest gives +-inf from here on (halfway to 2^(max_exponent+1));
        float64's threshold is itself no float64: inf stands for it."""
        if self.max_exponent >= 1023:
            return np.inf
        return (2 - 2.0 ** -self.significand) * 2.0 ** self.max_exponent


_FLOAT64, _FLOAT32 = Format(53, -1022, 1023), Format(24, -126, 127)
FORMATS = {"float64": _FLOAT64, "complex128": _FLOAT64, "float32": _FLOAT32,
           "complex64": _FLOAT32, "float16": Format(11, -14, 15), "bfloat16": Format(8, -126, 127)}

# Half the smallest subnormal: the absolute error of rounding a tiny result (float64's
# half is no float64 number, 2.0 ** -1075 == 0: its whole smallest subnormal stands in).
UNDERFLOW = {dtype: form.smallest_subnormal / 2 or form.smallest_subnormal
             for dtype, form in FORMATS.items()}

# Unit roundoff of TF32, the operand format of float32 matmul/conv with TF32 on.
TF32_ROUNDOFF = 2.0 ** -11

# The dtype in which each dtype's products are summed (torch's contract).
ACCUMULATION = {"float16": "float32", "bfloat16": "float32"}


def gamma(k, u):
    """Higham's gamma_k: the relative error bound of k roundings."""
    if k * u >= 1:
        raise ValueError(f"gamma_{k} is unbounded for u={u}")
    return k * u / (1 - k * u)


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


def error_bound(magnitude, reference, *, dot_length, dtype, accumulation=None,
                bias=None, tf32=False):
    """The largest error a correct conv2d in ``dtype`` may make, per element.

    - ``magnitude``: ``magnitude(...)`` of the same call (M);
    - ``reference``: the exact (float64) output y;
    - ``dot_length``: n = C/groups * kh * kw;
    - ``dtype``: the dtype of the data and result, e.g. ``"bfloat16"``;
    - ``accumulation``: the dtype products are summed in (default: ``ACCUMULATION``);
    - ``bias``: the bias broadcast to the output, if any;
    - ``tf32``: float32 operands are rounded to TF32 (10-bit significand, CUDA)
      before multiplying: each product is off by up to ``(2u + u^2)``,
      ``u = 2^-11``, relative, so ``+ (2u + u^2) * M``.
    """
    accumulation = accumulation or ACCUMULATION.get(dtype, dtype)
    u_acc, u_out = UNIT_ROUNDOFF[accumulation], UNIT_ROUNDOFF[dtype]
    if dtype.startswith("complex"):
        local = 2 * gamma(dot_length + 3, u_acc)
    else:
        local = gamma(dot_length + 1, u_acc)
    local += gamma(dot_length + 1, UNIT_ROUNDOFF["float64"])
    products = dot_length * (4 if dtype.startswith("complex") else 1)
    underflow = products * (UNDERFLOW[accumulation] * (1 + local) + UNDERFLOW["float64"])
    bound = local * magnitude + underflow
    if tf32 and dtype in ("float32", "complex64"):
        bound = bound + (2 * TF32_ROUNDOFF + TF32_ROUNDOFF ** 2) * magnitude
    if u_out > u_acc:
        bound = bound * (1 + u_out) + u_out * np.abs(reference) + UNDERFLOW[dtype]
        if bias is not None:
            bound = bound + u_out * np.abs(reference - bias) + UNDERFLOW[dtype]
    return bound


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


def transform_error_bound(input, weight, bias, reference, *, geometry, dtype, algorithm,
                          tile=None, matrices=None, tile_origin="any", fft_lengths=None,
                          magnitude=None, accumulation=None, include_direct=True):
    """The largest error a correct Winograd or FFT conv2d may make, per element.

    The transform error model (derivation, sources and assumptions:
    ``reference/transform_bound.py``).  With u the unit roundoff of the working
    precision (``accumulation``), y the exact output and C' = C/groups:

    - ``algorithm="winograd"`` (F(m x m, r x r), tiles of m x m outputs):
      ``gamma_K * (M_W + |b|)``, M_W = |AT| [sum_c (|G||g_c||GT|) * (|BT||d_c||B|)] |A|
      over the tile that holds the element (the largest over its possible
      positions when ``tile_origin="any"``), K = 2(k_A+k_B+k_G) + C' + 7
      (+2 complex), k_X the most non-zeros in a row of X (Barabasz et al.,
      ACM TOMS 2020, in componentwise form);
    - ``algorithm="fft"`` (one 2-D FFT of lengths n1 x n2 per plane):
      ``(1 + u) c_F S + u |y|``, S[n, o] = sum_c ||x_nc||_2 ||w_oc||_2 over the
      group, c_F = (1 + eps_F)^3 (1 + theta)(1 + u) - 1, eps_F = t eta/(1 - t eta),
      t = log2 n1 + log2 n2, eta = u + gamma_4 (sqrt 2 + u), theta = (1 +
      sqrt 2 gamma_2)(1 + gamma_{C'-1}) - 1 (Higham, Accuracy and Stability,
      2nd ed., Theorem 24.2);

    each plus its absolute underflow term (transform roundings that land below
    the normal range, amplified by the later linear maps: ``reference/
    transform_bound.py``), the float64 reference's rounding ``gamma_{n+1}(2^-53)
    * M + n * UNDERFLOW``, and for float16/bfloat16 the output roundings of
    ``error_bound``.  With
    ``include_direct`` the result is the elementwise maximum with
    ``error_bound`` (a kernel may compute some outputs directly); a call the
    algorithm cannot compute (stride or dilation not 1, another kernel size
    for Winograd, an empty output) gets ``error_bound`` alone.

    - ``input``, ``weight``, ``bias``: the float64/complex128 arrays the
      implementation saw (bias may be None); 3-D input for unbatched calls;
    - ``reference``: the exact output y (``reference.conv2d`` of them);
    - ``geometry``: ``reference.resolve(...)`` of the call;
    - ``dtype``: the dtype name of the data and result, e.g. ``"float32"``;
    - ``algorithm``: ``"winograd"`` or ``"fft"``;
    - ``tile``: m for Winograd (2 or 4 take Lavin & Gray's matrices for 3 x 3);
    - ``matrices``: ``(AT, G, BT)`` for other points or tiles (then kernels of
      G.shape[1] x G.shape[1]);
    - ``tile_origin``: ``"any"`` (default: any tiling of m x m blocks) or
      ``(i0, j0)``, the output index where the tiling starts;
    - ``fft_lengths``: (n1, n2); default the powers of two at or above the
      padded input size;
    - ``magnitude``: M = ``magnitude(...)`` of the call if already computed;
    - ``accumulation``: the working dtype (default: float32 for half types);
    - ``include_direct``: also accept what the direct model accepts.
    """
    from reference import transform_bound as tb
    from reference.forward import batched, padded, unbatched

    accumulation = accumulation or ACCUMULATION.get(dtype, dtype)
    u, u_out = UNIT_ROUNDOFF[accumulation], UNIT_ROUNDOFF[dtype]
    reference = np.asarray(reference)
    bias_plane = None if bias is None else np.asarray(bias)[:, None, None]
    if magnitude is None:
        magnitude = conv2d_resolved(geometry, np.abs(input), np.abs(weight),
                                    None if bias is None else np.abs(bias))
    direct = error_bound(magnitude, reference, dot_length=geometry.dot_length, dtype=dtype,
                         accumulation=accumulation, bias=bias_plane)
    matrices = _algorithm_matrices(algorithm, geometry, reference, tile, matrices)
    if matrices is None:
        return direct

    complex_data = np.iscomplexobj(input) or np.iscomplexobj(weight) or dtype.startswith("complex")
    x = padded(geometry, batched(geometry, np.asarray(input)), np.asarray(input).dtype)
    w = np.asarray(weight)
    group_channels = geometry.in_channels // geometry.groups
    if algorithm == "winograd":
        K = tb.winograd_roundings(*matrices, group_channels, complex_data)
        M_W = tb.winograd_magnitude(np.abs(x), np.abs(w), geometry.groups, *matrices,
                                    tile_origin)
        bound = gamma(K, u) * (unbatched(geometry, M_W) +
                               (0 if bias is None else np.abs(bias_plane)))
        underflow = (1 + gamma(K, u)) ** 2 * unbatched(geometry, tb.winograd_underflow(
            np.abs(x), np.abs(w), geometry.groups, *matrices, tile_origin, complex_data,
            UNDERFLOW[accumulation]))
    else:
        lengths = _fft_lengths(x, fft_lengths)
        c_F = tb.fft_roundings(lengths, group_channels, u)
        S, underflow = (unbatched(geometry, np.broadcast_to(
            per_plane[:, :, None, None], (*per_plane.shape, *geometry.output_size)))
            for per_plane in (tb.fft_plane_norms(x, w, geometry.groups),
                              (1 + c_F) ** 2 * tb.fft_underflow(x, w, geometry.groups, lengths,
                                                                UNDERFLOW[accumulation])))
        bound = (1 + u) * c_F * S + u * np.abs(reference)
    products = geometry.dot_length * (4 if complex_data else 1)
    bound = (bound + underflow + products * UNDERFLOW["float64"]
             + gamma(geometry.dot_length + 1, UNIT_ROUNDOFF["float64"]) * magnitude)
    if u_out > u:
        bound = bound * (1 + u_out) + u_out * np.abs(reference) + UNDERFLOW[dtype]
        if bias_plane is not None:
            bound = bound + u_out * np.abs(reference - bias_plane) + UNDERFLOW[dtype]
    return np.maximum(bound, direct) if include_direct else bound


def transform_overflow(input, weight, bias, reference, *, geometry, dtype, algorithm,
                       tile=None, matrices=None, fft_lengths=None, accumulation=None):
    """Per element, whether a correct Winograd or FFT conv2d may overflow on the way:
    where a value it computes (a transform, a product, the channel sum, the output
    transform; spectra and the inverse FFT) could reach the working precision's
    overflow threshold, the result is open in the ``Overflow`` sense (inf - inf
    makes NaN, anything goes).  Arguments as ``transform_error_bound``'s.

    Conservative: the bound is per (sample, output channel) plane, and every
    output of such a plane is open, because one tile's or one spectrum's
    overflow reaches every output that reads it, and a tile may sit anywhere
    (a plane transform reaches the whole plane).
    """
    from reference import transform_bound as tb
    from reference.forward import batched, padded, unbatched

    accumulation = accumulation or ACCUMULATION.get(dtype, dtype)
    reference = np.asarray(reference)
    closed = np.zeros(reference.shape, dtype=bool)
    matrices = _algorithm_matrices(algorithm, geometry, reference, tile, matrices)
    if matrices is None:
        return closed
    x = np.abs(padded(geometry, batched(geometry, np.asarray(input)), np.asarray(input).dtype))
    w = np.abs(np.asarray(weight))
    bias_abs = 0 if bias is None else np.abs(np.asarray(bias))
    group_channels = geometry.in_channels // geometry.groups
    u = UNIT_ROUNDOFF[accumulation]
    if algorithm == "winograd":
        complex_data = (np.iscomplexobj(input) or np.iscomplexobj(weight)
                        or dtype.startswith("complex"))
        size = (1 + gamma(tb.winograd_roundings(*matrices, group_channels, complex_data), u)) * \
            tb.winograd_overflow_size(x, w, bias_abs, geometry.groups, *matrices)
    else:
        lengths = _fft_lengths(x, fft_lengths)
        size = (1 + tb.fft_roundings(lengths, group_channels, u)) * \
            tb.fft_overflow_size(x, w, bias_abs, geometry.groups, lengths)
    open = size[:, :, None, None] >= FORMATS[accumulation].overflow_threshold
    return unbatched(geometry, np.broadcast_to(open, (*open.shape[:2], *geometry.output_size)))


def _algorithm_matrices(algorithm, geometry, reference, tile, matrices):
    """(AT, G, BT) for Winograd, () for FFT, or None for a call the algorithm cannot
    compute (stride or dilation not 1, another kernel size, an empty output)."""
    from reference import transform_bound as tb

    if algorithm == "winograd":
        found = tb.winograd_matrices(tile, matrices)
        covered = geometry.kernel == (found[1].shape[1], found[1].shape[1])
    elif algorithm == "fft":
        found, covered = (), True
    else:
        raise ValueError(f"algorithm={algorithm!r}: 'winograd' or 'fft'")
    covered = (covered and geometry.stride == (1, 1) and geometry.dilation == (1, 1)
               and reference.size > 0 and geometry.in_channels > 0)
    return found if covered else None


def _fft_lengths(padded_input, fft_lengths):
    """The FFT lengths (n1, n2): the given ones, or the powers of two at or above
    the padded input size; refused if they cannot hold it."""
    from reference import transform_bound as tb

    lengths = tuple(fft_lengths or tb.power_of_two_lengths(padded_input.shape[-2:]))
    if lengths[0] < padded_input.shape[-2] or lengths[1] < padded_input.shape[-1]:
        raise ValueError(f"fft_lengths={lengths} cannot hold the padded input "
                         f"{padded_input.shape[-2:]}: the circular convolution would wrap around")
    return lengths


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
