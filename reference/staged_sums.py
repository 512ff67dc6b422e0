"""The rounding bound of a sum computed in stages: partial sums rounded to the result's dtype.

``error_bound`` (rounding.py) holds for a sum of n products accumulated in
one format and rounded once.  Some sums are not computed that way:

- torch's CPU backward for float16/bfloat16 without oneDNN (the im2col path)
  rounds to the half type on the way: ``grad_input`` is a GEMM per tap
  (accumulated in float32, stored as half in a column buffer) scattered back
  by col2im, which adds the kh*kw taps in half; ``grad_weight`` and, on the
  dilated path, ``grad_bias`` add each sample's GEMM into a half accumulator
  (``beta = 1``), so N partial sums are combined in half;
- im2col + einsum (implementations/correct.py) forms some gradient products
  in the half type (einsum multiplies elementwise and sums where a
  contracted size is 1), then sums them: each product is rounded once more;
- a forward-mode derivative ``conv2d(dx, w) + conv2d(x, dw) + db`` is two
  convolutions and a bias, each rounded to the dtype, then added.

Model: the n products are split into partial sums, each accumulated in
``ACCUMULATION[dtype]`` (unit roundoff ``u_acc``) over at most
``dot_length`` terms, and every term meets at most ``roundings`` roundings to
``dtype`` (``u``) on its way: when its product is formed in ``dtype``, when
its partial sum is stored, and once per later addition of partial sums, in
any order.  With ``P_j`` the exact partial sums and ``M = sum_j M_j`` their
magnitude (Higham, Accuracy and Stability, lemma 3.1 and section 4.2):

    |S_hat - S| <= sum_j (|P_j_hat - P_j| (1 + gamma_b(u)) + gamma_b(u) |P_j|)
               <= ((1 + gamma_b(u)) * gamma_a(u_acc) + gamma_b(u)) * M

with ``a = dot_length`` and ``b = roundings``; ``+ b`` half subnormal spacings
for results near zero, and the float64 reference's own ``gamma_{a+b}(2^-53) * M``.
Where ``u_acc == u`` (float32, float64) this is at most ``gamma_{a+b}(u) * M``:
staging in the result's own format is only another summation order.
Complex: ``2 * gamma_{a+3}`` inside, as in ``error_bound``; a complex addition
rounds each component, so ``gamma_b(u)`` outside.
"""

import numpy as np

from reference.rounding import ACCUMULATION, TF32_ROUNDOFF, UNDERFLOW, UNIT_ROUNDOFF, gamma


def staged_error_bound(magnitude, *, dot_length, roundings, dtype, tf32=False):
    """Per element, the largest error of a correct staged sum (module docstring).

    - ``magnitude``: the sum of the absolute values of its terms (M);
    - ``dot_length``: the most products any one partial sum accumulates (a);
    - ``roundings``: the most roundings to ``dtype`` any term meets (b >= 1);
    - ``dtype``: the dtype of the data and the result;
    - ``tf32``: float32 operands rounded to TF32 before multiplying.
    """
    if roundings < 1:
        raise ValueError(f"roundings={roundings!r}: a result is rounded to its dtype at least "
                         f"once")
    u_acc = UNIT_ROUNDOFF[ACCUMULATION.get(dtype, dtype)]
    u_out, u_ref = UNIT_ROUNDOFF[dtype], UNIT_ROUNDOFF["float64"]
    if roundings * u_out >= 1:
        # As many roundings as the format has numbers between 1 and 2 (257 for a 16x16
        # kernel's input.grad in bfloat16): the model bounds nothing (gamma is infinite).
        return np.full(np.shape(magnitude), np.inf)
    complex_ = dtype.startswith("complex")
    length = max(1, dot_length) + (3 if complex_ else 0)
    inner = (2 if complex_ else 1) * gamma(length, u_acc)
    if tf32 and dtype in ("float32", "complex64"):
        inner += 2 * TF32_ROUNDOFF + TF32_ROUNDOFF ** 2
    outer = gamma(roundings, u_out)
    own = (2 if complex_ else 1) * gamma(length + roundings, u_ref)
    return ((1 + outer) * inner + outer + own) * magnitude + roundings * UNDERFLOW[dtype]


def gradient_sums(geometry):
    """{gradient: (products per element, roundings per term)} of conv2d's first gradients
    (``reference.Geometry`` of the call), as an im2col backward may sum them:

    - ``input.grad``: ``O/groups * kh * kw`` products; a product formed in the
      dtype, its tap's column stored, and up to kh*kw - 1 additions in col2im:
      ``1 + kh*kw`` roundings;
    - ``weight.grad``: ``N * out_h * out_w`` products; a product, then one
      sample's GEMM added into the accumulator per sample: ``1 + N``;
    - ``bias.grad``: the same positions, no products: ``N``.
    """
    (out_h, out_w), (kh, kw) = geometry.output_size, geometry.kernel
    positions, batch = geometry.batch * out_h * out_w, max(1, geometry.batch)
    return {"input.grad": (geometry.out_channels // geometry.groups * kh * kw, 1 + kh * kw),
            "weight.grad": (positions, 1 + batch), "bias.grad": (positions, batch)}
