"""tinygrad (CPU): a bfloat16 conv2d rounds every product to bfloat16 before it sums them.

Input [1.0625, 1.0625] and weight [1.0625, -1] (1x2 kernel, one channel):
1.0625 * 1.0625 = 1.12890625 needs more bits than bfloat16's 8, and the sum
1.12890625 - 1.0625 = 0.06640625 is a bfloat16.  A convolution that
multiplies exactly and accumulates in float32 (as torch's and oneDNN's
bfloat16 kernels do, and as tinygrad's own float16 conv2d does) returns
0.06640625; tinygrad returns 0.0625, the product rounded to 1.125 first.
Exit 1: the bug is present; exit 0: absent.  Needs tinygrad (with clang) and
NumPy only.
"""

import sys

import numpy as np
from importlib.metadata import version
from tinygrad import Tensor, dtypes


def conv(dtype, a):
    x = np.array([a, a], np.float32).reshape(1, 1, 1, 2)
    w = np.array([a, -1.0], np.float32).reshape(1, 1, 1, 2)
    y = Tensor(x, device="CPU").cast(dtype).conv2d(Tensor(w, device="CPU").cast(dtype))
    return float(y.cast(dtypes.float32).numpy().ravel()[0]), a * a - a


def main():
    print(f"tinygrad {version('tinygrad')}")
    got16, want16 = conv(dtypes.float16, 1 + 2 ** -6)
    print(f"float16:  got {got16!r}, exact {want16!r} (products kept exact)")
    got, want = conv(dtypes.bfloat16, 1 + 2 ** -4)
    print(f"bfloat16: got {got!r}, exact {want!r}")
    present = got != want
    print("BUG PRESENT" if present else "bug absent")
    return 1 if present else 0


if __name__ == "__main__":
    sys.exit(main())
