"""Which backend torch's dispatcher picks for a conv2d call (Mkldnn, Slow2d, Cudnn, ...).

``conv_backend`` asks torch itself (``torch._C._select_conv_backend``) for the
very tensors and arguments of a call; the kernel-coverage report counts its
answers (suite/coverage.py) and properties use it to reach a backend on purpose.
"""

import torch

# The CPU backends torch's dispatcher can give a 2-D convolution (Xnnpack2d only on
# mobile builds; Empty / MkldnnEmpty are the zero-size shortcuts).
CPU_BACKENDS = ("Mkldnn", "NnpackSpatial", "Slow2d", "SlowDilated2d")
# How to reach each (measured on torch 2.13.0, CPU, one thread).
CPU_BACKEND_HINTS = {
    "Mkldnn": "float32 with batch >= 2, groups > 1, both kernel sides > 3 or a big input "
              "(and not a stride-1 1x1 kernel below batch 16); bfloat16/float16 where the CPU "
              "has them",
    "NnpackSpatial": "float32, oneDNN disabled, batch >= 16, kernel sides < 17, no dilation "
                     "(e.g. F.conv2d(ones(16, 1, 1, 1), ones(1, 1, 1, 1)) under "
                     "torch.backends.mkldnn.flags(enabled=False))",
    "Slow2d": "float64, integers, complex, or oneDNN disabled",
    "SlowDilated2d": "a dilation > 1 on the slow path (float64, or oneDNN disabled)",
}


def _pair(value):
    if type(value) is int:
        return [value, value]
    value = [int(v) for v in value]
    return value * 2 if len(value) == 1 else value


_backend_names = {}  # torch._C._ConvBackend member -> name (the enum's .name costs ~5 us)


def _backend_name(chosen):
    name = _backend_names.get(chosen)
    if name is None:
        _backend_names.update((member, key) for key, member in
                              torch._C._ConvBackend.__members__.items())
        name = _backend_names.get(chosen) or chosen.name
    return name


def conv_backend(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """The name of the backend torch's dispatcher selects for ``F.conv2d(...)``.

    Padding strings are resolved as F.conv2d does ('valid' is 0; 'same' pads
    ``dilation*(k-1)`` per axis, the odd one on the right/bottom by padding the
    input first), an unbatched 3-D input is given its batch dimension, and
    1-element tuples are broadcast.  Never raises: "unknown" when torch cannot
    classify the call, "functorch" inside vmap/grad (the transform decides the
    call that really runs)."""
    try:
        if not (isinstance(input, torch.Tensor) and isinstance(weight, torch.Tensor)):
            return "unknown"
        wrapped = torch._C._functorch.is_functorch_wrapped_tensor
        if wrapped(input) or wrapped(weight) or (isinstance(bias, torch.Tensor)
                                                 and wrapped(bias)):
            return "functorch"
        if input.dim() == 3 and weight.dim() == 4:
            input = input.unsqueeze(0)
        stride, dilation = _pair(stride), _pair(dilation)
        if isinstance(padding, str):
            if padding == "valid":
                padding = [0, 0]
            elif padding == "same":
                totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
                padding = [total // 2 for total in totals]
                extra = [total % 2 for total in totals]
                if any(extra):  # torch pads the input by the odd row/column, then convolves
                    shape = list(input.shape)
                    shape[2] += extra[0]
                    shape[3] += extra[1]
                    format = (torch.channels_last if input.is_contiguous(
                        memory_format=torch.channels_last) and not input.is_contiguous()
                        else torch.contiguous_format)
                    input = torch.empty(shape, dtype=input.dtype, device=input.device,
                                        memory_format=format)
            else:
                return "unknown"
        else:
            padding = _pair(padding)
        chosen = torch._C._select_conv_backend(input, weight, bias, stride, padding, dilation,
                                               False, [0, 0], int(groups))
        return _backend_name(chosen)
    except Exception:  # noqa: BLE001 - classification must never fail the caller
        return "unknown"
