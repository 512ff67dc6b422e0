"""Bugs of higher-order and forward-mode derivatives, as hand-written autograd
Functions ship them: the forward and the first gradients are right.

Each runs torch's F.conv2d as it is unless autograd is recording a gradient
or a forward-mode tangent; then it runs a custom ``torch.autograd.Function``
(functorch-ready: ``setup_context``, ``jvp``, and a generated vmap rule)
whose forward is F.conv2d, whose backward is ``aten.convolution_backward``
(itself differentiable) and whose jvp is the sum of the tangent
convolutions, with one of them broken.  The input is padded explicitly and
batched before the Function, so it only meets numeric arguments; complex
calls stay F.conv2d's (aten.convolution_backward has no complex kernel).  The
forward properties never record either, and the first-order gradient
properties see the right gradients, so only the properties of
tests/test_autograd_modes.py can catch these.
"""

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F

from implementations.broken import broken

DOUBLE_EXACT, DOUBLE_FLOAT = "autograd.double_backward_exact", "autograd.double_backward_float"
GRADGRADCHECK, OVER_REVERSE = "autograd.gradgradcheck", "autograd.forward_over_reverse"
FORWARD_EXACT, FORWARD_FLOAT = "autograd.forward_mode_exact", "autograd.forward_mode_float"


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value) * (2 // len(value))


def _correct_tangent(input, weight, bias, input_t, weight_t, bias_t, stride, dilation, groups):
    tangent = None
    if input_t is not None:
        tangent = F.conv2d(input_t, weight, bias_t, stride, 0, dilation, groups)
    elif bias_t is not None:
        tangent = bias_t[:, None, None].expand(F.conv2d(input, weight, None, stride, 0, dilation,
                                                        groups).shape)
    if weight_t is not None:
        term = F.conv2d(input, weight_t, None, stride, 0, dilation, groups)
        tangent = term if tangent is None else tangent + term
    return tangent


def _function(*, saved_weight=lambda weight: weight, tangent=_correct_tangent):
    """A conv2d Function on padded, batched input; ``saved_weight`` is what backward
    sees of the weight, ``tangent`` computes the jvp."""

    class Conv2d(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(input, weight, bias, stride, dilation, groups):
            return F.conv2d(input, weight, bias, stride, 0, dilation, groups)

        @staticmethod
        def setup_context(ctx, inputs, output):
            input, weight, bias, stride, dilation, groups = inputs
            ctx.save_for_backward(input, saved_weight(weight))
            ctx.save_for_forward(input, weight, bias)
            ctx.options = (stride, dilation, groups, None if bias is None else tuple(bias.shape))

        @staticmethod
        def backward(ctx, grad_output):
            input, weight = ctx.saved_tensors
            stride, dilation, groups, bias_shape = ctx.options
            mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1],
                    bias_shape is not None and ctx.needs_input_grad[2]]
            grad_input, grad_weight, grad_bias = torch.ops.aten.convolution_backward(
                grad_output, input, weight, bias_shape, stride, (0, 0), dilation, False, (0, 0),
                groups, mask)
            return grad_input, grad_weight, grad_bias, None, None, None

        @staticmethod
        def jvp(ctx, input_t, weight_t, bias_t, *_):
            input, weight, bias = ctx.saved_tensors
            stride, dilation, groups, _ = ctx.options
            return tangent(input, weight, bias, input_t, weight_t, bias_t, stride, dilation,
                           groups)

    return Conv2d


def _recorded(tensors):
    """Whether autograd records a gradient or a forward-mode tangent for this call."""
    present = [tensor for tensor in tensors if tensor is not None]
    return any(fwAD.unpack_dual(tensor).tangent is not None for tensor in present) or (
        torch.is_grad_enabled() and any(tensor.requires_grad for tensor in present))


def _via(function, input, weight, bias, stride, padding, dilation, groups):
    # aten.convolution_backward has no complex kernel (torch differentiates complex
    # conv2d through real ones), so complex calls stay torch's own.
    if input.is_complex() or not _recorded((input, weight, bias)):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    from reference import resolve
    geometry = resolve(tuple(input.shape), tuple(weight.shape),
                       None if bias is None else tuple(bias.shape), stride, padding, dilation,
                       groups)
    top, bottom, left, right = geometry.padding
    x = input if geometry.batched else input.unsqueeze(0)
    x = F.pad(x, (left, right, top, bottom))
    out = function.apply(x, weight, bias, _pair(stride), _pair(dilation), groups)
    return out if geometry.batched else out.squeeze(0)


def _detached(weight):
    return weight.detach()


_DETACHED_WEIGHT = _function(saved_weight=_detached)


@broken(caught_by=[DOUBLE_EXACT, DOUBLE_FLOAT, GRADGRADCHECK, OVER_REVERSE])
def backward_saves_a_detached_weight(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                     groups=1):
    """backward saves weight.detach(): right gradients, but input.grad is constant in w."""
    return _via(_DETACHED_WEIGHT, input, weight, bias, stride, padding, dilation, groups)


def _without_weight_tangent(input, weight, bias, input_t, weight_t, bias_t, stride, dilation,
                            groups):
    return _correct_tangent(input, weight, bias, input_t, None, bias_t, stride, dilation, groups)


_INPUT_ONLY_TANGENT = _function(tangent=_without_weight_tangent)


@broken(caught_by=[FORWARD_EXACT, FORWARD_FLOAT])
def jvp_forgets_the_weight_tangent(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                   groups=1):
    """The jvp is conv2d(dx, w) + db: the weight's tangent conv2d(x, dw) is left out."""
    return _via(_INPUT_ONLY_TANGENT, input, weight, bias, stride, padding, dilation, groups)
