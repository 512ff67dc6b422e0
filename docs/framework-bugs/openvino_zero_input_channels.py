"""OpenVINO (CPU plugin): a convolution with zero input channels returns uninitialised memory.

Input (1, 0, 4, 4), weight (3, 0, 2, 2): each output sums no products, so the
answer is 0 everywhere (plus the bias, where there is one).  The CPU plugin
returns whatever the output buffer held (1.3, 1.4e-45, NaN, 1.4e36, changing
from call to call).  Exit 1: the bug is present; exit 0: absent.  Needs
openvino and NumPy only.
"""

import sys

import numpy as np
import openvino as ov
from openvino import opset13 as ops


def zero_channel_conv(core, x_shape, w_shape):
    x = ops.parameter(x_shape, ov.Type.f32, name="x")
    w = ops.parameter(w_shape, ov.Type.f32, name="w")
    y = ops.convolution(x, w, strides=[1, 1], pads_begin=[0, 0], pads_end=[0, 0],
                        dilations=[1, 1])
    compiled = core.compile_model(ov.Model([y], [x, w], "conv"), "CPU",
                                  {"INFERENCE_PRECISION_HINT": "f32"})
    inputs = [np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)]
    return compiled(inputs)[compiled.output(0)]


def main():
    print(f"openvino {ov.get_version()}")
    core = ov.Core()
    wrong = 0
    for attempt in range(5):
        y = zero_channel_conv(core, (1, 0, 4, 4), (3, 0, 2, 2))
        nonzero = int(np.count_nonzero(y))
        wrong += nonzero
        print(f"call {attempt}: output {y.shape}, {nonzero} of {y.size} elements are not 0, "
              f"e.g. {y.ravel()[:4]}")
    print("BUG PRESENT" if wrong else "bug absent")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
