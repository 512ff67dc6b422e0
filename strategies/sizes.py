"""Size regimes: the sizes at which conv2d kernels change their code path.

Production kernels branch on size: channel blocks of 8 and 16 (an AVX-512
register holds 16 floats; bfloat16 kernels pack channels in pairs), batch
chunks, output tiles, wide kernels, long reductions.  A bug past one of those
thresholds shows only on a problem past it, so ``conv2d_cases`` first draws a
regime, then the sizes within it:

==========  =====================================================================
tiny        every size small (batch <= 3, C/g <= 4, groups <= 4, kernel <= 4):
            the corners of the argument rules, cheap; the first regime, so a
            failure that shows on a tiny problem shrinks to one
channels    C/g and O/g near the channel blocks 8, 16, 32, 64 (n-1, n, n+1)
groups      8 to 64 groups, and depthwise with 7 to 64 channels, multiplier 1
            and more
batch       N near the batch chunks 8, 16, 32; float32 with N >= 16 is where
            torch picks NNPACK when oneDNN is off
kernels     square kernels up to 7x7, and 1xK or Kx1 up to 31, dense and
            depthwise (pytorch#120211 was a depthwise 1x15 on channels_last)
spatial     inputs up to 65x65, widths near vector widths (n-1, n, n+1 for 16,
            32, 48, 64), outputs of more than 32 rows and columns
reduction   C/g*kh*kw in the thousands, the seed note's shapes among them
            (1024 channels: 18x19 maps with a 6x3 kernel and padding (1, 0),
            14x14 maps with a 14x1 or a 1x14 kernel)
layers      the layers of real networks at a batch of two mostly: pointwise and
            3x3, strided downsamples whose input is the output times the stride,
            depthwise blocks (the oneDNN kernels bench/network_kernels.json lists)
dispatch    the smallest calls that reach oneDNN's kernels of their own for what
            real networks run backward, in bfloat16 or float32 on NHWC: depthwise
            with one filter per channel, 3x3 and 5x5, at stride 1 and past it;
            dense float32 3x3 at stride 1, 1x1 past it on an input exactly the
            output times the stride (what picks each kernel: ``_dispatch``)
==========  =====================================================================

Within a regime the sizes it is about are drawn from short sorted lists (so a
failure shrinks to the smallest listed size that fails, such as 17 for a bug
past a block of 16) and the rest from small ranges.  Layout, dtype, tier and
the argument forms are drawn alike in every regime, so every layout meets
every size.

Cost.  Every example is bounded by construction, never by filtering:
``MAC_BUDGET`` multiply-adds (N * O * out_h * out_w * C/g * kh * kw) for a
real dtype, divided by ``COST_FACTORS`` for the data that costs the reference
more per multiply-add (complex: four real products; float16 and bfloat16
exact-tier data: the thinning loop of case/data.py recomputes the reference
once per halving).  Each regime draws the sizes it is about first, each from
what the budget leaves, and then the output rows and columns that still fit
(an input-first regime shrinks its input until it fits).  Why this number:
bench/size_regimes.py measures each regime's cost per property.
"""

import dataclasses

from hypothesis import strategies as st

# Multiply-adds per example for real dtypes.  The seed note's 6x3 problem is
# 4.7 million (1 x 1024 x 15 x 17 outputs of 18432 products); the float64
# reference runs at about 1-2 ns per multiply-add plus the im2col copy, so an
# example at the budget costs tens of milliseconds where the draw costs one
# (bench/size_regimes.py has the measurements).
MAC_BUDGET = 5_000_000
# For the properties that repeat a call in another context (threads.agree,
# gradients.twice): with the whole budget those two took the default run to 70.9 s
# wall (python -m bench.default_run, EPYC-2, 2026-12-07), past its 60 s, and each
# repeats calls the other properties make at full size.
REPEATED_CALL_BUDGET = MAC_BUDGET // 4
# A budget below this could not afford a regime's kernel (a 1x31) and channels.
SMALLEST_BUDGET = 10_000

