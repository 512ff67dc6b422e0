"""The adjoints of conv2d: what backpropagation must compute.

conv2d is linear in input and in weight, so its gradients are the transposed
maps applied to ``grad_output``:

    <conv2d(x, w), g> == <x, grad_input(g, w)> == <w, grad_weight(g, x)>

with the plain bilinear product ``<a, b> = sum(a * b)`` (no conjugation).
"""

import numpy as np

from reference.arguments import resolve
from reference.forward import batched, columns, compute_dtype, padded, unbatched, weight_rows


def _resolve(input_shape, weight_shape, stride, padding, dilation, groups):
    return resolve(input_shape, weight_shape, None, stride, padding, dilation, groups)


def _output_rows(geometry, grad_output, dtype):
    """grad_output as ``(groups, out_channels/groups, N * out_h * out_w)``."""
    g = batched(geometry, np.asarray(grad_output)).astype(dtype, copy=False)
    n, groups = g.shape[0], geometry.groups
    out_h, out_w = geometry.output_size
    per_group = geometry.out_channels // groups
    g = g.reshape(n, groups, per_group, out_h * out_w).transpose(1, 2, 0, 3)
    return g.reshape(groups, per_group, n * out_h * out_w)


def grad_input(grad_output, input_shape, weight, stride=1, padding=0, dilation=1, groups=1):
    """d<conv2d(x, w), grad_output>/dx: every window scatters weight * grad back (col2im)."""
    weight = np.asarray(weight)
    geometry = _resolve(input_shape, weight.shape, stride, padding, dilation, groups)
    dtype = compute_dtype(weight, np.asarray(grad_output))
    go = _output_rows(geometry, grad_output, dtype)
    field = weight_rows(geometry, weight, dtype).transpose(0, 2, 1) @ go
    (sh, sw), (dh, dw), (kh, kw) = geometry.stride, geometry.dilation, geometry.kernel
    out_h, out_w = geometry.output_size
    n = go.shape[2] // (out_h * out_w)
    group_channels = geometry.in_channels // groups
    field = field.reshape(groups, group_channels, kh, kw, n, out_h, out_w)

    shape = (n, geometry.in_channels, geometry.height, geometry.width)
    grad = padded(geometry, np.zeros(shape, dtype), dtype)
    grad_groups = grad.reshape(n, groups, group_channels, *grad.shape[2:])
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (out_h - 1) + 1, sh)
            cols = slice(q * dw, q * dw + sw * (out_w - 1) + 1, sw)
            grad_groups[:, :, :, rows, cols] += field[:, :, p, q].transpose(2, 0, 1, 3, 4)
    top, _, left, _ = geometry.padding
    grad = grad[:, :, top:top + geometry.height, left:left + geometry.width]
    return unbatched(geometry, np.ascontiguousarray(grad))


def grad_weight(grad_output, input, weight_shape, stride=1, padding=0, dilation=1, groups=1):
    """d<conv2d(x, w), grad_output>/dw: grad_output correlated with the receptive fields."""
    input = np.asarray(input)
    geometry = _resolve(input.shape, weight_shape, stride, padding, dilation, groups)
    dtype = compute_dtype(input, np.asarray(grad_output))
    go = _output_rows(geometry, grad_output, dtype)
    fields = columns(geometry, padded(geometry, batched(geometry, input), dtype))
    return (go @ fields.transpose(0, 2, 1)).reshape(weight_shape)


def grad_bias(grad_output):
    """d<conv2d(x, w, b), grad_output>/db: grad_output summed over all but channels."""
    grad_output = np.asarray(grad_output)
    axes = (0, 2, 3) if grad_output.ndim == 4 else (1, 2)
    return grad_output.sum(axis=axes, dtype=compute_dtype(grad_output))
