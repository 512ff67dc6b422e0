"""bfloat16 conv2d on CPU (oneDNN) returns wrong values when the output is one
column wide and the width stride is larger than 1.

Symptom: every output row except the first is wrong.  In the measured cases
output row r >= 1 is computed from the wrong input rows (for example from rows
2r .. 2r+kh-1 instead of r .. r+kh-1), and rows whose window runs past the end
of the input read memory outside the tensor: the values can then be garbage
that changes from run to run (NaN, inf, 1e13).

Condition (all measured cases): dtype bfloat16, oneDNN enabled, out_w == 1,
stride_w > 1, out_h > 1 (any stride_h), and oneDNN picks its BRGEMM
convolution (ONEDNN_VERBOSE shows brg_conv_fwd:avx512_core_bf16 or
brg_conv_fwd:avx10_1_512_amx).  Whether it picks BRGEMM depends on the shape
and the CPU: without AMX (oneDNN avx512_core_bf16 kernels) it happened only
for grouped convolutions with one input channel per group, two or more output
channels per group and a channels_last input; with AMX also for groups 1 and
contiguous tensors.  float32, float16 and oneDNN disabled are correct.

The call below: input (1, 2, 3, 4) channels_last, weight (4, 1, 2, 4),
stride (1, 2), groups 2.  Integer data, so every correct summation order gives
exactly the same bfloat16 result.

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


def numpy_grouped_conv2d(x, w, stride, groups):
    """x (N, C, H, W), w (O, C/groups, kh, kw); no padding, no dilation."""
    N, C, H, W = x.shape
    O, cg, kh, kw = w.shape
    sh, sw = stride
    out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    og = O // groups
    out = np.zeros((N, O, out_h, out_w))
    for o in range(O):
        xs = x[:, (o // og) * cg:(o // og + 1) * cg]
        for i in range(out_h):
            for j in range(out_w):
                window = xs[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                out[:, o, i, j] = (window * w[o]).sum(axis=(1, 2, 3))
    return out


torch.set_num_threads(1)
x = torch.arange(24.0).reshape(1, 2, 3, 4).to(torch.bfloat16)
w = torch.ones(4, 1, 2, 4, dtype=torch.bfloat16)
stride, groups = (1, 2), 2

expected = numpy_grouped_conv2d(x.double().numpy(), w.double().numpy(), stride, groups)
actual = F.conv2d(x.contiguous(memory_format=torch.channels_last), w, stride=stride, groups=groups)
actual = actual.double().numpy()

print("torch", torch.__version__, "| cpu capability", cpu_capability())
print("F.conv2d(x (1,2,3,4) channels_last bfloat16, w (4,1,2,4), stride=(1,2), groups=2)")
print("output[0, :, :, 0] (channel x row):")
print("  expected", expected[0, :, :, 0].tolist())
print("  actual  ", actual[0, :, :, 0].tolist())
wrong = np.argwhere(actual != expected)
if len(wrong):
    print("wrong output rows:", sorted(set(wrong[:, 2].tolist())))
    print("BUG PRESENT")
    sys.exit(1)
print("torch is correct")
sys.exit(0)
