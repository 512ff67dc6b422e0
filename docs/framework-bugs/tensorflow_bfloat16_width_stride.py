"""TensorFlow (CPU, oneDNN): a bfloat16 convolution with a width stride and a single output
column returns wrong rows.

Input NCHW (1, 2, 3, 4) = NHWC (1, 3, 4, 2), filter HWIO (2, 4, 1, 4) (two
groups: TF infers them from 2 input channels over the filter's 1), strides
(1, 2), VALID: the output is (1, 2, 1, 4), a single column. On small integers
every product and sum is exact in bfloat16's float32 accumulation, so the
answer is known exactly (computed here in float64). The oneDNN kernel, run on
one thread, returns wrong values in row 1 (and garbage such as inf or 2.7e38
for taller inputs); with TF's default thread pools the same call came out
right here, and TF_ENABLE_ONEDNN_OPTS=0 gives exact values. An earlier run met
it on an Intel Xeon with AMX without groups (input (1, 1, 9, 5), 3x3 filter,
strides (1, 2), dilations (1, 2)); on this AMD EPYC (AVX-512 with bfloat16, no
AMX) that call is exact and the grouped one is wrong. Exit 1: the bug is
present; exit 0: absent.  Needs tensorflow and NumPy only.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)  # one thread, as the suite's adapter
tf.config.threading.set_inter_op_parallelism_threads(1)


def expected(x, w, stride):
    """The grouped cross-correlation in float64 (NHWC input, HWIO filter, VALID)."""
    (sh, sw), (kh, kw, group_channels, out_channels) = stride, w.shape
    groups = x.shape[3] // group_channels
    per_group = out_channels // groups
    out_h, out_w = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    y = np.zeros((x.shape[0], out_h, out_w, out_channels))
    for o in range(out_channels):
        g = o // per_group
        channels = x[..., g * group_channels:(g + 1) * group_channels]
        for i in range(out_h):
            for j in range(out_w):
                window = channels[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                y[:, i, j, o] = np.sum(window * w[..., o], axis=(1, 2, 3))
    return y


def main():
    print(f"tensorflow {tf.__version__}, TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(unset: on)')}")
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (1, 3, 4, 2)).astype(np.float64)
    w = rng.integers(-3, 4, (2, 4, 1, 4)).astype(np.float64)
    want = expected(x, w, (1, 2))
    wrong = 0
    for attempt in range(5):
        y = tf.nn.conv2d(tf.cast(x, tf.bfloat16), tf.cast(w, tf.bfloat16), strides=[1, 1, 2, 1],
                         padding="VALID")
        got = tf.cast(y, tf.float64).numpy()
        bad = int(np.sum(~(got == want)))
        wrong += bad
        print(f"call {attempt}: {bad} of {got.size} outputs wrong; got {got.ravel()}, "
              f"expected {want.ravel()}")
    print("BUG PRESENT" if wrong else "bug absent")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
