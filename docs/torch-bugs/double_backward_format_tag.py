"""torch 2.0 on CPU: the double backward of a strided 1x1 grouped conv2d with more
filters than groups raises RuntimeError 'could not construct a memory descriptor
using a format tag'.

The forward and the first backward are right; torch 2.2.0 and later compute the
double backward.  The registry's entry double-backward-strided-pointwise-
multiplier-format-tag holds the measured region (1x1 kernel, stride > 1,
groups > 1, out_channels > groups).

Exit status: 1 if the double backward raises.
"""
import sys

import torch
import torch.nn.functional as F


def main():
    print("torch", torch.__version__)
    x = torch.ones(1, 2, 1, 1, requires_grad=True)
    w = torch.ones(4, 1, 1, 1, requires_grad=True)
    y = F.conv2d(x, w, stride=2, groups=2)
    grads = torch.autograd.grad(y.sum(), (x, w), create_graph=True)
    try:
        torch.autograd.grad(sum(g.sum() for g in grads), (x, w), allow_unused=True)
    except RuntimeError as error:
        print("  double backward raised:", str(error).splitlines()[0])
        print("BUG PRESENT")
        return 1
    print("  ok\ntorch is correct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
