"""Ways to compute ``out[i] = conv2d(input[i], weight[i], bias[i])``, and two misreadings.

Shapes: input ``(N, C, H, W)``, weight ``(N, O, C/g, kh, kw)``, bias ``(N, O)``
or None; ``groups`` is ``g``, the groups of each sample's own convolution (a
per-sample weight may itself be grouped).  Each function takes the conv2d
under test first and calls it for every convolution it does, so a property
about a formulation is a property of that conv2d.

The formulations (``FORMULATIONS``, by the name a per-sample case's
descriptor gives them) all compute the same function:
- ``loop``: one call per sample, concatenated (slow, obviously right);
- ``grouped_trick``: one grouped call on the batch folded into channels;
- ``vmapped`` (``vmap``): ``torch.func.vmap`` over the per-sample call;
- ``im2col_einsum``: receptive fields gathered, then contracted with each
  sample's weight;
and, for a kernel spanning the full height (or width) without padding,
``channel_summed_matmul`` (pure matmul, no convolution at all).

The rest are written down so that properties can say what they really compute:
- ``grouped_trick_in_the_wrong_order``: the classic reshape mistake;
- ``weights_as_out_channels``: the batch of weights passed as an ordinary weight;
- ``groups_set_to_batch_size``: ``groups=N`` on the untouched batch;
- ``per_channel_matmul``: the note's ``A^T @ B`` per channel, not yet summed.
"""

import torch


def _flat_bias(bias):
    return None if bias is None else bias.reshape(-1)


