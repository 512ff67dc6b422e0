"""A case's arrays as torch tensors, in the dtype and memory layout it names.

Layouts other than ``contiguous`` hold the same values with other strides, as
the views programs pass do, so a kernel that assumes contiguity reads the
wrong numbers:
- ``channels_last*``: NHWC strides for the input, the weight, or both;
- ``sliced_*``: every other element along one axis of a wider tensor (the
  input's columns, the weight's filters, the bias's elements: a slice of a
  bigger parameter) whose other elements are NaN, so reading them poisons
  the result;
- ``offset_*``: a contiguous view that starts one NaN row (sample, filter or
  element) into its storage: a nonzero storage offset;
- ``transposed_*``: stored with the last two axes swapped and viewed transposed;
- ``expanded_*``: one filter (one bias element) expanded (stride 0) over
  out_channels: the data hold equal filters (elements) there.
- ``permuted_input``: NHWC storage viewed as NCHW by ``permute(0, 3, 1, 2)``, as
  production code gets it (and conv1d's unsqueeze of a transposed input): NHWC
  strides on every dimension, size-1 ones too, where ``.contiguous(memory_format=
  torch.channels_last)`` keeps a size-1 dimension's NCHW stride (pytorch#120547
  needs the former).
"""

import numpy as np
import torch

from case.context import TENSORS

# The tensor (0 input, 1 weight, 2 bias) each view layout applies to, and its view.
VIEWS = {"sliced_input": (0, "sliced"), "transposed_input": (0, "transposed"),
         "permuted_input": (0, "permuted"),
         "offset_input": (0, "offset"), "sliced_weight": (1, "sliced"),
         "offset_weight": (1, "offset"), "transposed_weight": (1, "transposed"),
         "expanded_weight": (1, "expanded"), "sliced_bias": (2, "sliced"),
         "offset_bias": (2, "offset"), "expanded_bias": (2, "expanded")}
# The axis each view slices or offsets: the input's columns or first axis (samples,
# or an unbatched input's channels), the weight's filters, the bias's elements.
_SLICED_AXIS = {0: -1, 1: 0, 2: 0}


def torch_dtype(name):
    return getattr(torch, name)


def _tensor(values, dtype, device):
    """NumPy values to a torch tensor of ``dtype`` (bfloat16 goes via float32)."""
    # np.ascontiguousarray alone would turn a 0-d bias into shape (1,).
    values = np.ascontiguousarray(values).reshape(np.shape(values))
    staging = values.astype(np.float32) if dtype == "bfloat16" else values
    return torch.from_numpy(staging).to(device=device, dtype=torch_dtype(dtype))


def _sliced(values, dtype, device, axis):
    axis %= values.ndim
    every_other = (slice(None),) * axis + (slice(None, None, 2),)
    wide_shape = list(values.shape)
    wide_shape[axis] *= 2
    wide = np.full(wide_shape, np.nan, values.dtype)
    wide[every_other] = values
    return _tensor(wide, dtype, device)[every_other]


def _offset(values, dtype, device):
    padded = np.concatenate([np.full((1, *values.shape[1:]), np.nan, values.dtype), values])
    return _tensor(padded, dtype, device)[1:]


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


def _expanded(values, dtype, device):
    return _tensor(values[:1], dtype, device).expand(values.shape)


def _view(values, dtype, device, view, tensor):
    if view == "sliced":
        return _sliced(values, dtype, device, _SLICED_AXIS[tensor])
    if view == "offset":
        return _offset(values, dtype, device)
    if view == "transposed":
        return _transposed(values, dtype, device)
    if view == "permuted":
        return _permuted(values, dtype, device)
    return _expanded(values, dtype, device)


def _channels_last(tensor):
    if tensor.dim() != 4:
        raise ValueError(f"channels_last needs a 4-D tensor, got shape {tuple(tensor.shape)}")
    return tensor.contiguous(memory_format=torch.channels_last)


def materialise(case, arrays, device="cpu", requires_grad=False):
    """(input, weight, bias) tensors for ``case`` holding ``arrays``; ``requires_grad``:
    those its context says require grad do (case/context.py).  Under autocast they
    are float32 tensors holding the case dtype's values."""
    viewed, view = VIEWS.get(case.layout, (None, None))
    dtypes = case.dtypes
    if case.context.mode == "autocast":
        dtypes = tuple(None if dtype is None else "float32" for dtype in dtypes)
    tensors = []
    for number, (values, dtype) in enumerate(zip(arrays, dtypes)):
        if values is None:
            tensors.append(None)
        elif number == viewed:
            tensors.append(_view(values, dtype, device, view, number))
        else:
            tensors.append(_tensor(values, dtype, device))
    input, weight, bias = tensors
    if case.layout in ("channels_last", "channels_last_input"):
        input = _channels_last(input)
    if case.layout in ("channels_last", "channels_last_weight"):
        weight = _channels_last(weight)
    if requires_grad:
        present = [name for name, tensor in zip(TENSORS, (input, weight, bias))
                   if tensor is not None]
        for name in case.context.requiring_grad(present):
            {"input": input, "weight": weight, "bias": bias}[name].requires_grad_(True)
    return input, weight, bias


def grad_output_tensor(case, values, output):
    """``values`` as the gradient handed to backward through ``output``, laid out as the
    case's context says (case/context.py ``GRAD_OUTPUT_LAYOUTS``)."""
    layout = case.context.grad_output
    dtype, device = str(output.dtype).removeprefix("torch."), output.device
    if layout == "expanded" and values.size:
        return _tensor(values.reshape(-1)[:1], dtype, device).reshape(()).expand(output.shape)
    if layout == "strided" and values.ndim:
        return _sliced(values, dtype, device, -1)
    if layout == "offset" and values.ndim:
        return _offset(values, dtype, device)
    tensor = _tensor(values, dtype, device)
    if layout == "other_format" and tensor.dim() == 4:
        channels_last = output.is_contiguous(memory_format=torch.channels_last) and not (
            output.is_contiguous())
        return tensor.contiguous() if channels_last else _channels_last(tensor)
    return tensor