# What a multiply-add costs the reference, relative to a real one, by (dtype, tier).
COST_FACTORS = {("complex", "exact"): 4, ("complex", "float"): 4,
                ("half", "exact"): 8, ("half", "float"): 1,
                ("real", "exact"): 1, ("real", "float"): 1}

# The regimes, simplest first, and how many of every 100 examples each gets.
# tiny keeps the largest share: it reaches the argument rules' corners and costs
# microseconds; every other regime gets enough examples that each property of
# a 60-example run meets most of them (bench/size_regimes.py counts them).
WEIGHTS = {"tiny": 45, "channels": 7, "groups": 7, "batch": 7, "kernels": 7, "spatial": 6,
           "reduction": 6, "layers": 10, "dispatch": 5}
REGIMES = tuple(WEIGHTS)
# The mix of the properties that backpropagate through oneDNN (gradients.exact and
# .float, autograd.double_backward_exact and _float, autograd.forward_over_reverse):
# only they reach oneDNN's backward kernels, and each kernel the dispatch regime is
# about needs one of its draws (a conjunction of dtype, layout, form, kernel and
# stride no other regime draws often).  A derandomised run draws each property only
# some 30 fresh examples, so these draw it five times as often, from tiny's share:
# bench/kernel_reach.py measures how often each property, and the five together,
# reach each kernel.
BACKWARD_WEIGHTS = dict(WEIGHTS, tiny=25, dispatch=25)

# What a regime draws one time in two instead of the caller's uniform choice (where
# the caller allows it): the layers regime is about oneDNN's kernels, which serve
# float32 and bfloat16, in NHWC as often as in NCHW; wide kernels went wrong on
# channels_last inputs (pytorch#120211).
_CHANNELS_LAST = ("channels_last", "channels_last_input", "channels_last_weight")
PREFERRED = {"layers": dict(dtypes=("float32", "bfloat16"), layouts=_CHANNELS_LAST),
             "kernels": dict(layouts=_CHANNELS_LAST[:2]),
             # every time: the kernels it is about exist only for these (``_dispatch``)
             "dispatch": dict(dtypes=("bfloat16", "float32"), layouts=_CHANNELS_LAST[:2],
                              always=True)}

# The bounds of the tiny regime (what conv2d_cases drew before regimes).
TINY = dict(max_batch=3, max_groups=4, max_group_channels=4, max_multiplier=3, max_kernel=4,
            max_dilation=3, max_stride=4, max_extra=5)


def near(*sizes):
    """n - 1, n and n + 1 for each n, sorted: both sides of a block boundary."""
    return sorted({size + step for size in sizes for step in (-1, 0, 1)})


CHANNEL_BLOCKS = near(8, 16, 32, 64)  # 7, 8, 9, 15, ..., 65
BATCH_CHUNKS = near(8, 16, 32)
GROUP_COUNTS = [count for count in near(8, 16, 32, 64) if count <= 64]
DEPTHWISE_CHANNELS = [7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64]
SQUARE_KERNELS = [5, 6, 7]
LONG_KERNELS = [5, 7, 8, 9, 11, 13, 15, 16, 17, 21, 25, 31]  # 1xK and Kx1
VECTOR_WIDTHS = near(16, 32, 48, 64)
REDUCTION_CHANNELS = [127, 128, 129, 255, 256, 257, 511, 512, 513, 1024]
# The seed note's per-sample shapes as ordinary calls: (C, (H, W), kernel, padding).
NOTE_SHAPES = [(1024, (14, 14), (14, 1), (0, 0)), (1024, (14, 14), (1, 14), (0, 0)),
               (1024, (18, 19), (6, 3), (1, 0))]


@dataclasses.dataclass(frozen=True)
class Bounds:
    """The caller's upper bounds (``conv2d_cases``' ``max_*`` arguments): every regime
    keeps within them."""

    batch: int
    groups: int
    group_channels: int
    multiplier: int
    kernel: int
    dilation: int
    stride: int
    extra: int

    @classmethod
    def of(cls, **bounds):
        return cls(**{name.removeprefix("max_"): value for name, value in bounds.items()})

    def tiny(self):
        return Bounds(*(min(mine, TINY[f"max_{field.name}"])
                        for mine, field in zip(dataclasses.astuple(self),
                                               dataclasses.fields(self))))


