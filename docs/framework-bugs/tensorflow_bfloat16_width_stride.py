"""TensorFlow (CPU, oneDNN): a bfloat16 convolution with a width stride returns garbage.

Input NCHW (1, 1, 9, 5) = NHWC (1, 9, 5, 1), a 3x3 filter, strides (1, 2),
dilations (1, 2), VALID: the output is (1, 7, 1, 1), a single column.  On
small integers every product and sum is exact in bfloat16's float32
accumulation, so the answer is known exactly (computed here in float64).  The
oneDNN kernel returns wrong rows (NaN, huge values) that vary between runs;
with TF_ENABLE_ONEDNN_OPTS=0 it is exact.  Exit 1: the bug is present; exit 0:
absent.  Needs tensorflow and NumPy only.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def expected(x, w, stride, dilation):
    """The cross-correlation in float64 (NHWC input, HWIO filter, one channel)."""
    (sh, sw), (dh, dw) = stride, dilation
    kh, kw = w.shape[:2]
    out_h = (x.shape[1] - dh * (kh - 1) - 1) // sh + 1
    out_w = (x.shape[2] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((1, out_h, out_w, 1))
    for i in range(out_h):
        for j in range(out_w):
            window = x[0, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw, 0]
            y[0, i, j, 0] = np.sum(window * w[:, :, 0, 0])
    return y


def main():
    print(f"tensorflow {tf.__version__}, TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(unset: on)')}")
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (1, 9, 5, 1)).astype(np.float64)
    w = rng.integers(-3, 4, (3, 3, 1, 1)).astype(np.float64)
    want = expected(x, w, (1, 2), (1, 2))
    wrong = 0
    for attempt in range(5):
        y = tf.nn.conv2d(tf.cast(x, tf.bfloat16), tf.cast(w, tf.bfloat16), strides=[1, 1, 2, 1],
                         padding="VALID", dilations=[1, 1, 2, 1])
        got = tf.cast(y, tf.float64).numpy()
        bad = int(np.sum(~(got == want)))
        wrong += bad
        print(f"call {attempt}: {bad} of {got.size} outputs wrong; got {got.ravel()}, "
              f"expected {want.ravel()}")
    print("BUG PRESENT" if wrong else "bug absent")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
