"""A case's arrays as torch tensors, in the dtype and memory layout it names.

Layouts other than ``contiguous`` hold the same values with other strides, so
a kernel that assumes contiguity reads the wrong numbers:
- ``channels_last*``: NHWC strides for the input, the weight, or both;
- ``sliced_input``: every other column of a wider tensor whose other columns
  are NaN, so reading them poisons the result;
- ``transposed_input``: stored as (N, C, W, H) and viewed transposed;
- ``expanded_weight``: one filter expanded (stride 0) over out_channels;
- ``permuted_input``: NHWC storage viewed as NCHW by ``permute(0, 3, 1, 2)``, as
  production code gets it (and conv1d's unsqueeze of a transposed input): NHWC
  strides on every dimension, size-1 ones too, where ``.contiguous(memory_format=
  torch.channels_last)`` keeps a size-1 dimension's NCHW stride (pytorch#120547
  needs the former).
"""

import numpy as np
import torch


def torch_dtype(name):
    return getattr(torch, name)


def _tensor(values, dtype, device):
    """NumPy values to a torch tensor of ``dtype`` (bfloat16 goes via float32)."""
    # np.ascontiguousarray alone would turn a 0-d bias into shape (1,).
    values = np.ascontiguousarray(values).reshape(np.shape(values))
    staging = values.astype(np.float32) if dtype == "bfloat16" else values
    return torch.from_numpy(staging).to(device=device, dtype=torch_dtype(dtype))


def _sliced(values, dtype, device):
    wide = np.full((*values.shape[:-1], 2 * values.shape[-1]), np.nan, values.dtype)
    wide[..., ::2] = values
    return _tensor(wide, dtype, device)[..., ::2]


def _transposed(values, dtype, device):
    return _tensor(np.swapaxes(values, -1, -2), dtype, device).transpose(-1, -2)


def _permuted(values, dtype, device):
    """A fresh NHWC tensor (torch.empty gives every axis its stride, size-1 ones too;
    NumPy and .contiguous() keep whatever a size-1 axis had) viewed as NCHW."""
    if values.ndim != 4:
        raise ValueError(f"permuted_input needs a 4-D input, got shape {values.shape}")
    batch, channels, height, width = values.shape
    nhwc = torch.empty((batch, height, width, channels), dtype=torch_dtype(dtype), device=device)
    nhwc.copy_(_tensor(values, dtype, device).permute(0, 2, 3, 1))
    return nhwc.permute(0, 3, 1, 2)


def _channels_last(tensor):
    if tensor.dim() != 4:
        raise ValueError(f"channels_last needs a 4-D tensor, got shape {tuple(tensor.shape)}")
    return tensor.contiguous(memory_format=torch.channels_last)


def materialise(case, arrays, device="cpu", requires_grad=False):
    """(input, weight, bias) tensors for ``case`` holding ``arrays``."""
    input_values, weight_values, bias_values = arrays
    input_dtype, weight_dtype, bias_dtype = case.dtypes
    layout = case.layout
    if layout == "sliced_input":
        input = _sliced(input_values, input_dtype, device)
    elif layout == "transposed_input":
        input = _transposed(input_values, input_dtype, device)
    elif layout == "permuted_input":
        input = _permuted(input_values, input_dtype, device)
    else:
        input = _tensor(input_values, input_dtype, device)
    if layout in ("channels_last", "channels_last_input"):
        input = _channels_last(input)

    if layout == "expanded_weight":
        weight = _tensor(weight_values[:1], weight_dtype, device).expand(case.weight_shape)
    else:
        weight = _tensor(weight_values, weight_dtype, device)
    if layout in ("channels_last", "channels_last_weight"):
        weight = _channels_last(weight)

    bias = None if bias_values is None else _tensor(bias_values, bias_dtype, device)
    if requires_grad:
        for tensor in (input, weight, bias):
            if tensor is not None:
                tensor.requires_grad_(True)
    return input, weight, bias
