"""TensorFlow's ``tf.nn.conv2d`` (CPU, NHWC) behind F.conv2d's signature.

The CPU kernel takes only NHWC, so the input goes in transposed to NHWC and
the output comes back to NCHW; the weight becomes HWIO (kh, kw, C/g, O), and
TF infers the groups from the input's channels over the filter's.  The bias is
``tf.nn.bias_add``.  ``'same'`` and ``'valid'`` are TF's ``'SAME'`` and
``'VALID'`` (SAME at stride 1 pads the dilated kernel's extent minus one, the
odd one after: torch's split); numbers are explicit ``[[0, 0], [top, bottom],
[left, right], [0, 0]]``.  Settings: one intra-op and one inter-op thread (set
before TF's runtime starts), TF's default CPU path, which is oneDNN's
(TF_ENABLE_ONEDNN_OPTS unset); TF flushes subnormals to zero ([claims]).
"""

import functools
import os

from implementations.frameworks.arguments import (batched, declare, resolve, to_numpy, to_torch,
                                                  unbatched)


@functools.cache
def _tf():
    """tensorflow, imported once with this adapter's settings."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.set_visible_devices([], "GPU")
    return tf


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d computed by tf.nn.conv2d (groups: the input's channels over the filter's)."""
    tf = _tf()
    call = resolve(input, weight, stride, padding, dilation, groups)
    top, bottom, left, right = call.pads
    pads = {"same": "SAME", "valid": "VALID"}.get(
        call.padding, [[0, 0], [top, bottom], [left, right], [0, 0]])
    x = batched(to_numpy(input), call).transpose(0, 2, 3, 1)
    y = tf.nn.conv2d(x, to_numpy(weight).transpose(2, 3, 1, 0), strides=[1, *call.stride, 1],
                     padding=pads, data_format="NHWC", dilations=[1, *call.dilation, 1])
    if bias is not None:
        y = tf.nn.bias_add(y, to_numpy(bias))
    return to_torch(unbatched(y.numpy().transpose(0, 3, 1, 2), call), input)


declare(conv2d, "tensorflow", "tensorflow")
