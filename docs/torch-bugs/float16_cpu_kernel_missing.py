"""torch 2.0 and 2.1 on CPU: conv2d has no float16 kernel.

RuntimeError '"slow_conv2d_cpu" not implemented for 'Half'' for every float16
call that computes something; torch 2.2.0 and later compute it.  Measured on
2.0.0; 2.1 from the registry's record (float16-cpu-conv-kernel-missing).

Exit status: 1 if the call raises or is wrong.
"""
import sys

import torch
import torch.nn.functional as F


def main():
    print("torch", torch.__version__)
    x = torch.arange(50.).view(1, 2, 5, 5) % 5
    w = torch.ones(3, 2, 3, 3)
    try:
        y = F.conv2d(x.half(), w.half())
    except RuntimeError as error:
        print("  raised:", error)
        print("BUG PRESENT")
        return 1
    right = torch.equal(y.float(), F.conv2d(x, w))
    print("  ok" if right else "  wrong values")
    print("torch is correct" if right else "BUG PRESENT")
    return 0 if right else 1


if __name__ == "__main__":
    sys.exit(main())
