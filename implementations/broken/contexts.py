"""Bugs that only a context programs call conv2d in shows (case/context.py).

Each is right for a plain call (every tensor requiring grad, a contiguous
gradient, one thread, grad mode, a fresh process, contiguous weights) and
wrong in one context: the one its properties draw.
"""

import torch
import torch.nn.functional as F

from implementations.broken import broken
from implementations.broken.gradients import _correct_gradients, _with_backward

EXACT, FLOAT, TWICE = "gradients.exact", "gradients.float", "gradients.twice"


def _weight_gradient_without_input_gradient(input, weight, bias, arguments, grad_output,
                                            correct):
    """With the data needing no gradient (the first layer), grad_weight is taken from a
    kernel that assumed grad_input was computed alongside it: transposed."""
    if input.requires_grad or weight.dim() != 4 or weight.shape[-1] != weight.shape[-2]:
        return correct
    return [correct[0], correct[1].transpose(-1, -2), correct[2]]


@broken(caught_by=[EXACT])
def transposes_grad_weight_when_the_input_needs_no_gradient(input, weight, bias=None, stride=1,
                                                           padding=0, dilation=1, groups=1):
    """The output mask path without grad_input returns grad_weight transposed."""
    return _with_backward(_weight_gradient_without_input_gradient)(
        input, weight, bias, stride, padding, dilation, groups)


def _as_if_contiguous(tensor):
    """``tensor``'s storage read as if it were laid out contiguously from its start."""
    if tensor.is_contiguous():
        return tensor
    dense = torch.zeros(tensor.shape, dtype=tensor.dtype, device=tensor.device)
    flat = torch.as_strided(tensor, (min(tensor.numel(), tensor.untyped_storage().nbytes()
                                         // tensor.element_size() - tensor.storage_offset()),),
                            (1,), tensor.storage_offset())
    dense.view(-1)[:flat.numel()] = flat
    return dense


def _gradients_of_a_contiguous_grad_output(input, weight, bias, arguments, grad_output, correct):
    if grad_output.is_contiguous():
        return correct
    return _correct_gradients(input, weight, bias, arguments, _as_if_contiguous(grad_output))


@broken(caught_by=[EXACT, FLOAT])
def reads_grad_output_as_if_contiguous(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                       groups=1):
    """Backward reads grad_output's storage as a contiguous tensor: right for the gradient a
    test makes, wrong for out.sum()'s expanded one or a channels_last or strided view."""
    return _with_backward(_gradients_of_a_contiguous_grad_output)(
        input, weight, bias, stride, padding, dilation, groups)


class _ScalesTheSavedInput(torch.autograd.Function):
    """A backward that rescales a saved tensor in place to save memory, and forgets it."""

    @staticmethod
    def forward(ctx, input, weight, bias, arguments):
        saved = input.detach().clone()
        ctx.save_for_backward(saved, weight, bias)
        ctx.arguments = arguments
        return F.conv2d(input, weight, bias, **arguments)

    @staticmethod
    def backward(ctx, grad_output):
        saved, weight, bias = ctx.saved_tensors
        correct = _correct_gradients(saved, weight, bias, ctx.arguments, grad_output)
        saved.mul_(2)  # the in-place rescale: the next backward over this graph sees it
        return (*correct, None)


@broken(caught_by=[TWICE])
def rescales_its_saved_input_during_backward(input, weight, bias=None, stride=1, padding=0,
                                             dilation=1, groups=1):
    """Backward changes a tensor it saved, so a second backward over the graph (retain_graph,
    two losses) computes grad_weight from the changed one."""
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if not (torch.is_grad_enabled() and weight.requires_grad):
        return F.conv2d(input, weight, bias, **arguments)
    return _ScalesTheSavedInput.apply(input, weight, bias, arguments)


def _steps_the_bias(input, weight, bias, arguments, grad_output, correct):
    if bias is not None and 0 not in bias.stride():  # an expanded bias cannot be written
        bias.data.sub_(correct[2])  # past autograd's version counter: no error is raised
    return correct


@broken(caught_by=[TWICE])
def updates_the_bias_during_backward(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                     groups=1):
    """Backward fuses an optimiser step into the bias it was given (bias -= its gradient):
    every gradient is right, but the caller's bias has changed after backward."""
    return _with_backward(_steps_the_bias)(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=["threads.agree"])
def splits_the_batch_among_threads_and_drops_the_rest(input, weight, bias=None, stride=1,
                                                      padding=0, dilation=1, groups=1):
    """Each of T threads gets N // T samples; the N % T left over are never computed."""
    out = F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    threads = torch.get_num_threads()
    if input.dim() != 4 or threads == 1 or input.shape[0] % threads == 0:
        return out
    out = out.clone()
    out[input.shape[0] - input.shape[0] % threads:] = 0
    return out


@broken(caught_by=["modes.no_grad"])
def drops_the_bias_under_inference_mode(input, weight, bias=None, stride=1, padding=0,
                                        dilation=1, groups=1):
    """An inference fast path (torch.inference_mode) that forgets the bias."""
    if torch.is_inference_mode_enabled():
        bias = None
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=["modes.autocast"])
def computes_in_float32_under_autocast(input, weight, bias=None, stride=1, padding=0,
                                       dilation=1, groups=1):
    """A custom kernel that ignores autocast: float32 tensors give a float32 output."""
    with torch.autocast(input.device.type, enabled=False):
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


@broken(caught_by=["forward.exact", "layouts.views"])
def reads_the_weight_storage_as_if_contiguous(input, weight, bias=None, stride=1, padding=0,
                                              dilation=1, groups=1):
    """Packs the weight from its storage as if it were contiguous from the start: wrong for
    a slice, an offset or a transposed view of a bigger parameter."""
    if weight.is_contiguous() or weight.is_contiguous(memory_format=torch.channels_last) \
            or 0 in weight.stride():
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    packed = torch.as_strided(weight, weight.shape, torch.empty(weight.shape).stride(), 0)
    return F.conv2d(input, packed, bias, stride, padding, dilation, groups)


@broken(caught_by=["layouts.views"])
def ignores_the_bias_storage_offset(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                    groups=1):
    """Reads the bias from the start of its storage, one element apart: wrong for a bias
    that is a slice or an offset view of a bigger parameter."""
    if bias is not None and bias.dim() == 1 and (bias.storage_offset() or bias.stride(0) > 1):
        bias = torch.as_strided(bias, bias.shape, (1,), 0)
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


_PACKED = {}


@broken(caught_by=["history.independent"])
def caches_packed_weights_by_shape(input, weight, bias=None, stride=1, padding=0, dilation=1,
                                   groups=1):
    """Keeps the weight it packed for a shape and dtype and reuses it for any later weight
    of that shape and dtype: a cache keyed too coarsely (not by the weight's data)."""
    key = (tuple(weight.shape), weight.dtype, weight.device.type)
    packed = _PACKED.setdefault(key, weight.detach().clone())
    return F.conv2d(input, packed, bias, stride, padding, dilation, groups)
