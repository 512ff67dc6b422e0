"""The answer to a per-sample problem: the reference, applied sample by sample.

Nothing clever on purpose: ``out[i] = reference.conv2d(input[i:i+1], weight[i],
bias[i], ...)``, and the gradients are the reference's adjoints of each
sample's own call.  Every formulation is judged against this, so the verdict
rests on the reference alone, not on any reshaping trick.
"""

import numpy as np
import torch

import reference
from suite.verdict import as_numpy


def _bias(bias, sample):
    return None if bias is None else bias[sample]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``(N, O, out_h, out_w)``: sample i convolved with weight i (NumPy, float64)."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return np.stack([reference.conv2d(input[i:i + 1], weight[i], _bias(bias, i), **arguments)[0]
                     for i in range(len(input))])


def gradients(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """(grad_input, grad_weight, grad_bias) of ``<conv2d(...), grad_output>``, sample by
    sample; grad_bias is None without a bias."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    outputs = [grad_output[i:i + 1] for i in range(len(input))]
    grad_input = np.stack([reference.grad_input(g, input[i:i + 1].shape, weight[i], **arguments)[0]
                           for i, g in enumerate(outputs)])
    grad_weight = np.stack([reference.grad_weight(g, input[i:i + 1], weight[i].shape, **arguments)
                            for i, g in enumerate(outputs)])
    grad_bias = None if bias is None else np.stack([reference.grad_bias(g) for g in outputs])
    return grad_input, grad_weight, grad_bias


def specification_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``reference.conv2d`` behind F.conv2d's signature: a formulation run on it
    shows what the formulation itself computes, whatever the implementation."""
    arrays = [None if tensor is None else as_numpy(tensor) for tensor in (input, weight, bias)]
    output = reference.conv2d(*arrays, stride=stride, padding=padding, dilation=dilation,
                              groups=groups)
    return torch.from_numpy(output).to(dtype=input.dtype, device=input.device)
