"""Valid conv2d problems, valid by construction, in size regimes.

A draw picks a size regime first (strategies/sizes.py: tiny, channel blocks,
many groups, batch chunks, large kernels, large maps, long reductions, real
networks' layers, oneDNN's dispatch rules; tiny first, so a failure shrinks
towards the smallest problem), then the sizes within it in an order that makes
each rule hold without filtering: groups, channels per group and the
multiplier give C_in and C_out; kernel, dilation and padding give the smallest
input that fits; the input is that plus an extra (0 reaches "kernel exactly
the padded input").  Every draw shrinks towards the simplest problem (1x1
input, 1x1 kernel, no bias, stride 1).

Every example's cost is bounded by construction: the regimes draw what the
multiply-add budget leaves (``sizes.MAC_BUDGET``), never filter.
"""

from hypothesis import currently_in_test_context, event
from hypothesis import strategies as st

from case import DTYPES, LAYOUTS, TIERS, Conv2dCase
from case import domain
from case.model import fitting_layouts
from strategies import inside_domain, sizes
from strategies.arguments import argument_forms

VALUE_DTYPES = tuple(dtype for dtype in DTYPES if dtype != "bool")
PADDING_KINDS = domain.PADDING_KINDS
# For gradcheck's and gradgradcheck's finite differences: float64, few elements to
# perturb, no empty batch (gradcheck refuses its zero strides; nothing to perturb).
FINITE_DIFFERENCE_BOUNDS = dict(
    dtypes=("float64",), layouts=("contiguous",), tiers=("float",), max_batch=2, max_groups=2,
    max_group_channels=2, max_multiplier=2, max_kernel=3, max_dilation=2, max_stride=3,
    max_extra=3, empty_batch=False)
REGIMES = sizes.REGIMES


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


def conv2d_problems(*, dtypes=VALUE_DTYPES, layouts=LAYOUTS, tiers=TIERS, max_batch=33,
                 max_groups=64, max_group_channels=1024, max_multiplier=65, max_kernel=31,
                 max_dilation=3, max_stride=4, max_extra=64, unbatched=True,
                 empty_batch=True, paddings=PADDING_KINDS, regimes=REGIMES,
                 weights=None, budget=sizes.MAC_BUDGET, claimed=None):
    """Valid ``Conv2dCase``s.

    - ``dtypes``, ``layouts``, ``tiers``: subsets of the case model's choices;
    - ``max_batch``: N is at most max_batch (0, the empty batch, in the tiny regime);
    - ``max_groups``, ``max_group_channels``, ``max_multiplier``: bounds on groups
      g, C_in/g and C_out/g; depthwise is C_in/g = 1 with any multiplier;
    - ``max_kernel``, ``max_dilation``, ``max_stride``: per-axis bounds;
    - ``max_extra``: input rows/columns beyond the smallest that fits;
    - ``unbatched``: also draw 3-D (unbatched) inputs;
    - ``empty_batch``: also draw N = 0;
    - ``paddings``: a subset of ``PADDING_KINDS``: numbers (any stride) and
      the strings 'same' (stride 1) and 'valid' (stride 1 in the tiny regime);
    - ``regimes``: a subset of ``REGIMES`` (strategies/sizes.py), drawn with
      their weights; bounds that all fit the tiny regime draw it alone;
    - ``weights``: the regimes' weights (default ``sizes.WEIGHTS``; the properties
      that backpropagate pass ``sizes.BACKWARD_WEIGHTS``);
    - ``budget``: multiply-adds per example (real dtypes; others get less);
    - ``claimed``: the domain drawn inside (default: the declared one, see below).

    The bounds hold in every regime: a regime whose sizes exceed them draws
    the largest that fit.  Under a declared domain (``--conv2d-domain``:
    case/domain.py) every problem is drawn inside it; a property whose
    own choices the domain leaves out entirely is skipped, saying which.

    >>> conv2d_problems(dtypes=("float64",), tiers=("exact",)).example()  # doctest: +SKIP
    parse('in1x2x5x4:w4x1x3x1:s1:p(1,0):d1:g2:float64:contiguous:exact:seed7')
    """
    _check_choices("dtypes", dtypes, VALUE_DTYPES)
    _check_choices("layouts", layouts, LAYOUTS)
    _check_choices("tiers", tiers, TIERS)
    _check_choices("paddings", paddings, PADDING_KINDS)
    _check_choices("regimes", regimes, REGIMES)
    weights = sizes.WEIGHTS if weights is None else weights
    _check_choices("weights", tuple(weights), REGIMES)
    bounds = dict(max_batch=max_batch, max_groups=max_groups,
                  max_group_channels=max_group_channels, max_multiplier=max_multiplier,
                  max_kernel=max_kernel, max_dilation=max_dilation, max_stride=max_stride)
    for name, value in bounds.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: must be an int >= 1")
    if not isinstance(max_extra, int) or max_extra < 0:
        raise ValueError(f"max_extra={max_extra!r}: must be an int >= 0")
    if not isinstance(budget, int) or budget < sizes.SMALLEST_BUDGET:
        raise ValueError(f"budget={budget!r}: must be an int >= {sizes.SMALLEST_BUDGET}")
    claimed = domain.active() if claimed is None else claimed
    try:
        choices = inside_domain.narrowed(claimed, dtypes=dtypes, layouts=layouts, paddings=paddings,
                                  max_batch=max_batch, unbatched=unbatched,
                                  empty_batch=empty_batch)
    except inside_domain.NothingToDraw as error:
        return inside_domain.nothing_to_draw(str(error))
    bounds = sizes.Bounds.of(**dict(bounds, max_batch=choices["max_batch"]), max_extra=max_extra)
    if bounds == bounds.tiny() and "tiny" in regimes:
        regimes = ("tiny",)  # nothing larger fits: the other regimes would repeat it
    weights = {name: weight for name, weight in weights.items() if name in regimes}
    if not any(weights.values()):
        raise ValueError(f"weights={weights!r}: the regimes drawn need a weight above 0")
    return inside_domain.inside(_cases(choices["dtypes"], choices["layouts"], tiers, bounds,
                                choices["unbatched"], choices["empty_batch"], choices["paddings"],
                                sizes.weighted(weights), budget), claimed)