def loop(conv2d, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """One call per sample, concatenated: the definition, and the slowest way."""
    return torch.cat([conv2d(input[i:i + 1], weight[i], None if bias is None else bias[i],
                             stride, padding, dilation, groups)
                      for i in range(input.shape[0])])


def grouped_trick(conv2d, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """One call: input ``(1, N*C, H, W)``, weight ``(N*O, C/g, kh, kw)``, ``groups=N*g``.

    Group ``n*g + j`` of the call is group ``j`` of sample ``n``: the input's
    channels and the weight's out_channels are both sample-major, which plain
    reshapes of contiguous tensors give.
    """
    n, channels, height, width = input.shape
    out_channels = weight.shape[1]
    out = conv2d(input.reshape(1, n * channels, height, width),
                 weight.reshape(n * out_channels, *weight.shape[2:]), _flat_bias(bias),
                 stride, padding, dilation, n * groups)
    return out.reshape(n, out_channels, *out.shape[2:])


def grouped_trick_in_the_wrong_order(conv2d, input, weight, bias=None, stride=1, padding=0,
                                     dilation=1, groups=1):
    """WRONG: the grouped trick with the input folded group-major, the weight sample-major.

    The pitfall of shared notes section 4 (``x.view(N/G, G*C, ...)`` instead of
    ``x.view(G, N/G, C, ...).transpose(0, 1)``): call-group ``k = n*g + j``, which
    the weight gives to group ``j`` of sample ``n``, gets the channels of group
    ``k // N`` of sample ``k % N``.  It is right when ``N == 1`` or ``g == 1``
    and wrong only when both exceed 1, so a test must reach that corner to see it.
    """
    n, channels, height, width = input.shape
    group_major = input.reshape(n, groups, channels // groups, height, width).transpose(0, 1)
    return grouped_trick(conv2d, group_major.reshape(n, channels, height, width), weight, bias,
                         stride, padding, dilation, groups)


def vmapped(conv2d, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``torch.func.vmap`` of the unbatched per-sample call; torch's batch rule for
    convolution is itself the grouped trick (shared notes section 4)."""
    def one_sample(sample_input, sample_weight, sample_bias):
        return conv2d(sample_input, sample_weight, sample_bias, stride, padding, dilation, groups)
    in_dims = (0, 0, None if bias is None else 0)
    return torch.func.vmap(one_sample, in_dims=in_dims)(input, weight, bias)


def receptive_fields(conv2d, input, kernel, stride=1, padding=0, dilation=1):
    """im2col by the implementation itself: ``(N, C*kh*kw, out_h, out_w)``.

    A depthwise conv2d with one one-hot kernel per tap copies each tap of each
    receptive field into its own channel, which is what F.unfold computes
    (channel ``c*kh*kw + p*kw + q`` holds tap ``(p, q)`` of input channel ``c``);
    the products are by 1 and 0, so the copy is exact.  Going through conv2d
    rather than F.unfold puts the implementation's padding, stride and
    dilation (and 'same') to work.
    """
    channels, taps = input.shape[1], kernel[0] * kernel[1]
    one_hot = torch.eye(taps, dtype=input.dtype, device=input.device)
    one_hot = one_hot.reshape(taps, 1, *kernel).repeat(channels, 1, 1, 1)
    return conv2d(input, one_hot, None, stride, padding, dilation, channels)


def im2col_einsum(conv2d, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Receptive fields as columns (``receptive_fields``), contracted with each
    sample's own weight rows by one einsum: a different summation order."""
    n, out_channels, group_channels, kh, kw = weight.shape
    fields = receptive_fields(conv2d, input, (kh, kw), stride, padding, dilation)
    out_size = fields.shape[2:]
    columns = fields.reshape(n, groups, group_channels * kh * kw, -1)
    rows = weight.reshape(n, groups, out_channels // groups, group_channels * kh * kw)
    out = torch.einsum("ngok,ngkl->ngol", rows, columns).reshape(n, out_channels, *out_size)
    return out if bias is None else out + bias[:, :, None, None]


FORMULATIONS = {"loop": loop, "grouped_trick": grouped_trick, "vmap": vmapped,
                "im2col_einsum": im2col_einsum}


def per_channel_matmul(input, weight):
    """The note's ``A^T @ B`` for each channel, NOT summed: ``(N, O, C, 1, W)`` or
    ``(N, O, C, H, 1)``.

    For a kernel as tall as the input, ``(H, 1)``, term ``c`` is
    ``weight[n, o, c, :, 0] @ input[n, c]`` (1 x H times H x W); for a kernel as
    wide as the input, ``(1, W)``, it is ``input[n, c] @ weight[n, o, c, 0, :]``.
    Each term is the convolution of channel ``c`` alone (stride 1, no padding,
    no groups); the convolution is their sum, so the note's plain equality
    holds only for one channel.
    """
    height, width = input.shape[2:]
    kernel = tuple(weight.shape[3:])
    samples = input[:, None]  # (N, 1, C, H, W): every out_channel meets every channel
    if kernel == (height, 1):
        return weight.transpose(-1, -2) @ samples
    if kernel == (1, width):
        return samples @ weight.transpose(-1, -2)
    raise ValueError(f"kernel {kernel} spans neither the height nor the width of {height}x{width}")


def channel_summed_matmul(input, weight, bias=None):
    """``per_channel_matmul`` summed over channels, plus the bias: the convolution
    with a full-height (or full-width) kernel, stride 1, no padding, ``groups=1``."""
    out = per_channel_matmul(input, weight).sum(dim=2)
    return out if bias is None else out + bias[:, :, None, None]


def weights_as_out_channels(conv2d, input, weight, bias=None, stride=1, padding=0, dilation=1):
    """The first misreading: the batch of weights passed as an ordinary weight.

    ``conv2d(input, weight.reshape(N*O, C, kh, kw))``: every input sample meets
    every sample's weight, so the result ``(M, N, O, out_h, out_w)`` is the full
    cross product ``out[i, j] = conv2d(input[i], weight[j])`` for any input
    batch M; only its diagonal ``out[i, i]`` is per-sample.  The input's
    channels must match the weight's, and its batch size does not matter.
    """
    n, out_channels = weight.shape[:2]
    out = conv2d(input, weight.reshape(n * out_channels, *weight.shape[2:]), _flat_bias(bias),
                 stride, padding, dilation, 1)
    return out.reshape(input.shape[0], n, out_channels, *out.shape[2:])


def groups_set_to_batch_size(conv2d, input, weight, bias=None, stride=1, padding=0, dilation=1):
    """The second misreading: ``groups=N`` on the untouched batch.

    ``weight`` must be ``(N*m, C/N, kh, kw)`` for the call to run (that is all
    "batch size must equal groups" means).  It is an ordinary grouped
    convolution: out_channels ``n*m .. n*m+m-1`` of *every* sample see only
    channel slice ``n`` of that sample, so no sample has a weight of its own,
    and permuting the batch merely permutes the output.
    """
    return conv2d(input, weight, bias, stride, padding, dilation, input.shape[0])


# --- per-sample gradients ----------------------------------------------------
# The gradient of ``<out, grad_output>`` with respect to (input, weight, bias)
# is, sample by sample, the gradient of that sample's own call.  The PyTorch
# per-sample-gradients tutorial computes it with ``vmap(grad(...))``;
# backpropagating through the loop or the grouped trick must give the same.


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


def per_sample_gradients(formulation, conv2d, tensors, grad_output, arguments):
    """(grad_input, grad_weight, grad_bias): ``vmap(grad)`` for the ``vmap``
    formulation, autograd through the formulation for the others."""
    if formulation == "vmap":
        return vmapped_grad(conv2d, tensors, grad_output, arguments)
    return backpropagated(FORMULATIONS[formulation], conv2d, tensors, grad_output, arguments)
