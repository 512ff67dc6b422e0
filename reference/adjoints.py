"""The adjoints of conv2d: what backpropagation must compute.

conv2d is linear in input and in weight, so its gradients are the transposed
maps applied to ``grad_output``:

    <conv2d(x, w), g> == <x, grad_input(g, w)> == <w, grad_weight(g, x)>

with the plain bilinear product ``<a, b> = sum(a * b)`` (no conjugation).

conv2d is bilinear in (input, weight) and affine in bias, so its derivatives
of every order are convolutions again:

- forward mode: along ``(dx, dw, db)`` the output moves by
  ``conv2d(dx, w) + conv2d(x, dw) + db`` (``conv2d_tangent``);
- double backward: the first gradients ``gx = grad_input(g, w)``,
  ``gw = grad_weight(g, x)``, ``gb = grad_bias(g)`` are themselves bilinear in
  ``(g, w)`` and ``(g, x)``.  Backpropagating cotangents ``(ggI, ggW, ggb)``
  through them differentiates ``<gx, ggI> + <gw, ggW> + <gb, ggb>
  == <g, conv2d(ggI, w) + conv2d(x, ggW) + ggb>``, which gives
  ``grad_input(g, ggW)`` for x, ``grad_weight(g, ggI)`` for w, zero for b and
  ``conv2d_tangent(x, w, ggI, ggW, ggb)`` for g (``double_backward``);
- forward over reverse: along ``(dx, dw)`` and a grad_output tangent ``dg``
  the first gradients move by ``grad_input(dg, w) + grad_input(g, dw)``,
  ``grad_weight(dg, x) + grad_weight(g, dx)`` and ``grad_bias(dg)``
  (``gradient_tangents``).
"""

import numpy as np

from reference.arguments import resolve
from reference.forward import (batched, columns, compute_dtype, conv2d, padded, unbatched,
                               weight_rows)


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


def conv2d_tangent(input, weight, input_tangent, weight_tangent, bias_tangent=None, stride=1,
                   padding=0, dilation=1, groups=1):
    """The forward-mode derivative of conv2d at (x, w, b) along (dx, dw, db):
    ``conv2d(dx, w) + conv2d(x, dw) + db`` (b itself does not enter)."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return (conv2d(input_tangent, weight, bias_tangent, **arguments)
            + conv2d(input, weight_tangent, None, **arguments))


def double_backward(grad_output, input, weight, grad_grad_input, grad_grad_weight,
                    grad_grad_bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The gradients of ``<gx, ggI> + <gw, ggW> + <gb, ggb>`` (the first gradients
    against their cotangents): ``{"input", "weight", "grad_output"}``; the bias
    gets none, as no first gradient depends on it."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    input, weight = np.asarray(input), np.asarray(weight)
    return {"input": grad_input(grad_output, input.shape, grad_grad_weight, **arguments),
            "weight": grad_weight(grad_output, grad_grad_input, weight.shape, **arguments),
            "grad_output": conv2d_tangent(input, weight, grad_grad_input, grad_grad_weight,
                                          grad_grad_bias, **arguments)}


def gradient_tangents(grad_output, input, weight, input_tangent, weight_tangent,
                      grad_output_tangent, stride=1, padding=0, dilation=1, groups=1):
    """The forward-mode derivative of the first gradients along (dx, dw) and dg:
    ``{"input.grad", "weight.grad", "bias.grad"}``."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    input, weight = np.asarray(input), np.asarray(weight)
    return {"input.grad": grad_input(grad_output_tangent, input.shape, weight, **arguments)
            + grad_input(grad_output, input.shape, weight_tangent, **arguments),
            "weight.grad": grad_weight(grad_output_tangent, input, weight.shape, **arguments)
            + grad_weight(grad_output, input_tangent, weight.shape, **arguments),
            "bias.grad": grad_bias(grad_output_tangent)}
