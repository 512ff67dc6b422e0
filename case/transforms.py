"""Derived calls: a case made from another case's data, so it replays on its own.

A metamorphic property calls the implementation on a case and on a call
derived from it: the input cropped, one group's slice of filters, one part of
a split input or weight, an input with one NaN.  Each derivation is a
``Transform``; ``base.derive(transform)`` is a case like any other (its own
shapes, arguments and reference answer), whose data are the base's data
transformed and whose descriptor is the base's followed by the transform's
token, e.g. ``...:seed7:crop(2,0)``.  So the exact call a property made prints,
parses and replays.

Derived calls use contiguous tensors (the property is about the algebra, not
the layout), except a poisoned input, which keeps the base's layout.
"""

import dataclasses
import math
import re

import numpy as np


class TransformError(ValueError):
    """A transform token that cannot be read, or that does not fit its case."""


def _ints(text):
    return tuple(int(part) for part in text.split(",")) if text else ()


@dataclasses.dataclass(frozen=True)
class Crop:
    """The input without its first ``rows`` rows and ``cols`` columns."""

    rows: int
    cols: int

    name = "crop"

    def token(self):
        return f"crop({self.rows},{self.cols})"

    @classmethod
    def from_arguments(cls, text):
        rows, cols = _ints(text)
        return cls(rows, cols)

    def fields(self, base):
        *lead, height, width = base.input_shape
        if not (0 <= self.rows < height and 0 <= self.cols < width):
            raise TransformError(f"{self.token()} leaves no input of {base.input_shape}")
        return dict(input_shape=(*lead, height - self.rows, width - self.cols),
                    layout="contiguous")

    def arrays(self, base, arrays):
        input, weight, bias = arrays
        return input[..., self.rows:, self.cols:], weight, bias


@dataclasses.dataclass(frozen=True)
class ChannelSlice:
    """Output channels ``start:stop`` (all in one group), computed as an ungrouped
    call of those filters on that group's input channels."""

    start: int
    stop: int

    name = "slice"

    def token(self):
        return f"slice({self.start},{self.stop})"

    @classmethod
    def from_arguments(cls, text):
        start, stop = _ints(text)
        return cls(start, stop)

    def group(self, base):
        """The one group whose filters the slice takes."""
        per_group = base.weight_shape[0] // base.groups
        group = self.start // per_group
        if not (0 <= self.start < self.stop <= (group + 1) * per_group):
            raise TransformError(f"{self.token()} is not within one group of {base}")
        return group

    def fields(self, base):
        self.group(base)
        group_channels = base.weight_shape[1]
        return dict(input_shape=(*base.input_shape[:-3], group_channels, *base.input_shape[-2:]),
                    weight_shape=(self.stop - self.start, *base.weight_shape[1:]),
                    bias_shape=(self.stop - self.start,) if base.has_bias else None,
                    groups=1, layout="contiguous")

    def arrays(self, base, arrays):
        input, weight, bias = arrays
        group_channels = weight.shape[1]
        first = self.group(base) * group_channels
        return (input[..., first:first + group_channels, :, :], weight[self.start:self.stop],
                None if bias is None else bias[self.start:self.stop])


@dataclasses.dataclass(frozen=True)
class Split:
    """One of two parts that sum to the input (or the weight): values go to part 0 or
    part 1 by a mask drawn from ``seed``, element by element (``axis`` None) or by
    whole slices along ``axis`` (-1 columns, -2 rows, -3 channels, -4 samples or
    filters).  Part 0 keeps the bias, part 1 has none, so the parts' outputs sum
    to the whole's."""

    tensor: str
    axis: object
    seed: int
    part: int

    name = "split"

    def __post_init__(self):
        if self.tensor not in ("input", "weight") or self.part not in (0, 1) or (
                self.axis is not None and self.axis not in (-1, -2, -3, -4)):
            raise TransformError(f"{self.token()}: tensor is input or weight, axis None or "
                                 f"-1..-4, part 0 or 1")

    def token(self):
        return f"split({self.tensor},{self.axis},{self.seed},{self.part})"

    @classmethod
    def from_arguments(cls, text):
        tensor, axis, seed, part = text.split(",")
        return cls(tensor, None if axis == "None" else int(axis), int(seed), int(part))

    def other(self):
        """The complementary part."""
        return dataclasses.replace(self, part=1 - self.part)

    def mask(self, shape):
        """True where a value goes to part 0."""
        rng = np.random.default_rng(self.seed)
        if self.axis is None or len(shape) < -self.axis:
            return rng.random(shape) < 0.5
        along = np.ones(len(shape), int)
        along[self.axis] = shape[self.axis]
        return np.broadcast_to(rng.random(tuple(along)) < 0.5, shape)

    def fields(self, base):
        changes = dict(layout="contiguous")
        if self.part == 1:
            changes["bias_shape"] = None
        return changes

    def arrays(self, base, arrays):
        input, weight, bias = arrays
        values = input if self.tensor == "input" else weight
        keep = self.mask(values.shape) == (self.part == 0)
        part = np.where(keep, values, 0)
        input, weight = (part, weight) if self.tensor == "input" else (input, part)
        return input, weight, bias if self.part == 0 else None


POISONS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


@dataclasses.dataclass(frozen=True)
class Poison:
    """One input element set to NaN, inf or -inf, and a fraction ``zeroed`` of the
    weight's taps set to 0 (chosen from the case's seed), because NaN * 0 and
    inf * 0 are NaN: the poison reaches its receptive field whatever the weights."""

    position: tuple
    value: str
    zeroed: float = 0.0

    name = "poison"

    def __post_init__(self):
        if self.value not in POISONS or not 0 <= self.zeroed <= 1:
            raise TransformError(f"{self.token()}: the value is nan, inf or -inf, and the "
                                 f"zeroed fraction within [0, 1]")

    def token(self):
        return (f"poison({'.'.join(map(str, self.position))},{self.value},"
                f"{self.zeroed:g})")

    @classmethod
    def from_arguments(cls, text):
        position, value, zeroed = text.split(",")
        return cls(tuple(int(i) for i in position.split(".")), value, float(zeroed))

    def fields(self, base):
        if len(self.position) != len(base.input_shape) or not all(
                0 <= i < n for i, n in zip(self.position, base.input_shape)):
            raise TransformError(f"{self.token()} is not an element of {base.input_shape}")
        if base.layout == "expanded_weight" and self.zeroed:
            raise TransformError(f"{self.token()} edits taps of an expanded weight")
        return {}

    def arrays(self, base, arrays):
        input, weight, bias = arrays
        input = input.copy()
        input[self.position] = POISONS[self.value]
        rng = np.random.default_rng([base.seed, 2])
        weight = np.where(rng.random(weight.shape) < self.zeroed, 0.0, weight)
        return input, weight, bias


TRANSFORMS = {kind.name: kind for kind in (Crop, ChannelSlice, Split, Poison)}
_TOKEN = re.compile(r"([a-z]+)\((.*)\)")


def parse_transform(token):
    """The transform a descriptor token names, or None if it names none."""
    match = _TOKEN.fullmatch(token)
    if not match or match[1] not in TRANSFORMS:
        return None
    try:
        return TRANSFORMS[match[1]].from_arguments(match[2])
    except (ValueError, TypeError) as error:
        raise TransformError(f"transform {token!r}: {error}") from None