def _preferring(draw, allowed, preferred, always=False):
    """One of ``allowed``: one time in two (``always``: every time) one of ``preferred``
    (those allowed), else any (what it shrinks to)."""
    preferred = [choice for choice in preferred if choice in allowed]
    if preferred and (always or draw(st.booleans())):
        return draw(st.sampled_from(preferred))
    return draw(st.sampled_from(allowed))


@st.composite
def _cases(draw, dtypes, layouts, tiers, bounds, unbatched, empty_batch, paddings, regimes,
           budget):
    regime = draw(st.sampled_from(regimes))
    if currently_in_test_context():
        event(f"size regime: {regime}")
    preferred = sizes.PREFERRED.get(regime, {})
    # dtype and tier before the sizes: they set what a multiply-add costs, hence the budget
    always = preferred.get("always", False)
    dtype = _preferring(draw, dtypes, preferred.get("dtypes", ()), always)
    tier = draw(st.sampled_from(tiers))
    context = sizes.Context(bounds, budget // sizes.cost_factor(dtype, tier),
                            draw(st.sampled_from(paddings)), unbatched, empty_batch, _pairs,
                            dtype)
    drawn = sizes.DRAW[regime](draw, context)
    if isinstance(drawn.padding, str):
        padding = drawn.padding
    else:
        padding = draw(argument_forms(drawn.padding))
    batch = drawn.batch
    spatial = (drawn.in_channels, drawn.height, drawn.width)
    has_bias = draw(st.booleans())
    layout_choices = fitting_layouts(layouts, batched=batch is not None, has_bias=has_bias)
    return Conv2dCase(
        input_shape=spatial if batch is None else (batch, *spatial),
        weight_shape=(drawn.out_channels, drawn.group_channels, *drawn.kernel),
        bias_shape=(drawn.out_channels,) if has_bias else None,
        stride=draw(argument_forms(drawn.stride)),
        padding=padding,
        dilation=draw(argument_forms(drawn.dilation)),
        groups=drawn.groups,
        dtype=dtype,
        layout=_preferring(draw, layout_choices or ["contiguous"], preferred.get("layouts", ()),
                           always),
        tier=tier,
        seed=draw(st.integers(0, 2**32 - 1)),
    )
