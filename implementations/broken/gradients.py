"""Backward bugs: a correct forward with a wrong gradient, as hand-written
backward kernels have shipped them.

Each runs torch's F.conv2d as it is unless autograd is recording a call that
needs a gradient; then it runs a custom autograd Function whose backward
starts from torch's correct gradients and breaks one of them.  The forward
properties never ask for a gradient, so only the gradient properties can
catch these.
"""

import torch
import torch.nn.functional as F

from implementations.broken import broken

EXACT, FLOAT, GRADCHECK = "gradients.exact", "gradients.float", "gradients.gradcheck"
UNCOVERED, NO_GRAD = "gradients.uncovered_zero", "modes.no_grad"


def _correct_gradients(input, weight, bias, arguments, grad_output):
    """torch's own (input, weight, bias) gradients for this call."""
    with torch.enable_grad():
        leaves = [None if t is None else t.detach().requires_grad_() for t in (input, weight, bias)]
        out = F.conv2d(*leaves, **arguments)
        present = [t for t in leaves if t is not None]
        grads = iter(torch.autograd.grad(out, present, grad_output))
    return [None if t is None else next(grads) for t in leaves]


def _with_backward(backward, forward=F.conv2d):
    """A conv2d whose gradient is ``backward(input, weight, bias, arguments,
    grad_output, correct_gradients) -> [input, weight, bias gradients]``."""

    class Conv2d(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight, bias, arguments):
            ctx.save_for_backward(input, weight, bias)
            ctx.arguments = arguments
            return forward(input, weight, bias, **arguments)

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            correct = _correct_gradients(input, weight, bias, ctx.arguments, grad_output)
            return (*backward(input, weight, bias, ctx.arguments, grad_output, correct), None)

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        tracked = torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (input, weight, bias))
        if not tracked:
            return F.conv2d(input, weight, bias, **arguments)
        return Conv2d.apply(input, weight, bias, arguments)
    return conv2d


def _flipped_kernel_input_gradient(input, weight, bias, arguments, grad_output, correct):
    flipped = _correct_gradients(input, weight.flip(-1, -2), bias, arguments, grad_output)
    return [flipped[0], correct[1], correct[2]]


@broken(caught_by=[EXACT, FLOAT, GRADCHECK])
def grad_input_uses_the_unflipped_kernel(input, weight, bias=None, stride=1, padding=0,
                                         dilation=1, groups=1):
    """grad_input is the transposed convolution with the kernel flipped the wrong way."""
    return _with_backward(_flipped_kernel_input_gradient)(input, weight, bias, stride, padding,
                                                          dilation, groups)


def _weight_gradient_without_last_sample(input, weight, bias, arguments, grad_output, correct):
    if input.dim() == 3 or input.shape[0] < 2:
        return correct
    partial = _correct_gradients(input[:-1], weight, bias, arguments, grad_output[:-1])
    return [correct[0], partial[1], correct[2]]


@broken(caught_by=[EXACT, FLOAT])
def grad_weight_skips_the_last_sample(input, weight, bias=None, stride=1, padding=0,
                                      dilation=1, groups=1):
    """grad_weight accumulates over the batch with a loop that stops one sample short."""
    return _with_backward(_weight_gradient_without_last_sample)(
        input, weight, bias, stride, padding, dilation, groups)


def _bias_gradient_of_first_sample(input, weight, bias, arguments, grad_output, correct):
    if bias is None or input.dim() == 3 or input.shape[0] == 0:
        return correct
    return [correct[0], correct[1], grad_output[0].sum(dim=(-1, -2))]


@broken(caught_by=[EXACT, FLOAT])
def grad_bias_sums_the_first_sample_only(input, weight, bias=None, stride=1, padding=0,
                                         dilation=1, groups=1):
    """grad_bias sums grad_output over the first sample's positions, not the batch's."""
    return _with_backward(_bias_gradient_of_first_sample)(input, weight, bias, stride, padding,
                                                          dilation, groups)


def _input_gradient_edge_replicated(input, weight, bias, arguments, grad_output, correct):
    """The rows and columns after the last window copy the last row/column read."""
    from reference import resolve
    geometry = resolve(tuple(input.shape), tuple(weight.shape), None, **arguments)
    grad = correct[0].clone()
    for axis, (stride, dilation, kernel, before, outputs, size) in enumerate(zip(
            geometry.stride, geometry.dilation, geometry.kernel, geometry.padding[::2],
            geometry.output_size, (geometry.height, geometry.width))):
        last_read = (outputs - 1) * stride + (kernel - 1) * dilation - before
        dim = grad.dim() - 2 + axis
        if 0 <= last_read < size - 1:
            edge = grad.narrow(dim, last_read, 1)
            grad.narrow(dim, last_read + 1, size - last_read - 1).copy_(
                edge.expand_as(grad.narrow(dim, last_read + 1, size - last_read - 1)))
    return [grad, correct[1], correct[2]]


@broken(caught_by=[UNCOVERED, EXACT])
def grad_input_leaks_into_rows_no_window_reads(input, weight, bias=None, stride=1, padding=0,
                                               dilation=1, groups=1):
    """grad_input is padded up to the input size by replicating its edge, not with zeros."""
    return _with_backward(_input_gradient_edge_replicated)(input, weight, bias, stride, padding,
                                                           dilation, groups)


def _without_bias(input, weight, bias=None, **arguments):
    return F.conv2d(input, weight, None, **arguments)


def _unchanged(input, weight, bias, arguments, grad_output, correct):
    return correct


@broken(caught_by=[NO_GRAD])
def drops_the_bias_in_grad_mode(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                groups=1):
    """The training path (grad mode) forgets to add the bias; its gradients are right."""
    return _with_backward(_unchanged, forward=_without_bias)(input, weight, bias, stride,
                                                             padding, dilation, groups)
