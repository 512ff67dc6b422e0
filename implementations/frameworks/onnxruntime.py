"""ONNX Runtime's ``Conv`` (CPUExecutionProvider) behind F.conv2d's signature.

One single-node ONNX graph (opset 21; N, C, H, W symbolic, so one session
takes every shape) per dtype, stride, dilation, padding, groups and bias
presence; its ``InferenceSession`` is built once and cached.  Settings:
CPUExecutionProvider only, one intra-op and one inter-op thread (the suite
runs a process per core), ORT's default graph optimisations.  Padding:
``'valid'`` is ``auto_pad=VALID``; ``'same'`` is ``auto_pad=SAME_UPPER`` (the
extra row and column at the end, as torch) where the dilation is 1, and
explicit pads ``[top, left, bottom, right]`` otherwise, because ORT refuses
SAME_UPPER with dilation ("Dilation not supported for AutoPadType::SAME_UPPER").
The CPU provider has no float64 Conv; its domain file says what it claims.
"""

import functools

from implementations.frameworks.arguments import (batched, declare, resolve, to_numpy, to_torch,
                                                  unbatched)

OPSET = 21


def _auto_pad(call):
    """ORT's own padding string for ``call``, where it means what torch's does."""
    if call.padding == "valid":
        return "VALID"
    if call.padding == "same" and call.dilation == (1, 1):
        return "SAME_UPPER"
    return None


@functools.lru_cache(maxsize=512)  # as openvino.py's; a session holds ~0.06 MiB (measured)
def _session(dtype, stride, dilation, pads, auto_pad, groups, has_bias):
    import numpy as np
    import onnxruntime
    from onnx import helper

    element = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    names = ["x", "w"] + (["b"] if has_bias else [])
    inputs = [helper.make_tensor_value_info("x", element, ["N", "C", "H", "W"]),
              helper.make_tensor_value_info("w", element, ["O", "I", "KH", "KW"])]
    if has_bias:
        inputs.append(helper.make_tensor_value_info("b", element, ["O"]))
    top, bottom, left, right = pads
    attributes = dict(strides=list(stride), dilations=list(dilation), group=groups)
    if auto_pad is None:
        attributes["pads"] = [top, left, bottom, right]
    else:
        attributes["auto_pad"] = auto_pad
    node = helper.make_node("Conv", names, ["y"], **attributes)
    output = helper.make_tensor_value_info("y", element, None)
    graph = helper.make_graph([node], "conv2d", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d computed by ONNX Runtime's CPU Conv."""
    call = resolve(input, weight, stride, padding, dilation, groups)
    x, w = batched(to_numpy(input), call), to_numpy(weight)
    session = _session(str(x.dtype), call.stride, call.dilation, call.pads, _auto_pad(call),
                       call.groups, bias is not None)
    feeds = {"x": x, "w": w}
    if bias is not None:
        feeds["b"] = to_numpy(bias)
    (y,) = session.run(None, feeds)
    return to_torch(unbatched(y, call), input)


declare(conv2d, "onnxruntime", "onnxruntime", "onnx")
