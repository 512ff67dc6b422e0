"""torch 2.0 on CPU with oneDNN off: bfloat16 conv2d accumulates in bfloat16.

1 + 16 * 2^-8 is 1.0625 in float32 (and in bfloat16: 1.0625 = 1 + 2^-4 is a
bfloat16 number), but torch 2.0's slow path adds the 2^-8 terms to 1 one at a
time in bfloat16, where each is lost: the result is 1.0.  With oneDNN on, and
on torch 2.2.0 and later, the sum is 1.0625.

Exit status: 1 if the sum is not 1.0625.
"""
import sys

import torch
import torch.nn.functional as F


def main():
    print("torch", torch.__version__)
    x = torch.tensor([[[[1.0] + [2.0 ** -8] * 16]]], dtype=torch.bfloat16)
    w = torch.ones(1, 1, 1, 17, dtype=torch.bfloat16)
    with torch.backends.mkldnn.flags(enabled=False):
        got = F.conv2d(x, w).float().item()
    print(f"  1 + 16 * 2^-8 = {got} (should be 1.0625)")
    print("torch is correct" if got == 1.0625 else "BUG PRESENT")
    return 0 if got == 1.0625 else 1


if __name__ == "__main__":
    sys.exit(main())
