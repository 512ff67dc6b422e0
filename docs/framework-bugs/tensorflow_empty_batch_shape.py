"""TensorFlow (CPU, oneDNN): Conv2D on an empty batch returns the input's shape, not the
output's.

NHWC input (0, 5, 5, 1), filter (3, 3, 1, 4), stride 1, VALID: the output must
be (0, 3, 3, 4) (TF's own shape inference says so); the oneDNN kernel returns
(0, 5, 5, 1).  With TF_ENABLE_ONEDNN_OPTS=0 it is right.  Exit 1: the bug is
present; exit 0: absent.  Needs tensorflow and NumPy only.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main():
    print(f"tensorflow {tf.__version__}, TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(unset: on)')}")
    x = np.zeros((0, 5, 5, 1), np.float32)
    w = np.zeros((3, 3, 1, 4), np.float32)
    y = tf.nn.conv2d(x, w, strides=1, padding="VALID")
    inferred = tf.function(lambda a, b: tf.nn.conv2d(a, b, strides=1, padding="VALID")) \
        .get_concrete_function(tf.TensorSpec(x.shape), tf.TensorSpec(w.shape)).output_shapes
    print(f"returned shape {tuple(y.shape)}, TF's shape inference {tuple(inferred)}, "
          f"expected (0, 3, 3, 4)")
    present = tuple(y.shape) != (0, 3, 3, 4)
    print("BUG PRESENT" if present else "bug absent")
    return 1 if present else 0


if __name__ == "__main__":
    sys.exit(main())
