"""Per-sample gradients: by backpropagation through a formulation, and by vmap(grad).

The gradient of ``<out, grad_output>`` with respect to (input, weight, bias) of
a per-sample problem is, sample by sample, the gradient of that sample's own
call.  The PyTorch per-sample-gradients tutorial computes it with
``vmap(grad(...))``; backpropagating through the loop or the grouped trick must
give the same tensors, and all of them the reference's adjoints.
"""

import torch

from case.data import grad_output_array


def upstream_gradient(case, arrays):
    """``grad_output`` for ``case`` with data ``arrays``: case/data.py's for the one
    grouped call of the grouped trick, reshaped.  Each gradient element of that
    call is the same sum as in the per-sample problem, so in the exact tier
    (integers thinned until every gradient sum is exact) any summation order
    gives the same bits and the check is bitwise."""
    grouped = grad_output_array(case.as_grouped_call(), case.grouped_arrays(arrays))
    return grouped.reshape(case.output_shape)


def _with_bias_slot(gradients, bias):
    """(input, weight, bias) gradients; bias's is None when there is no bias."""
    return (*gradients, None) if bias is None else tuple(gradients)


def backpropagated(formulation, conv2d, tensors, grad_output, arguments):
    """(grad_input, grad_weight, grad_bias) by autograd through ``formulation``;
    a gradient that autograd never reaches is None."""
    leaves = [None if tensor is None else tensor.detach().requires_grad_() for tensor in tensors]
    out = formulation(conv2d, *leaves, **arguments)
    present = [leaf for leaf in leaves if leaf is not None]
    gradients = torch.autograd.grad(out, present, grad_output, allow_unused=True)
    return _with_bias_slot(gradients, leaves[2])


def vmapped_grad(conv2d, tensors, grad_output, arguments):
    """(grad_input, grad_weight, grad_bias) by ``vmap(grad(<conv2d(x_i, w_i, b_i), g_i>))``."""
    input, weight, bias = tensors

    def sample_objective(sample_input, sample_weight, sample_bias, sample_grad_output):
        out = conv2d(sample_input, sample_weight, sample_bias, **arguments)
        return (out * sample_grad_output).sum()

    argnums = (0, 1) if bias is None else (0, 1, 2)
    in_dims = (0, 0, None if bias is None else 0, 0)
    per_sample = torch.func.vmap(torch.func.grad(sample_objective, argnums=argnums),
                                 in_dims=in_dims)
    return _with_bias_slot(per_sample(input, weight, bias, grad_output), bias)