@dataclasses.dataclass(frozen=True)
class Sizes:
    """What a regime decides: every size of the problem and its stride and padding."""

    regime: str
    batch: object  # int, or None for an unbatched (3-D) input
    groups: int
    group_channels: int
    multiplier: int
    kernel: tuple
    dilation: tuple
    stride: tuple
    padding: object  # a (height, width) pair, or 'same' / 'valid'
    height: int
    width: int

    @property
    def in_channels(self):
        return self.groups * self.group_channels

    @property
    def out_channels(self):
        return self.groups * self.multiplier


def cost_factor(dtype, tier):
    kind = ("complex" if dtype.startswith("complex")
            else "half" if dtype in ("float16", "bfloat16") else "real")
    return COST_FACTORS[(kind, tier)]


def multiply_adds(case):
    """N * O * out_h * out_w * C/g * kh * kw of a valid case: what the budget counts."""
    geometry = case.geometry()
    out_h, out_w = geometry.output_size
    return geometry.batch * geometry.out_channels * out_h * out_w * geometry.dot_length


def weighted(weights):
    """The regime names in a list whose position Hypothesis draws uniformly: each name
    as often as its weight, in order, so shrinking moves towards the first."""
    return [name for name, weight in weights.items() for _ in range(weight)]


# ---------------------------------------------------------------------------
# Shared pieces.


def _fitting(values, limit):
    """The listed values up to ``limit``; if none, 1..limit (never empty for limit >= 1)."""
    kept = [value for value in values if value <= limit]
    return kept or list(range(1, max(1, limit) + 1))


def _pick(draw, values, limit):
    return draw(st.sampled_from(_fitting(values, limit)))


def _extent(kernel, dilation):
    return dilation * (kernel - 1) + 1


