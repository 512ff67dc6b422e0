"""Per-sample weights: ``out[i] = conv2d(input[i], weight[i], bias[i])``, the definition.

Shapes: input ``(N, C, H, W)``, weight ``(N, O, C/g, kh, kw)``, bias ``(N, O)``
or None; stride, padding, dilation and groups ``g`` are those of every
sample's own call.  Nothing clever on purpose: the reference applied sample
by sample, and the gradients are the adjoints of each sample's own call, so
every way of computing it is judged against the definition, not a reshape.
"""

import numpy as np

from reference.adjoints import grad_bias, grad_input, grad_weight
from reference.forward import conv2d as sample_conv2d


def _bias(bias, sample):
    return None if bias is None else bias[sample]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``(N, O, out_h, out_w)``: sample i convolved with weight i (float64)."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return np.stack([sample_conv2d(input[i:i + 1], weight[i], _bias(bias, i), **arguments)[0]
                     for i in range(len(input))])


def gradients(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """(grad_input, grad_weight, grad_bias) of ``<conv2d(...), grad_output>``, sample by
    sample; grad_bias is None without a bias."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    outputs = [grad_output[i:i + 1] for i in range(len(input))]
    inputs = [grad_input(g, input[i:i + 1].shape, weight[i], **arguments)[0]
              for i, g in enumerate(outputs)]
    weights = [grad_weight(g, input[i:i + 1], weight[i].shape, **arguments)
               for i, g in enumerate(outputs)]
    biases = None if bias is None else np.stack([grad_bias(g) for g in outputs])
    return np.stack(inputs), np.stack(weights), biases
