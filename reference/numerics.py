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
- the float64 reference itself rounds too: ``+ gamma_{n+1}(2^-53) * M``.

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

# Half the smallest subnormal: the absolute error of rounding a tiny result.
UNDERFLOW = {"float64": 2.0 ** -1075, "complex128": 2.0 ** -1075,
             "float32": 2.0 ** -150, "complex64": 2.0 ** -150,
             "float16": 2.0 ** -25, "bfloat16": 2.0 ** -134}

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
    input, weight = np.abs(np.asarray(input)), np.abs(np.asarray(weight))
    bias = None if bias is None else np.abs(np.asarray(bias))
    geometry = resolve(input.shape, weight.shape, None if bias is None else bias.shape,
                       stride, padding, dilation, groups)
    return conv2d_resolved(geometry, input, weight, bias, padding_mode)


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
    bound = local * magnitude
    if tf32 and dtype in ("float32", "complex64"):
        bound = bound + (2 * TF32_ROUNDOFF + TF32_ROUNDOFF ** 2) * magnitude
    if u_out > u_acc:
        bound = bound * (1 + u_out) + u_out * np.abs(reference) + UNDERFLOW[dtype]
        if bias is not None:
            bound = bound + u_out * np.abs(reference - bias) + UNDERFLOW[dtype]
    return bound



@dataclasses.dataclass(frozen=True)
class ErrorModel:
    """Which algorithms a correct implementation may use, and so how it is judged.

    ``direct`` (the default): every output element is a sum of its n products
    in some order (direct, blocked, GEMM), so exact-tier data give identical
    bits and float-tier data stay within ``error_bound``.  ``tf32``: float32
    operands are rounded to TF32 first (CUDA with TF32 allowed).
    """

    kind: str = "direct"
    tf32: bool = False

    KINDS = ("direct",)

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise ValueError(f"error model {self.kind!r}: choose one of {', '.join(self.KINDS)}")

    @property
    def bitwise_on_exact_data(self):
        """Whether exact-tier data must give the reference's bits."""
        return self.kind == "direct"

    def bound(self, magnitude, reference, *, dot_length, dtype, bias=None):
        """Per element, the largest error this model allows (``error_bound``)."""
        return error_bound(magnitude, reference, dot_length=dot_length, dtype=dtype, bias=bias,
                           tf32=self.tf32)

    def __str__(self):
        return self.kind + (" with TF32 operands" if self.tf32 else "")
