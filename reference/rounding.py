"""How floating-point arithmetic rounds, and the direct rounding-error bound of conv2d.

Each output element is a dot product of length ``n = C/groups * kh * kw`` plus
a bias.  Summed in any order with unit roundoff ``u`` (Higham, Accuracy and
Stability, section 3.1):

    |y_hat - y| <= gamma_{n+1} * M,   gamma_k = k*u / (1 - k*u),
    M = conv2d(|x|, |w|) + |b|        (``numerics.magnitude``)

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

No constant here is fitted.  Calibration (bench/calibrate_bound.py, torch
2.13.0 CPU, Hypothesis targeting the ratio, 300 examples per cell) on torch's
default kernel, oneDNN disabled, float64 accumulation and im2col + einsum:
largest error/bound 0.78 (float32), 0.54 (float64), 0.64 (complex), and 0.99
for float16/bfloat16, where the output rounding ``u_out * |y|`` is reached
exactly by round-to-nearest.
"""

import dataclasses

import numpy as np

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
    """Higham's gamma_k: the relative error bound of k roundings (none for k <= 0)."""
    if k <= 0:
        return 0.0
    if k * u >= 1:
        raise ValueError(f"gamma_{k} is unbounded for u={u}")
    return k * u / (1 - k * u)


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
