"""What the metamorphic properties draw: a case derived from a drawn case.

Each strategy takes a strategy of cases and draws, with each case, the
transformation a property applies to it (a split, a crop by whole strides, a
channel slice, a poisoned input element, a padding mode), valid for that case
by construction and reaching the corners of the transformation (an empty
part, the last row, a zero filter).  The result is one case, the derived
call (case/transforms.py), whose descriptor names the base and the
transformation, so the property's failing example replays from one line.
"""

from hypothesis import strategies as st

from case import PADDING_MODES
from case.transforms import ChannelSlice, Crop, Poison, Split


@st.composite
def split_cases(draw, cases, tensor):
    """Part 0 of a ``Split`` of the ``tensor`` ("input" or "weight") of a drawn case: by
    element, or by whole samples, channels, rows or columns."""
    case = draw(cases)
    axis = draw(st.sampled_from([None, -4, -3, -2, -1]))
    return case.derive(Split(tensor, axis, draw(st.integers(0, 2**32 - 1)), 0))


@st.composite
def channel_slice_cases(draw, cases):
    """Output channels ``start:stop`` of one group of a drawn case."""
    case = draw(cases)
    per_group = case.weight_shape[0] // case.groups
    group = draw(st.integers(0, case.groups - 1))
    start = draw(st.integers(0, per_group - 1))
    stop = draw(st.integers(start + 1, per_group))
    return case.derive(ChannelSlice(group * per_group + start, group * per_group + stop))


@st.composite
def shifted_cases(draw, cases):
    """A drawn case's input cropped by whole strides, rows * sh from the top and cols * sw
    from the left, keeping at least one input row and column and one output row and
    column."""
    case = draw(cases)
    geometry = case.geometry()
    crop = []
    for axis, size in enumerate((geometry.height, geometry.width)):
        stride, outputs = geometry.stride[axis], geometry.output_size[axis]
        crop.append(stride * draw(st.integers(0, max(0, min(outputs - 1, (size - 1) // stride)))))
    return case.derive(Crop(*crop))


@st.composite
def poisoned_cases(draw, cases):
    """One input element of a drawn case set to NaN, inf or -inf, with a fraction of
    the weight taps zeroed (NaN * 0 is still NaN)."""
    case = draw(cases)
    position = tuple(draw(st.integers(0, size - 1)) for size in case.input_shape)
    value = draw(st.sampled_from(["nan", "inf", "-inf"]))
    zeroed = draw(st.sampled_from([0.0, 0.5, 1.0]))
    return case.derive(Poison(position, value, zeroed))


@st.composite
def padding_mode_cases(draw, cases):
    """A drawn case called through nn.Conv2d with a padding mode, its input large
    enough for the mode (torch needs pad < size for 'reflect', pad <= size for
    'circular').  Every argument form is drawn, 1-element sequences included
    (nn.Conv2d's handling of those is a registry entry)."""
    mode = draw(st.sampled_from([mode for mode in PADDING_MODES if mode != "zeros"]))
    case = draw(cases)
    top, bottom, left, right = case.geometry().padding
    spare = {"reflect": 1, "circular": 0, "replicate": 0}[mode]
    height = max(case.input_shape[-2], top + spare, bottom + spare)
    width = max(case.input_shape[-1], left + spare, right + spare)
    return case.replace(input_shape=(*case.input_shape[:-2], height, width), padding_mode=mode)
