"""F.conv2d's arguments as another framework takes them, and its tensors as NumPy arrays.

Every adapter in this package resolves a call the same way, so a difference
between two frameworks' verdicts is the frameworks', not their adapters':
stride and dilation become (height, width) pairs, numeric padding becomes
explicit (top, bottom, left, right) amounts, ``'valid'`` becomes zeros and
``'same'`` becomes torch's split of the total ``dilation * (kernel - 1)`` per
axis: ``total // 2`` before, the odd extra row or column after (bottom,
right).  The padding string is kept too, for a framework whose own string
means the same.  Nothing here validates: a call conv2d rejects goes to the
framework as written, so its errors are the framework's.
"""

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent


def pair(value):
    """An int, a 1-sequence (broadcast) or a 2-sequence as a (height, width) tuple."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    return value * 2 if len(value) == 1 else value


@dataclasses.dataclass(frozen=True)
class Call:
    """One conv2d call, resolved: what every framework's convolution is told."""

    stride: tuple
    dilation: tuple
    pads: tuple  # (top, bottom, left, right)
    padding: str | None  # 'same' or 'valid' as written, else None
    groups: int
    batched: bool


def resolve(input, weight, stride, padding, dilation, groups):
    """The ``Call`` F.conv2d makes of these arguments."""
    dilation = pair(dilation)
    if isinstance(padding, str):
        if padding == "same":
            totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[-2:])]
            (th, tw) = totals
            pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        else:  # 'valid' (and any other string: the framework decides what it means)
            pads = (0, 0, 0, 0)
        kept = padding
    else:
        ph, pw = pair(padding)
        pads, kept = (ph, ph, pw, pw), None
    return Call(pair(stride), dilation, pads, kept, groups, input.dim() != 3)


def to_numpy(tensor):
    """A tensor's values as a C-contiguous NumPy array (bfloat16 as ml_dtypes.bfloat16)."""
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        import ml_dtypes
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def to_torch(array, like):
    """``array`` as a contiguous tensor of ``like``'s dtype, on ``like``'s device."""
    array = np.ascontiguousarray(array)
    if array.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: NumPy has none of its own
        out = torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    else:
        out = torch.from_numpy(array)
    return out.to(like.dtype).to(like.device)


def batched(array, call):
    """The input as a 4-D batch (an unbatched input is a batch of one)."""
    return array if call.batched else array[None]


def unbatched(array, call):
    """The output in the input's rank."""
    return array if call.batched else array[0]


def declare(conv2d, name, *packages):
    """Give an adapter its domain and deviations files (``<name>.toml``,
    ``<name>-deviations.toml`` beside this module) and, where it needs
    ``packages`` beyond the suite's own (pyproject.toml's ``<name>`` extra),
    ``unavailable()``: the one-line reason a run cannot use it (one is not installed)."""
    conv2d.uses_torch = False  # the framework computes every call (suite/registry.py)
    conv2d.domain = HERE / f"{name}.toml"
    deviations = HERE / f"{name}-deviations.toml"
    conv2d.deviations = deviations if deviations.exists() else None
    if not packages:
        return conv2d

    def unavailable():
        for package in packages:
            if importlib.util.find_spec(package) is None:
                return (f"{package} is not installed: pip install -e '.[{name}]' "
                        f"(pyproject.toml's {name} extra)")
        return None
    conv2d.unavailable = unavailable
    return conv2d