class _Budget:
    """What is left of an example's multiply-adds as its sizes are drawn."""

    def __init__(self, total):
        self.left = max(1, total)

    def take(self, factor):
        self.left = max(1, self.left // max(1, factor))
        return factor

    def pick(self, draw, values, limit):
        """A listed value that the budget still affords, within ``limit``."""
        return self.take(_pick(draw, values, min(limit, self.left)))


def _batch(draw, budget, options, context):
    """N from ``options`` (None: unbatched, kept only where the caller allows it)."""
    allowed = [n for n in options if (n is None and context.unbatched)
               or (n is not None and n <= min(context.bounds.batch, budget.left))]
    batch = draw(st.sampled_from(allowed or [1]))
    budget.take(1 if batch is None else batch)
    return batch


def _stride_and_padding(draw, kind, kernel, dilation, strides, bounds):
    """(stride, padding, total padding per axis) for a padding ``kind`` ('same' has
    stride 1); numeric padding is at most half the dilated kernel per side, so no
    output reads padding alone."""
    if kind == "same":
        extents = [_extent(k, d) for k, d in zip(kernel, dilation)]
        return (1, 1), kind, tuple(e - 1 for e in extents)
    stride = draw(st.sampled_from([s for s in strides
                                   if max(s) <= bounds.stride] or [(1, 1)]))
    if kind == "valid":
        return stride, kind, (0, 0)
    pad = tuple(draw(st.integers(0, (_extent(k, d) - 1) // 2)) for k, d in zip(kernel, dilation))
    return stride, pad, (2 * pad[0], 2 * pad[1])


def _axis_for_outputs(draw, kernel, dilation, stride, total_pad, most, extra):
    """An input length giving at most ``most`` outputs (at least one), the stride's
    remainder drawn too, at most ``extra`` beyond the smallest input that fits."""
    extent = _extent(kernel, dilation)
    smallest = max(1, extent - total_pad)
    spare = smallest + total_pad - extent  # >= 0: input the first output does not need
    fewest = spare // stride + 1
    outputs = draw(st.integers(fewest, max(fewest, min(most, fewest + extra // stride))))
    grown = (outputs - fewest) * stride
    remainder = draw(st.integers(0, max(0, min(stride - 1 - spare % stride, extra - grown))))
    return smallest + grown + remainder


def _spatial_for_outputs(draw, budget, kernel, dilation, stride, total_pad, most, bounds):
    """(height, width) with at most ``most`` output rows and columns, within the budget."""
    rows_most = min(most[0], budget.left)
    height = _axis_for_outputs(draw, kernel[0], dilation[0], stride[0], total_pad[0],
                               rows_most, bounds.extra)
    rows = _outputs(height, kernel[0], dilation[0], stride[0], total_pad[0])
    budget.take(rows)
    width = _axis_for_outputs(draw, kernel[1], dilation[1], stride[1], total_pad[1],
                              min(most[1], budget.left), bounds.extra)
    budget.take(_outputs(width, kernel[1], dilation[1], stride[1], total_pad[1]))
    return height, width


def _outputs(size, kernel, dilation, stride, total_pad):
    return (size + total_pad - _extent(kernel, dilation)) // stride + 1


def _fit_input(size, kernel, dilation, stride, total_pad, most, bounds):
    """``size`` cut down until it gives at most ``most`` outputs and is at most
    ``bounds.extra`` beyond the smallest input that fits (never below that)."""
    extent = _extent(kernel, dilation)
    smallest = max(1, extent - total_pad)
    largest = extent - total_pad + (max(1, most) - 1) * stride  # exactly ``most`` outputs
    return max(smallest, min(size, largest, smallest + bounds.extra))


# ---------------------------------------------------------------------------
# The regimes.  Each is ``(draw, context) -> Sizes``; ``context`` holds the caller's
# bounds, the example's budget, the padding kind and the batch options.


@dataclasses.dataclass(frozen=True)
class Context:
    bounds: Bounds
    budget: int
    padding_kind: str
    unbatched: bool
    empty_batch: bool
    pairs: object  # the (height, width) pair strategy of the tiny regime
    dtype: str = ""  # the case's dtype, drawn before the sizes


def _tiny(draw, context):
    """Every size small: what conv2d_cases drew before regimes, draw for draw."""
    bounds = context.bounds.tiny()
    groups = draw(st.integers(1, bounds.groups))
    group_channels = draw(st.integers(1, bounds.group_channels))
    multiplier = draw(st.integers(1, bounds.multiplier))
    kernel = draw(context.pairs(1, bounds.kernel))
    dilation = draw(context.pairs(1, bounds.dilation))
    if context.padding_kind == "numbers":
        stride = draw(context.pairs(1, bounds.stride))
        # up to kernel + 1: padding larger than the kernel is legal and a corner
        pad = (draw(st.integers(0, kernel[0] + 1)), draw(st.integers(0, kernel[1] + 1)))
        padding, total_pad = pad, (2 * pad[0], 2 * pad[1])
    else:
        stride, padding = (1, 1), context.padding_kind
        total_pad = (tuple(d * (k - 1) for k, d in zip(kernel, dilation))
                     if padding == "same" else (0, 0))
    smallest = [max(1, _extent(k, d) - p) for k, d, p in zip(kernel, dilation, total_pad)]
    height = smallest[0] + draw(st.integers(0, bounds.extra))
    width = smallest[1] + draw(st.integers(0, bounds.extra))
    batches = (list(range(1, bounds.batch + 1)) + [0] * context.empty_batch
               + [None] * context.unbatched)
    batch = draw(st.sampled_from(batches))
    return Sizes("tiny", batch, groups, group_channels, multiplier, kernel, dilation, stride,
                 padding, height, width)


# Strides of the larger regimes: (2, 1) reaches oneDNN's strided 1x1 kernels.
_STRIDES = [(1, 1), (2, 2), (1, 2), (2, 1)]
_FEW_BATCHES = [1, 2, 3, 4, None]
_SMALL_KERNELS = [(1, 1), (3, 3), (2, 2), (1, 3), (3, 1)]


def _kernel(draw, budget, options, bounds):
    """A kernel from ``options`` within the caller's bound and what the budget leaves."""
    kernel = draw(st.sampled_from([k for k in options if max(k) <= bounds.kernel
                                   and k[0] * k[1] <= budget.left] or [(1, 1)]))
    budget.take(kernel[0] * kernel[1])
    return kernel


def _dilation(draw, bounds, plain=3):
    """No dilation ``plain`` times in ``plain + 1``, else 2 (where the caller allows it)."""
    return draw(st.sampled_from([(1, 1)] * plain + [(2, 2)] if bounds.dilation >= 2
                                else [(1, 1)]))


def _output_first(draw, context, budget, regime, batch, channels, kernel, dilation, strides,
                  most):
    """The rest of an output-first regime's sizes: its stride and padding, then an input
    giving at most ``most`` output rows and columns, within what the budget leaves;
    ``channels`` is (groups, C/g, O/g)."""
    stride, padding, total_pad = _stride_and_padding(draw, context.padding_kind, kernel,
                                                     dilation, strides, context.bounds)
    spatial = _spatial_for_outputs(draw, budget, kernel, dilation, stride, total_pad, most,
                                   context.bounds)
    return Sizes(regime, batch, *channels, kernel, dilation, stride, padding, *spatial)


def _channels(draw, context):
    """C/g and O/g at the channel blocks: the tails of 8-, 16-, 32- and 64-wide loops."""
    bounds, budget = context.bounds, _Budget(context.budget)
    group_channels = budget.pick(draw, [1, 2, 3] + CHANNEL_BLOCKS, bounds.group_channels)
    multiplier = budget.pick(draw, [1, 2, 3] + CHANNEL_BLOCKS, bounds.multiplier)
    groups = budget.pick(draw, [1, 2, 3, 4], bounds.groups)
    kernel = _kernel(draw, budget, _SMALL_KERNELS, bounds)
    dilation = _dilation(draw, bounds)
    batch = _batch(draw, budget, _FEW_BATCHES, context)
    return _output_first(draw, context, budget, "channels", batch,
                         (groups, group_channels, multiplier), kernel, dilation, _STRIDES, (12, 12))


def _groups(draw, context):
    """Many groups: depthwise (C/g = 1, the simplest) with multiplier 1 and more, or
    grouped; the multiplier first, so O = 33 shrinks to 33 groups of one filter."""
    bounds, budget = context.bounds, _Budget(context.budget)
    multiplier = budget.pick(draw, [1, 2, 3, 4, 8, 16, 17], bounds.multiplier)
    group_channels = budget.pick(draw, [1, 2, 3, 4, 8, 9, 16, 17], bounds.group_channels)
    groups = budget.pick(draw, DEPTHWISE_CHANNELS if group_channels == 1 else GROUP_COUNTS,
                         bounds.groups)
    kernel = _kernel(draw, budget, [(1, 1), (3, 3), (5, 5), (7, 7), (2, 2), (3, 1), (1, 3)],
                     bounds)
    dilation = _dilation(draw, bounds)
    batch = _batch(draw, budget, _FEW_BATCHES, context)
    return _output_first(draw, context, budget, "groups", batch,
                         (groups, group_channels, multiplier), kernel, dilation, _STRIDES, (16, 16))


def _batches(draw, context):
    """N at the batch chunks; no dilation mostly and kernels under 17: NNPACK's domain."""
    bounds, budget = context.bounds, _Budget(context.budget)
    batch = _batch(draw, budget, BATCH_CHUNKS, context)
    groups = budget.pick(draw, [1, 1, 1, 2, 4], bounds.groups)
    group_channels = budget.pick(draw, [1, 2, 3, 4, 8, 16], bounds.group_channels)
    multiplier = budget.pick(draw, [1, 2, 3, 4, 8, 16], bounds.multiplier)
    kernel = _kernel(draw, budget, [(1, 1), (3, 3), (2, 2), (5, 5), (3, 1), (1, 3)], bounds)
    dilation = _dilation(draw, bounds, plain=4)
    return _output_first(draw, context, budget, "batch", batch,
                         (groups, group_channels, multiplier), kernel, dilation, _STRIDES, (12, 12))


def _kernels(draw, context):
    """Square kernels up to 7x7, 1xK and Kx1 up to 31; dense or depthwise."""
    bounds, budget = context.bounds, _Budget(context.budget)
    shape = draw(st.sampled_from(["square", "wide", "tall"]))
    if shape == "square":
        sizes = _fitting(SQUARE_KERNELS, bounds.kernel)
        first = draw(st.sampled_from(sizes))
        kernel = (first, draw(st.sampled_from(sizes)) if draw(st.booleans()) else first)
    else:
        length = _pick(draw, LONG_KERNELS, bounds.kernel)
        kernel = (1, length) if shape == "wide" else (length, 1)
    budget.take(kernel[0] * kernel[1])
    # depthwise (C/g = 1, one time in four) or dense, sometimes grouped
    group_channels = budget.pick(draw, [1, 1, 2, 3, 4, 8, 16, 17], bounds.group_channels)
    multiplier = budget.pick(draw, [1, 2, 3, 4, 8, 16, 17], bounds.multiplier)
    groups = budget.pick(draw, [2, 3, 4, 8, 16, 17, 32, 33] if group_channels == 1
                         else [1, 1, 1, 2, 4], bounds.groups)
    dilation = _dilation(draw, bounds)
    batch = _batch(draw, budget, [1, 2, 3, None], context)
    return _output_first(draw, context, budget, "kernels", batch,
                         (groups, group_channels, multiplier), kernel, dilation, _STRIDES, (20, 20))


def _spatial(draw, context):
    """Large feature maps: heights and widths near vector widths, up to 65."""
    bounds, budget = context.bounds, _Budget(context.budget)
    group_channels = budget.pick(draw, [1, 2, 3, 4], bounds.group_channels)
    multiplier = budget.pick(draw, [1, 2, 3, 4], bounds.multiplier)
    groups = budget.pick(draw, [1, 1, 2, 3, 4, 8, 16], bounds.groups)
    kernel = _kernel(draw, budget, _SMALL_KERNELS, bounds)
    dilation = (1, 1)
    batch = _batch(draw, budget, [1, 2, None], context)
    stride, padding, total_pad = _stride_and_padding(
        draw, context.padding_kind, kernel, dilation, [(1, 1), (1, 1), (2, 2), (1, 2)], bounds)
    height = draw(st.sampled_from(VECTOR_WIDTHS))
    width = draw(st.sampled_from(VECTOR_WIDTHS))
    height, width = _fit_inputs(budget, (height, width), kernel, dilation, stride, total_pad,
                                bounds)
    return Sizes("spatial", batch, groups, group_channels, multiplier, kernel, dilation, stride,
                 padding, height, width)


def _fit_inputs(budget, size, kernel, dilation, stride, total_pad, bounds):
    """An input-first regime's (height, width), cut down to the budget: rows first."""
    height = _fit_input(size[0], kernel[0], dilation[0], stride[0], total_pad[0], budget.left,
                        bounds)
    budget.take(_outputs(height, kernel[0], dilation[0], stride[0], total_pad[0]))
    width = _fit_input(size[1], kernel[1], dilation[1], stride[1], total_pad[1], budget.left,
                       bounds)
    budget.take(_outputs(width, kernel[1], dilation[1], stride[1], total_pad[1]))
    return height, width


def _reduction(draw, context):
    """Long dot products: C/g in the hundreds to 1024, or the seed note's shapes."""
    bounds, budget = context.bounds, _Budget(context.budget)
    if draw(st.booleans()):  # the seed note's shapes
        channels, size, kernel, note_pad = draw(st.sampled_from(NOTE_SHAPES))
        kernel = tuple(min(k, bounds.kernel) for k in kernel)
        budget.take(kernel[0] * kernel[1])
        group_channels = budget.pick(draw, [channels], bounds.group_channels)
        groups = 1
    else:
        size = note_pad = None
        group_channels = budget.pick(draw, REDUCTION_CHANNELS, bounds.group_channels)
        groups = budget.pick(draw, [1, 1, 2], bounds.groups)
        kernel = _kernel(draw, budget, [(3, 3), (1, 1), (5, 5), (3, 1), (1, 3)], bounds)
    multiplier = budget.pick(draw, [1, 2, 3, 4, 8, 16], bounds.multiplier)
    dilation = (1, 1)
    batch = _batch(draw, budget, [1, 2, None], context)
    if note_pad is not None and context.padding_kind == "numbers":
        stride = (1, 1)
        padding = tuple(min(p, (k - 1) // 2) for p, k in zip(note_pad, kernel))
        total_pad = (2 * padding[0], 2 * padding[1])
    else:
        stride, padding, total_pad = _stride_and_padding(draw, context.padding_kind, kernel,
                                                         dilation, [(1, 1), (2, 2)], bounds)
    if size is not None:
        spatial = _fit_inputs(budget, size, kernel, dilation, stride, total_pad, bounds)
    else:
        spatial = _spatial_for_outputs(draw, budget, kernel, dilation, stride, total_pad, (8, 8),
                                       bounds)
    return Sizes("reduction", batch, groups, group_channels, multiplier, kernel, dilation,
                 stride, padding, *spatial)


# Real networks' layers: (kernel, stride, depthwise).  A 1x1 with stride 2 is a
# ResNet downsample, a depthwise 3x3 with stride 2 a MobileNet block, (2, 1) the
# strided 1x1 oneDNN has its own kernels for.
# The strided 1x1 shapes twice: oneDNN has kernels of their own for them.
LAYER_SHAPES = [((1, 1), (1, 1), False), ((3, 3), (1, 1), False), ((1, 1), (2, 2), False),
                ((1, 1), (2, 2), False), ((3, 3), (2, 2), False), ((3, 3), (1, 1), True),
                ((3, 3), (2, 2), True), ((1, 1), (2, 1), False), ((1, 1), (2, 1), False),
                ((5, 5), (2, 2), True), ((7, 7), (2, 2), False)]


def _layers(draw, context):
    """The layers real networks are made of, at a batch of two mostly: pointwise and
    3x3 convolutions, strided downsamples whose input is exactly the output times the
    stride, depthwise blocks; padding (k - 1) / 2 as the layers have it."""
    bounds, budget = context.bounds, _Budget(context.budget)
    kernel, stride, depthwise = draw(st.sampled_from(
        [shape for shape in LAYER_SHAPES if max(shape[0]) <= bounds.kernel
         and max(shape[1]) <= bounds.stride] or [((1, 1), (1, 1), False)]))
    budget.take(kernel[0] * kernel[1])
    if depthwise and bounds.groups >= 2:
        group_channels = 1
        multiplier = budget.pick(draw, [1, 2], bounds.multiplier)
        groups = budget.pick(draw, [2, 3, 4, 8, 16, 17, 32], bounds.groups)
    else:
        group_channels = budget.pick(draw, [1, 2, 3, 4, 8, 16, 17], bounds.group_channels)
        multiplier = budget.pick(draw, [1, 2, 4, 8, 16, 17], bounds.multiplier)
        groups = 1
    batch = _batch(draw, budget, [1, 2, 2, 2, 3, 4], context)
    dilation = (1, 1)
    if context.padding_kind == "numbers":
        padding = ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2)
        total_pad = (2 * padding[0], 2 * padding[1])
    else:
        stride, padding, total_pad = _stride_and_padding(draw, context.padding_kind, kernel,
                                                         dilation, [stride], bounds)
    spatial = _input_times_stride(draw, budget, kernel, stride, total_pad, bounds)
    return Sizes("layers", batch, groups, group_channels, multiplier, kernel, dilation, stride,
                 padding, *spatial)


def _input_times_stride(draw, budget, kernel, stride, total_pad, bounds, most=8):
    """(height, width) giving at most ``most`` outputs each, the input the output times
    the stride: the remainder that a layer's input leaves, every time (for a 1x1
    kernel exactly output x stride)."""
    spatial = []
    for axis in (0, 1):
        outputs = draw(st.integers(1, max(1, min(most, budget.left,
                                                 1 + bounds.extra // stride[axis]))))
        size = (outputs - 1) * stride[axis] + kernel[axis] - total_pad[axis]
        size = max(1, size + min(stride[axis] - 1, bounds.extra))
        spatial.append(size)
        budget.take(_outputs(size, kernel[axis], 1, stride[axis], total_pad[axis]))
    return spatial


# What picks oneDNN's kernels for the real networks' calls backward (ONEDNN_VERBOSE on
# torch 2.13.0, oneDNN 3.12.0, AVX-512 with AMX, one thread; bench/network_kernels.json):
# - depthwise with one filter per channel (C/g = 1, O = C), dilation 1, from 2 channels
#   on (there is no channel threshold: 2 reach what MobileNet's 576 reach): bfloat16
#   backward data runs jit_dw:avx512_core_bf16 at stride 1 and
#   brgconv_strided:avx512_core_bf16 past it; backward weights jit_dw:avx512_core_bf16
#   up to 3x3, past it jit_bf16:avx512_core_bf16 on an NHWC input (x64:gemm:jit on
#   NCHW).  With two filters per channel, or a dilation, bfloat16 runs the AMX kernels
#   or gemm instead.  float32 runs jit_dw:avx512_core both ways at 3x3.
# - dense float32, groups 1, on NHWC (the input or the weight), 2+ input channels (with
#   one, NHWC and NCHW strides are the same), a batch of 2+ (below it torch keeps a
#   float32 call with a kernel up to 3x3 off oneDNN), stride 1, a kernel past 1x1:
#   backward data brg_conv_bwd:avx512_core (jit:avx512_core on NCHW, brgconv_strided
#   past stride 1).
# - dense float32 1x1 past stride 1 (stride 1 stays on torch's own path below batch 16):
#   backward weights jit_1x1:avx512_core only where the input is exactly the output
#   times the stride (a ResNet downsample), jit:avx512_core where it leaves a remainder.
DISPATCH_KERNELS = [(3, 3), (5, 5)]
# Past stride 1 three times in four: padding 'same' has stride 1 only.
DISPATCH_STRIDES = [(1, 1), (2, 2), (1, 2), (2, 1)]
DISPATCH_CHANNELS = [2, 3, 4, 8, 16, 17]


def _dispatch(draw, context):
    """The smallest calls on each side of the rules above, bfloat16 or float32 on NHWC
    whenever the caller allows them (``PREFERRED``), a batch of 2 or 3: depthwise with
    one filter per channel (always for bfloat16, whose dense calls run the AMX kernels
    every regime reaches; one time in two for the others), else dense: 3x3 at stride 1,
    or 1x1 past it on an input exactly the output times the stride."""
    bounds, budget = context.bounds, _Budget(context.budget)
    depthwise = bounds.groups >= 2 and (context.dtype == "bfloat16" or draw(st.booleans()))
    if depthwise:
        kernel = _kernel(draw, budget, DISPATCH_KERNELS, bounds)
        group_channels = multiplier = 1
        groups = budget.pick(draw, DISPATCH_CHANNELS, bounds.groups)
    else:
        kernel = _kernel(draw, budget, [(3, 3), (1, 1)], bounds)
        group_channels = budget.pick(draw, DISPATCH_CHANNELS, bounds.group_channels)
        multiplier = budget.pick(draw, [1, 2, 3, 4, 8, 16, 17], bounds.multiplier)
        groups = 1
    batch = _batch(draw, budget, [2, 3], context)
    channels = (groups, group_channels, multiplier)
    if kernel != (1, 1):
        return _output_first(draw, context, budget, "dispatch", batch, channels, kernel, (1, 1),
                             DISPATCH_STRIDES if depthwise else [(1, 1)], (8, 8))
    stride, padding, total_pad = _stride_and_padding(draw, context.padding_kind, kernel, (1, 1),
                                                     DISPATCH_STRIDES[1:], bounds)
    spatial = _input_times_stride(draw, budget, kernel, stride, total_pad, bounds)
    return Sizes("dispatch", batch, *channels, kernel, (1, 1), stride, padding, *spatial)


DRAW = {"tiny": _tiny, "channels": _channels, "groups": _groups, "batch": _batches,
        "kernels": _kernels, "spatial": _spatial, "reduction": _reduction, "layers": _layers,
        "dispatch": _dispatch}
