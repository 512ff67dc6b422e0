"""OpenVINO's opset ``Convolution`` / ``GroupConvolution`` (CPU plugin) behind F.conv2d's
signature.

One model per shapes, dtype, stride, dilation, padding, groups and bias
presence, compiled for "CPU" once and cached: ``Convolution`` for groups 1,
``GroupConvolution`` with the weight reshaped to (G, O/G, C/G, kh, kw) else,
then ``Add`` of the bias as (1, O, 1, 1).  ``'same'`` and ``'valid'`` are
OpenVINO's ``auto_pad`` "same_upper" (the odd extra row and column at the
end, as torch) and "valid"; numbers are explicit ``pads_begin``/``pads_end``.
Settings: ``INFERENCE_PRECISION_HINT=f32`` (the plugin's default on a CPU
with bfloat16 support computes a float32 model in bfloat16: 2.5e4 times the
bound, measured) and ``INFERENCE_NUM_THREADS=1``.  Even so a float64 model
runs in float32; the domain file claims float32 only.
"""

import functools

import numpy as np

from implementations.frameworks.arguments import (batched, declare, resolve, to_numpy, to_torch,
                                                  unbatched)

CONFIG = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 1}
AUTO_PAD = {"same": "same_upper", "valid": "valid"}


@functools.lru_cache(maxsize=512)  # one model per shape, each ~0.4 MiB (measured): bounded
def _compiled(dtype, x_shape, w_shape, has_bias, stride, dilation, pads, padding, groups):
    import openvino as ov
    from openvino import opset13 as ops

    element = ov.Type(np.dtype(dtype))
    x = ops.parameter(x_shape, element, name="x")
    w = ops.parameter(w_shape, element, name="w")
    top, bottom, left, right = pads
    geometry = dict(strides=list(stride), pads_begin=[top, left], pads_end=[bottom, right],
                    dilations=list(dilation), auto_pad=AUTO_PAD.get(padding, "explicit"))
    if groups == 1:
        y = ops.convolution(x, w, **geometry)
    else:
        out_channels, *rest = w_shape
        grouped = ops.reshape(w, ops.constant(np.array(
            [groups, out_channels // groups, *rest], np.int64)), special_zero=False)
        y = ops.group_convolution(x, grouped, **geometry)
    parameters = [x, w]
    if has_bias:
        b = ops.parameter([w_shape[0]], element, name="b")
        y = ops.add(y, ops.reshape(b, ops.constant(np.array([1, -1, 1, 1], np.int64)),
                                   special_zero=False))
        parameters.append(b)
    model = ov.Model([y], parameters, "conv2d")
    return ov.Core().compile_model(model, "CPU", CONFIG)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d computed by OpenVINO's CPU plugin."""
    call = resolve(input, weight, stride, padding, dilation, groups)
    arrays = [batched(to_numpy(input), call), to_numpy(weight)]
    if bias is not None:
        arrays.append(to_numpy(bias))
    compiled = _compiled(str(arrays[0].dtype), arrays[0].shape, arrays[1].shape, bias is not None,
                         call.stride, call.dilation, call.pads, call.padding, call.groups)
    y = compiled(arrays)[compiled.output(0)]
    return to_torch(unbatched(y, call), input)


declare(conv2d, "openvino", "openvino")
