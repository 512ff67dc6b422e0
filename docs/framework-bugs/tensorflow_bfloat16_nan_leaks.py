"""TensorFlow's oneDNN Conv2D in bfloat16: a NaN in the input reaches an output whose
window does not hold it (the output reading the element stored before it)."""
import os
import sys

import numpy as np
import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
x = np.array([2.0, np.nan, 0.0], np.float32).reshape(1, 1, 3, 1)  # NHWC: one row, 3 columns
w = np.array([-1.0], np.float32).reshape(1, 1, 1, 1)               # HWIO, a 1x1 kernel
out = tf.nn.conv2d(tf.cast(x, tf.bfloat16), tf.cast(w, tf.bfloat16), strides=[1, 1, 2, 1],
                   padding="VALID")
got = tf.cast(out, tf.float32).numpy().reshape(-1)
print("TF_ENABLE_ONEDNN_OPTS", os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(default)"),
      "expected [-2, -0], got", got)
sys.exit(1 if np.isnan(got).any() else 0)
