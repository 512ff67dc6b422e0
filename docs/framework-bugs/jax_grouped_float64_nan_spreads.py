"""JAX (XLA:CPU): a float64 grouped convolution with one input channel per group lets a NaN
in one group's input reach every group's output.

Input (1, 2, 5, 5), weight (2, 1, 5, 5), feature_group_count=2, a NaN at
input[0, 0, 0, 0].  Output channel 1 reads only input channel 1, which holds
no NaN, so it must be finite; float32 gets it right.  Exit 1: the bug is
present; exit 0: absent.  Needs jax and NumPy only.
"""

import sys

import jax
import numpy as np

jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_enable_x64", True)


def grouped_conv(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 5)).astype(dtype)
    w = rng.standard_normal((2, 1, 5, 5)).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    y = jax.lax.conv_general_dilated(x, w, window_strides=(1, 1), padding=[(0, 0), (0, 0)],
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                     feature_group_count=2)
    return np.asarray(y)


def main():
    print(f"jax {jax.__version__}, jaxlib {jax.lib.__version__}")
    for dtype in (np.float32, np.float64):
        y = grouped_conv(dtype)
        print(f"{np.dtype(dtype).name}: channel 0 {y[0, 0].ravel()}, channel 1 {y[0, 1].ravel()} "
              f"(channel 1 must be finite: its group holds no NaN)")
    present = bool(np.isnan(grouped_conv(np.float64)[0, 1]).any())
    print("BUG PRESENT" if present else "bug absent")
    return 1 if present else 0


if __name__ == "__main__":
    sys.exit(main())
