"""torch.func.vmap over F.conv2d adds a batched bias along the wrong axis when
stride is a 1-element sequence.

Symptom: vmap(lambda x, w, b: F.conv2d(x, w, b, stride=(s,))) adds b[n, o] to
output ROW o instead of output CHANNEL o.  Depending on the output height it
  * silently returns wrong values   (out_h == out_channels),
  * silently returns a wrong shape  (out_h == 1: (N, O, O, out_w)),
  * raises "The size of tensor a (..) must match the size of tensor b (..)"
    (any other out_h).
Plain F.conv2d, and vmap with stride=s or stride=(s, s), are correct.

Condition: inside vmap, a bias is passed, the weight or the bias is batched
(in_dims 0), stride is a 1-element tuple or list, and out_channels > 1.
A 1-element padding or dilation is harmless; vmap(grad(...)) is affected only
through this forward call (shared weights and bias, in_dims (0, None, None),
are fine).

Cause: the convolution batch rule (aten/src/ATen/functorch/BatchRulesConvolution.cpp)
takes the number of spatial dimensions from len(stride), so it appends one
trailing singleton to the bias instead of two.

Expected values: a float64 NumPy loop over the samples.
Exit status: 1 while the bug is present, 0 when torch is correct.
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import vmap


def numpy_conv2d(x, w, b, stride):
    """One sample, no padding, no dilation: x (C, H, W), w (O, C, kh, kw), b (O,)."""
    O, C, kh, kw = w.shape
    out_h = (x.shape[1] - kh) // stride + 1
    out_w = (x.shape[2] - kw) // stride + 1
    out = np.empty((O, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, i, j] = np.tensordot(w, window, axes=3) + b
    return out


def check(name, N, C, O, H, W, k, s):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, H, W, generator=g, dtype=torch.float64)
    w = torch.randn(N, O, C, k, k, generator=g, dtype=torch.float64)
    b = torch.randn(N, O, generator=g, dtype=torch.float64)
    expected = np.stack([numpy_conv2d(x[n].numpy(), w[n].numpy(), b[n].numpy(), s) for n in range(N)])
    per_sample = vmap(lambda xi, wi, bi: F.conv2d(xi, wi, bi, stride=(s,)))
    print(f"{name}: x {tuple(x.shape)}, w {tuple(w.shape)}, b {tuple(b.shape)}, stride=({s},)")
    print(f"  expected shape {expected.shape}")
    try:
        actual = per_sample(x, w, b).numpy()
    except RuntimeError as error:
        print(f"  actual: RuntimeError: {str(error).splitlines()[0]}")
        return False
    print(f"  actual shape   {actual.shape}")
    if actual.shape != expected.shape:
        return False
    error = np.abs(actual - expected).max()
    print(f"  max |actual - expected| = {error:.3g}")
    return error < 1e-12


print("torch", torch.__version__)
ok = check("out_h == out_channels (silent)", N=2, C=1, O=2, H=2, W=3, k=1, s=1)
ok &= check("out_h == 1 (silent, wrong shape)", N=2, C=1, O=2, H=1, W=3, k=1, s=1)
ok &= check("other out_h (raises)", N=2, C=1, O=2, H=5, W=5, k=1, s=2)
print("torch is correct" if ok else "BUG PRESENT")
sys.exit(0 if ok else 1)
