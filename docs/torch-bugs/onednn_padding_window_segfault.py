"""F.conv2d on CPU segfaults (oneDNN BRGEMM convolution, NHWC output) when
every output column reads only padding.

Symptom: the process dies with SIGSEGV inside
dnnl::impl::cpu::x64::brgemm_convolution_fwd_t<...>::perform_outwork, a call
through a null post-work kernel pointer.  oneDNN creates the post-work kernels
for width-padded output blocks from the wrong column range when a block's
kernel range is empty (uxlfoundation/oneDNN#5942, fixed by #5944; reported
from pytorch/pytorch#195394).

Condition (every crash measured): oneDNN enabled, CPU, every output column
reads only padding, or every output row does (seen only for bfloat16 with
brg_conv_fwd:avx10_1_512_amx, i.e. on AMX CPUs, and NOT fixed in torch 2.15.0
/ oneDNN v3.13.3), and
  * float32 or complex64 with a bias and a channels_last input or weight, or
  * bfloat16, with or without a bias (contiguous tensors too on AMX CPUs), or
  * float16, with or without a bias, any layout (CPUs where oneDNN runs
    float16: torch gives oneDNN an NHWC output even for NCHW tensors),
and oneDNN picks brg_conv_fwd.  Which calls in that region get brg_conv_fwd
and crash depends on the shape, batch, CPU and thread count, so treat the
whole region as unsafe on an affected torch.  No crash was seen when only
some output columns or rows read only padding.

Each call runs in a child process (a crash cannot be caught).  When the child
survives, its output is checked: every output reads only padding, so the
output must equal the bias (zero without one).

Exit status: 1 if any child crashed or returned wrong values, 0 otherwise.
"""
import re
import subprocess
import sys

import torch

CHILD = r"""
import sys, torch, torch.nn.functional as F
case, dtype, with_bias = sys.argv[1], getattr(torch, sys.argv[2]), sys.argv[3] == 'bias'
torch.set_num_threads(1)
if case == 'columns':   # input (1,4,8,1) channels_last: each output column reads only padding
    x = torch.randn(1, 4, 8, 1).to(dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(2, 2, 1, 1).to(dtype)
    geometry = dict(stride=(1, 3), padding=(0, 2), dilation=(1, 3), groups=2)
else:                   # input (1,4,1,5) contiguous: each output row reads only padding
    x = torch.randn(1, 4, 1, 5).to(dtype)
    w = torch.randn(2, 2, 2, 3).to(dtype)
    geometry = dict(stride=(1, 2), padding=(2, 1), dilation=(3, 1), groups=2)
b = torch.randn(2).to(dtype) if with_bias else None
y = F.conv2d(x, w, b, **geometry)
expected = (b if with_bias else torch.zeros(2, dtype=dtype)).view(1, 2, 1, 1).expand(y.shape)
print('output', tuple(y.shape), 'max |output - expected| =', (y - expected).abs().max().item())
sys.exit(0 if torch.equal(y, expected) else 3)
"""

# (case, dtype, bias).  The rows case crashes only where oneDNN uses AMX
# (brg_conv_fwd:avx10_1_512_amx); it still crashes with torch 2.15.0.
CALLS = [("columns", "float32", "bias"), ("columns", "bfloat16", "nobias"), ("rows", "bfloat16", "nobias")]


def cpu_capability():
    """torch.backends.cpu.get_cpu_capability() where it exists (torch >= 2.1)."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        found = re.search(r"CPU capability usage: (\w+)", torch.__config__.show())
        return found.group(1) if found else "unknown"


def main():
    print("torch", torch.__version__, "| cpu capability", cpu_capability())
    print("columns: F.conv2d(x (1,4,8,1) channels_last, w (2,2,1,1), stride=(1,3), padding=(0,2),"
          " dilation=(1,3), groups=2)")
    print("rows:    F.conv2d(x (1,4,1,5), w (2,2,2,3), stride=(1,2), padding=(2,1),"
          " dilation=(3,1), groups=2)")
    bad = False
    for case, dtype, bias in CALLS:
        child = subprocess.run([sys.executable, "-c", CHILD, case, dtype, bias], capture_output=True, text=True)
        if child.returncode < 0:
            verdict = f"CRASHED with signal {-child.returncode}"
        elif child.returncode == 0:
            verdict = "ok: " + child.stdout.strip().splitlines()[-1]
        else:
            verdict = f"wrong values or error (exit {child.returncode}): " + (child.stdout + child.stderr).strip()[-300:]
        bad |= child.returncode != 0
        print(f"  {case:7s} {dtype:9s} {bias:7s} {verdict}")
    print("BUG PRESENT" if bad else "torch is correct")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
