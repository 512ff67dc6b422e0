"""bfloat16 conv2d on CPU (oneDNN) lets a NaN or inf reach outputs whose
receptive field does not contain it.

Symptom: an output becomes NaN although no input in its window is NaN or inf.
With finite inputs the values are right: the stray input is multiplied by a
zero weight that oneDNN adds to pad the input-channel count (bfloat16 dot
products work on pairs of channels), and 0 * NaN = NaN, 0 * inf = NaN.

Condition: dtype bfloat16, oneDNN enabled, an odd number of input channels per
group (in_channels // groups), and a direct or BRGEMM oneDNN kernel
(jit_bf16, brgconv_1x1, brg_conv_fwd; not the depthwise or GEMM kernels).
The value that leaks is the element stored right after an element of the
group's last input channel that the window reads: the next column of the same
channel for a contiguous (NCHW) input, the next channel, which may belong to
the next group or the next pixel, for a channels_last input (and, for
brg_conv_fwd with one input channel per group, the column right of the
window).  Any stride, padding or memory format.  On CPUs with AMX the AMX
kernels also leak with even channel counts, from up to three columns past
the window.  float32, float16 and oneDNN disabled are correct.

The call below: x = [[1, nan, 1]] (one channel, one row), a 1x1 weight of
ones, stride (1, 2).  Output 0 reads x[0] only, output 1 reads x[2] only;
neither reads the NaN, so the answer is [1, 1].

Expected values: a float64 NumPy direct convolution of the same values.
Exit status: 1 while the bug is present, 0 when torch is correct.
"""
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F


def cpu_capability():
    """torch.backends.cpu.get_cpu_capability() where it exists (torch >= 2.1)."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        found = re.search(r"CPU capability usage: (\w+)", torch.__config__.show())
        return found.group(1) if found else "unknown"

torch.set_num_threads(1)
x = torch.tensor([1.0, float("nan"), 1.0]).reshape(1, 1, 1, 3).to(torch.bfloat16)
w = torch.ones(1, 1, 1, 1, dtype=torch.bfloat16)
stride = (1, 2)

# 1x1 kernel, no padding: output column j reads input column j * stride_w.
x64 = x.double().numpy()
expected = x64[:, :, ::stride[0], ::stride[1]] * w.double().numpy()[0, 0, 0, 0]
actual = F.conv2d(x, w, stride=stride).double().numpy()

print("torch", torch.__version__, "| cpu capability", cpu_capability())
print("F.conv2d(x = [[1, nan, 1]] bfloat16, w = ones(1, 1, 1, 1), stride=(1, 2))")
print("  expected", expected.ravel().tolist())
print("  actual  ", actual.ravel().tolist())
same = np.array_equal(np.isnan(actual), np.isnan(expected)) and np.allclose(
    np.nan_to_num(actual), np.nan_to_num(expected))
print("torch is correct" if same else "BUG PRESENT")
sys.exit(0 if same else 1)
