"""torch 2.2.0 and 2.5.1 on CPU: F.conv2d segfaults for a float32 call without a bias,
with a channels_last input, whose every output column reads only padding
(pytorch#136348, reduced).

The route of the padding-window segfault (onednn_padding_window_segfault.py,
oneDNN#5942) that needs no bias on an AMD EPYC with avx512_bf16: the input
(1, 32, 3, 1) with stride (2, 3) and padding (1, 2) gives two output columns,
at padded columns 0 and 3, while the input's one column is at 2.  torch 2.0.0,
2.13.0 and 2.15.0 return the right answer: zero everywhere.

Exit status: 1 if the child process crashed or returned wrong values.
"""
import subprocess
import sys

import torch

CHILD = r"""
import torch, torch.nn.functional as F
torch.set_num_threads(1)
x = torch.randn(1, 32, 3, 1).contiguous(memory_format=torch.channels_last)
w = torch.randn(32, 16, 2, 1)
y = F.conv2d(x, w, stride=(2, 3), padding=(1, 2), groups=2)
raise SystemExit(0 if torch.equal(y, torch.zeros_like(y)) else 3)
"""


def main():
    print("torch", torch.__version__)
    child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    code = child.returncode
    print("  " + (f"CRASHED with signal {-code}" if code < 0 else "ok" if code == 0
                  else "wrong values or error: " + child.stderr.strip()[-200:]))
    print("BUG PRESENT" if code else "torch is correct")
    return 1 if code else 0


if __name__ == "__main__":
    sys.exit(main())
