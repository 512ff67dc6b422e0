"""Per-sample problems, valid by construction.

Each sample's own call is drawn by ``conv2d_problems`` (batch 1, contiguous), so
per-sample problems reach the corners the rest of the suite reaches: every
padding form including 'same', dilation, strides that leave a remainder,
kernels that fill the padded input, grouped and depthwise weights.  The
batch N is drawn apart; N and g both above 1 is the only place where folding
the batch into groups in the wrong order shows, and ``per_sample_cases``
reaches it (tests/test_per_sample.py checks that it does).
"""

from hypothesis import strategies as st

from case import TIERS, PerSampleCase
from case.formulations import FORMULATIONS
from strategies.problems import conv2d_problems

FLOAT_DTYPES = ("float32", "float64")

# Small problems: a per-sample case makes N calls (and the reference N more).  These
# bounds all fit the tiny size regime, so the samples are drawn in it alone.
SAMPLE_BOUNDS = dict(max_group_channels=3, max_multiplier=2, max_kernel=3, max_dilation=2,
                     max_stride=3, max_extra=4)


def _check_positive(name, value):
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r}: must be an int >= 1")


def _samples(dtypes, tiers, max_groups, bounds):
    return conv2d_problems(dtypes=dtypes, layouts=("contiguous",), tiers=tiers, max_batch=1,
                        max_groups=max_groups, unbatched=False, empty_batch=False,
                        **{**SAMPLE_BOUNDS, **bounds})


def per_sample_cases(*, formulations=tuple(FORMULATIONS), dtypes=FLOAT_DTYPES, tiers=TIERS,
                     max_batch=4, max_groups=3, **sample_bounds):
    """``PerSampleCase``s: N samples of one drawn call, each with its own weight.

    - ``formulations``: the ways (case/formulations.py) the implementation is asked
      to compute them;
    - ``dtypes``, ``tiers``: as for ``conv2d_problems``;
    - ``max_batch``: N is drawn from 1..max_batch (an empty batch has no samples);
    - ``max_groups``: g of each sample's call, 1..max_groups (1 for ungrouped);
    - ``sample_bounds``: other ``conv2d_problems`` bounds (default ``SAMPLE_BOUNDS``).

    >>> per_sample_cases(tiers=("exact",)).example()  # doctest: +SKIP
    parse('in3x4x5x5:w3x2x2x3x3:s1:p1:d1:g2:float64:contiguous:exact:seed9:loop')
    """
    _check_positive("max_batch", max_batch)
    unknown = [name for name in formulations if name not in FORMULATIONS]
    if unknown or not formulations:
        raise ValueError(f"formulations={formulations!r}: choose a non-empty subset of "
                         f"{tuple(FORMULATIONS)}")
    return st.builds(PerSampleCase.from_sample, _samples(dtypes, tiers, max_groups, sample_bounds),
                     st.integers(1, max_batch), st.sampled_from(formulations))


def batch_sized_groups_cases(*, dtypes=FLOAT_DTYPES, tiers=("exact",), max_groups=4,
                             **sample_bounds):
    """Ordinary ``Conv2dCase``s whose batch size equals their groups: the only calls
    ``groups=N`` on an untouched batch can make (weight ``(N*m, C/N, kh, kw)``)."""
    return _samples(dtypes, tiers, max_groups, sample_bounds).map(
        lambda case: case.replace(input_shape=(case.groups, *case.input_shape[1:])))


def full_extent_kernel_cases(*, dtypes=FLOAT_DTYPES, tiers=("exact",), max_batch=3,
                             max_channels=4, max_out_channels=3, max_size=6):
    """``PerSampleCase``s with a kernel as tall as the input, ``(H, 1)``, or as wide,
    ``(1, W)``: stride 1, no padding (in any spelling), no dilation, ``groups=1``.

    - ``max_batch``, ``max_channels``, ``max_out_channels``: bounds on N, C, O;
    - ``max_size``: bound on H and W.
    """
    for name, value in (("max_batch", max_batch), ("max_channels", max_channels),
                        ("max_out_channels", max_out_channels), ("max_size", max_size)):
        _check_positive(name, value)
    return _full_extent_kernel_cases(dtypes, tiers, max_batch, max_channels, max_out_channels,
                                     max_size)


@st.composite
def _full_extent_kernel_cases(draw, dtypes, tiers, max_batch, max_channels, max_out_channels,
                              max_size):
    batch = draw(st.integers(1, max_batch))
    channels = draw(st.integers(1, max_channels))
    out_channels = draw(st.integers(1, max_out_channels))
    height = draw(st.integers(1, max_size))
    width = draw(st.integers(1, max_size))
    kernel = draw(st.sampled_from([(height, 1), (1, width)]))
    return PerSampleCase(
        input_shape=(batch, channels, height, width),
        weight_shape=(batch, out_channels, channels, *kernel),
        bias_shape=(batch, out_channels) if draw(st.booleans()) else None,
        padding=draw(st.sampled_from([0, "valid", (0,), (0, 0), [0, 0]])),
        dtype=draw(st.sampled_from(dtypes)),
        tier=draw(st.sampled_from(tiers)),
        seed=draw(st.integers(0, 2**32 - 1)))
