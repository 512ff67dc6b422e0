"""Which memory format conv2d's output has: a rule about strides.

torch's rule (checked on torch 2.13.0, every dtype): the output of a 4-D
call is channels_last when the input or the weight *suggests* channels_last,
and contiguous (NCHW) otherwise.  A tensor suggests channels_last when its
strides, read from the channels outwards in NHWC order (C, W, H, N), never
step inside the span of the axes read before (an axis of size 1 spans
nothing, but its stride still counts): the strides of a dense NHWC tensor,
or of a view of NHWC storage (``permute(0, 3, 1, 2)``) whatever its sizes.
Where a stride ties the ordering cannot tell (a batch of 1x1 single-channel
images, a zero channel stride) and the answer is NCHW.  So a (1, C, 1, 1)
input with strides (C, 1, C, C), a permuted NHWC view, suggests channels_last,
and the same input made by ``.contiguous(memory_format=torch.channels_last)``,
which keeps the strides (C, 1, 1, 1), does not.

Stated on plain shapes and strides so that it reads without torch; ``format_of``
gives the reading of a result's strides the judge compares against it.
"""

CHANNELS_LAST = "channels_last"
CONTIGUOUS = "contiguous"

# The order in which a dense tensor lays out (N, C, H, W), innermost last.
_ORDER = {CONTIGUOUS: (0, 1, 2, 3), CHANNELS_LAST: (0, 2, 3, 1)}


def is_dense(shape, strides, memory_format):
    """Do ``strides`` lay ``shape`` out densely in ``memory_format``'s order?

    Axes of size 1 may have any stride (no element is ever stepped over).
    """
    if len(shape) != 4:
        return memory_format == CONTIGUOUS and _dense_in_order(shape, strides,
                                                               tuple(range(len(shape))))
    return _dense_in_order(shape, strides, _ORDER[memory_format])


def _dense_in_order(shape, strides, order):
    expected = 1
    for axis in reversed(order):
        if shape[axis] != 1 and strides[axis] != expected:
            return False
        expected *= shape[axis]
    return True


def suggests_channels_last(shape, strides):
    """Whether the strides read as NHWC: C, W, H, N outwards, each stride at least the
    span of the axes before it; a zero channel stride, an empty axis, or a batch
    stride that ties with the channel stride (N x 1 x 1 x 1) reads as NCHW."""
    if len(shape) != 4 or strides[1] == 0:
        return False
    span = 0
    for axis in (1, 3, 2, 0):
        if shape[axis] == 0 or strides[axis] < span or (axis == 0 and span == strides[1]):
            return False
        span = strides[axis] * max(1, shape[axis])
    return True


def output_memory_format(input_shape, input_strides, weight_shape, weight_strides):
    """The memory format of conv2d's output for an input and weight with these strides."""
    if len(input_shape) == 4 and (suggests_channels_last(input_shape, input_strides)
                                  or suggests_channels_last(weight_shape, weight_strides)):
        return CHANNELS_LAST
    return CONTIGUOUS


def format_of(shape, strides):
    """How a result's strides read: a memory format, or None where both readings hold
    (or neither can be told: empty, or not 4-D)."""
    if len(shape) != 4 or 0 in shape:
        return None
    dense = {name: is_dense(shape, strides, name) for name in (CONTIGUOUS, CHANNELS_LAST)}
    if dense[CONTIGUOUS] and dense[CHANNELS_LAST]:
        return None
    if dense[CHANNELS_LAST]:
        return CHANNELS_LAST
    return CONTIGUOUS if dense[CONTIGUOUS] else "neither"
