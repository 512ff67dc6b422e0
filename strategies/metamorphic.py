"""What the metamorphic properties draw besides a case: how to transform it.

Each strategy takes a strategy of cases and draws, with each case, the
transformation a property applies to it (a split, a shift, a channel slice, a
poisoned input position), valid for that case by construction, reaching the
corners of the transformation (an empty side, the last row, a zero filter).
"""

import dataclasses

import numpy as np
from hypothesis import strategies as st

# nn.Conv2d's padding modes and the numpy.pad mode that means the same.
NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@dataclasses.dataclass(frozen=True)
class Split:
    """Where an array's values go when split in two parts that sum back to it.

    ``axis`` None: element by element; otherwise whole slices along ``axis``
    (counted from the end: -1 columns, -2 rows, -3 channels, -4 samples or
    filters), so one part can hold whole windows or whole filters of zeros.
    """

    axis: object
    seed: int

    def mask(self, shape):
        """True where a value goes to the first part."""
        rng = np.random.default_rng(self.seed)
        if self.axis is None or len(shape) < -self.axis:
            return rng.random(shape) < 0.5
        along = np.ones(len(shape), int)
        along[self.axis] = shape[self.axis]
        return np.broadcast_to(rng.random(tuple(along)) < 0.5, shape)

    def parts(self, values):
        """(first, second), disjoint, with first + second == values."""
        mask = self.mask(values.shape)
        return np.where(mask, values, 0), np.where(mask, 0, values)


def splits():
    """A ``Split``: by element, or by whole samples, channels, rows or columns."""
    return st.builds(Split, axis=st.sampled_from([None, -4, -3, -2, -1]),
                     seed=st.integers(0, 2**32 - 1))


@st.composite
def with_channel_slice(draw, cases):
    """(case, group, start, stop): output channels ``start:stop`` of one group."""
    case = draw(cases)
    groups = case.groups
    per_group = case.weight_shape[0] // groups
    group = draw(st.integers(0, groups - 1))
    start = draw(st.integers(0, per_group - 1))
    stop = draw(st.integers(start + 1, per_group))
    return case, group, group * per_group + start, group * per_group + stop


@st.composite
def with_shift(draw, cases):
    """(case, (rows, cols)): the input is cropped by whole strides, rows * sh
    from the top and cols * sw from the left, keeping at least one input row
    and column and one output row and column."""
    case = draw(cases)
    geometry = case.geometry()
    shift = []
    for axis, size in enumerate((geometry.height, geometry.width)):
        stride, outputs = geometry.stride[axis], geometry.output_size[axis]
        shift.append(draw(st.integers(0, max(0, min(outputs - 1, (size - 1) // stride)))))
    return case, tuple(shift)


@st.composite
def with_poison(draw, cases):
    """(case, position, value, zeroed): one input element set to NaN, inf or
    -inf, and the fraction of weight taps zeroed (NaN * 0 is still NaN)."""
    case = draw(cases)
    position = tuple(draw(st.integers(0, size - 1)) for size in case.input_shape)
    value = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
    zeroed = draw(st.sampled_from([0.0, 0.5, 1.0]))
    return case, position, value, zeroed


@st.composite
def padding_mode_cases(draw, cases):
    """(case, mode): an nn.Conv2d padding mode and a case whose input is large
    enough for it (torch needs pad < size for 'reflect', pad <= size for
    'circular').

    Padding and dilation are never 1-sequences: torch 2.13.0's nn.Conv2d does
    not broadcast ``(p,)`` to both axes in these modes (F.conv2d does).
    Measured: ``padding=(1,)`` raises NotImplementedError for a batched input
    and pads the width only for an unbatched one; ``padding='same'`` with
    ``dilation=(1,)`` pads the height only, so a 7x7 input with a 3x3 kernel
    gives a 7x5 output.  Torch bugs, kept out of this property's way.
    """
    mode = draw(st.sampled_from(sorted(NUMPY_PAD_MODES)))
    case = draw(cases)
    for name in ("padding", "dilation"):
        value = getattr(case, name)
        if isinstance(value, (tuple, list)) and len(value) == 1:
            case = case.replace(**{name: value[0]})
    top, bottom, left, right = case.geometry().padding
    spare = {"reflect": 1, "circular": 0, "replicate": 0}[mode]
    height = max(case.input_shape[-2], top + spare, bottom + spare)
    width = max(case.input_shape[-1], left + spare, right + spare)
    return case.replace(input_shape=(*case.input_shape[:-2], height, width)), mode
