"""Valid conv2d problems, valid by construction.

Sizes are drawn in an order that makes each rule hold without filtering:
groups, channels per group and the multiplier give C_in and C_out; kernel,
dilation and padding give the smallest input that fits; the input is that
plus a small extra (0 reaches "kernel exactly the padded input").  Every draw
shrinks towards the simplest problem (1x1 input, 1x1 kernel, no bias, stride
1), so a failure shrinks to the smallest problem that shows it.

Each size has a fixed upper bound, which keeps the problem small (at most a
few hundred thousand multiply-adds) without a filter.
"""

from hypothesis import strategies as st

from case import DTYPES, LAYOUTS, TIERS, Conv2dCase
from strategies import domain
from strategies.arguments import argument_forms

VALUE_DTYPES = tuple(dtype for dtype in DTYPES if dtype != "bool")
BATCHED_ONLY_LAYOUTS = ("channels_last", "channels_last_input")
PADDING_KINDS = ("numbers", "same", "valid")


def _check_choices(name, chosen, allowed):
    """Eager validation: a bad strategy argument fails where it is written."""
    unknown = [value for value in chosen if value not in allowed]
    if unknown or not chosen:
        raise ValueError(f"{name}={chosen!r}: choose a non-empty subset of {allowed}")


@st.composite
def _pairs(draw, low, high):
    """A (height, width) pair; equal more often than not, as in real models."""
    first = draw(st.integers(low, high))
    differ = draw(st.booleans())
    return (first, draw(st.integers(low, high))) if differ else (first, first)


def conv2d_cases(*, dtypes=VALUE_DTYPES, layouts=LAYOUTS, tiers=TIERS, max_batch=3,
                 max_groups=4, max_group_channels=4, max_multiplier=3, max_kernel=4,
                 max_dilation=3, max_stride=4, max_extra=5, unbatched=True,
                 empty_batch=True, paddings=PADDING_KINDS, claimed=None):
    """Valid ``Conv2dCase``s.

    - ``dtypes``, ``layouts``, ``tiers``: subsets of the case model's choices;
    - ``max_batch``: N is drawn from 1..max_batch, and 0 (empty batch);
    - ``max_groups``, ``max_group_channels``, ``max_multiplier``: groups g,
      C_in/g and C_out/g; depthwise is C_in/g = 1 with any multiplier;
    - ``max_kernel``, ``max_dilation``, ``max_stride``: per-axis bounds;
    - ``max_extra``: input rows/columns beyond the smallest that fits;
    - ``unbatched``: also draw 3-D (unbatched) inputs;
    - ``empty_batch``: also draw N = 0;
    - ``paddings``: a subset of ``PADDING_KINDS``: numbers (any stride) and
      the strings 'same' and 'valid' (stride 1);
    - ``claimed``: the domain drawn inside (default: the declared one, see below).

    Under a declared domain (``--conv2d-domain``: strategies/domain.py) every
    problem is drawn inside it; a property whose own choices the domain leaves
    out entirely is skipped, saying which.

    >>> conv2d_cases(dtypes=("float64",), tiers=("exact",)).example()  # doctest: +SKIP
    parse('in1x2x5x4:w4x1x3x1:s1:p(1,0):d1:g2:float64:contiguous:exact:seed7')
    """
    _check_choices("dtypes", dtypes, VALUE_DTYPES)
    _check_choices("layouts", layouts, LAYOUTS)
    _check_choices("tiers", tiers, TIERS)
    _check_choices("paddings", paddings, PADDING_KINDS)
    for name, value in (("max_batch", max_batch), ("max_groups", max_groups),
                        ("max_group_channels", max_group_channels),
                        ("max_multiplier", max_multiplier), ("max_kernel", max_kernel),
                        ("max_dilation", max_dilation), ("max_stride", max_stride)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: must be an int >= 1")
    if not isinstance(max_extra, int) or max_extra < 0:
        raise ValueError(f"max_extra={max_extra!r}: must be an int >= 0")
    claimed = domain.active() if claimed is None else claimed
    try:
        choices = domain.narrowed(claimed, dtypes=dtypes, layouts=layouts, paddings=paddings,
                                  max_batch=max_batch, unbatched=unbatched,
                                  empty_batch=empty_batch)
    except domain.NothingToDraw as error:
        return domain.nothing_to_draw(str(error))
    batches = (list(range(1, choices["max_batch"] + 1)) + [0] * choices["empty_batch"]
               + [None] * choices["unbatched"])
    return domain.inside(_cases(choices["dtypes"], choices["layouts"], tiers, batches, max_groups,
                                max_group_channels, max_multiplier, max_kernel, max_dilation,
                                max_stride, max_extra, choices["paddings"]), claimed)


@st.composite
def _cases(draw, dtypes, layouts, tiers, batches, max_groups, max_group_channels,
           max_multiplier, max_kernel, max_dilation, max_stride, max_extra, paddings):
    groups = draw(st.integers(1, max_groups))
    group_channels = draw(st.integers(1, max_group_channels))
    multiplier = draw(st.integers(1, max_multiplier))
    kernel = draw(_pairs(1, max_kernel))
    dilation = draw(_pairs(1, max_dilation))
    padding_kind = draw(st.sampled_from(paddings))
    if padding_kind == "numbers":
        stride = draw(_pairs(1, max_stride))
        # up to kernel + 1: padding larger than the kernel is legal and a corner
        pad = (draw(st.integers(0, kernel[0] + 1)), draw(st.integers(0, kernel[1] + 1)))
        padding = draw(argument_forms(pad))
        total_pad = (2 * pad[0], 2 * pad[1])
    else:
        stride, padding = (1, 1), padding_kind
        total_pad = ((dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
                     if padding_kind == "same" else (0, 0))
    extent = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    smallest = [max(1, extent[axis] - total_pad[axis]) for axis in (0, 1)]
    height = smallest[0] + draw(st.integers(0, max_extra))
    width = smallest[1] + draw(st.integers(0, max_extra))

    batch = draw(st.sampled_from(batches))
    in_channels, out_channels = groups * group_channels, groups * multiplier
    spatial = (in_channels, height, width)
    layout_choices = [layout for layout in layouts
                      if batch is not None or layout not in BATCHED_ONLY_LAYOUTS]
    return Conv2dCase(
        input_shape=spatial if batch is None else (batch, *spatial),
        weight_shape=(out_channels, group_channels, *kernel),
        bias_shape=(out_channels,) if draw(st.booleans()) else None,
        stride=draw(argument_forms(stride)),
        padding=padding,
        dilation=draw(argument_forms(dilation)),
        groups=groups,
        dtype=draw(st.sampled_from(dtypes)),
        layout=draw(st.sampled_from(layout_choices or ["contiguous"])),
        tier=draw(st.sampled_from(tiers)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )
