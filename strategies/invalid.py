"""conv2d calls that break exactly one rule each.

Each breaker starts from a small valid case and changes what it must to break
its rule and nothing checked before it.  ``invalid_cases`` asks the reference
which rule the result breaks and insists it is the intended one, so a breaker
that breaks the wrong rule is a bug of the suite, reported as such.
"""

from hypothesis import event
from hypothesis import strategies as st

from reference import ConvArgumentError, Rule
from strategies.cases import conv2d_cases

# Every batch, the empty one included: torch skips some checks when N = 0, and
# with a padding string the bias dtype check; the registry records those
# (tests/known_deviations.toml), so such calls are reported, not avoided.
# Tiny problems only, and no data features (magnitude, density, signs, specials): the
# rules are about the arguments, and a call that breaks one is rejected before any
# element is read.  Drawing the features took 8 of a case's 14 ms (measured: 6 ms
# without them), and the 17 rules draw 60 cases each in the ci profile.
_BASE = conv2d_cases(dtypes=("float32", "float64"), layouts=("contiguous",), tiers=("float",),
                     shaped=False, max_batch=2, max_groups=3, max_group_channels=2,
                     max_kernel=3, max_extra=3, regimes=("tiny",))


def _argument_type(case, draw):
    name, value = draw(st.sampled_from([
        ("stride", 1.5), ("stride", (1.0, 1)), ("stride", None), ("padding", 1.0),
        ("dilation", 2.0), ("groups", True), ("groups", 1.0)]))
    return case.replace(**{name: value})


def _input_rank(case, draw):
    rank = draw(st.sampled_from([1, 2, 5]))
    shape = (2, *case.input_shape[-3:], 1)[:rank] if rank < 5 else (1, 1, *case.input_shape[-3:])
    return case.replace(input_shape=shape)


def _unsupported_dtype(case, draw):
    return case.replace(dtype="bool")


def _bias_dtype(case, draw):
    other = "float64" if case.dtype == "float32" else "float32"
    return case.replace(bias_shape=(case.weight_shape[0],), bias_dtype=other)


def _weight_dtype(case, draw):
    other = "float64" if case.dtype == "float32" else "float32"
    return case.replace(weight_dtype=other)


def _padding_string(case, draw):
    padding = draw(st.sampled_from(["SAME", "Same", "VALID", "full", "zeros"]))
    return case.replace(padding=padding, stride=1)


def _same_with_stride(case, draw):
    stride = draw(st.sampled_from([2, (2,), (1, 2), [3, 1]]))
    return case.replace(padding="same", stride=stride)


def _argument_length(case, draw):
    name = draw(st.sampled_from(["stride", "padding", "dilation"]))
    value = draw(st.sampled_from([(), (1, 1, 1), [1, 1, 1, 1]]))
    changes = {name: value}
    if name == "padding" and not value:
        changes["padding"] = (1, 0, 1)
    if isinstance(case.padding, str):
        changes.setdefault("padding", 0)
    return case.replace(**changes)


def _weight_rank(case, draw):
    shape = case.weight_shape
    return case.replace(weight_shape=draw(st.sampled_from([shape[:3], (*shape, 1)])))


def _negative_padding(case, draw):
    return case.replace(padding=draw(st.sampled_from([-1, (0, -1), [-2, 0]])), stride=1)


def _non_positive(name, rule_values):
    """``name`` gets a value < 1; padding as large as the kernel keeps the kernel
    check (which torch may run first) satisfied on the other axis."""
    def breaker(case, draw):
        changes = {name: draw(st.sampled_from(rule_values)),
                   "padding": max(case.weight_shape[2:]) if name == "dilation" else 0}
        return case.replace(**changes)
    return breaker


def _groups_exceed_out_channels(case, draw):
    # groups 2, out_channels 1 (or 0): C_in stays consistent with groups.
    out_channels = draw(st.sampled_from([0, 1]))
    return case.replace(input_shape=case.input_shape[:-3] + (2, *case.input_shape[-2:]),
                        weight_shape=(out_channels, 1, *case.weight_shape[2:]), groups=2,
                        bias_shape=None)


def _out_channels_not_divisible(case, draw):
    groups = draw(st.integers(2, 3))
    out_channels = groups + draw(st.integers(1, groups - 1))
    return case.replace(input_shape=case.input_shape[:-3] + (groups, *case.input_shape[-2:]),
                        weight_shape=(out_channels, 1, *case.weight_shape[2:]), groups=groups,
                        bias_shape=None)


def _channel_mismatch(case, draw):
    channels = case.input_shape[-3] + draw(st.sampled_from([-1, 1, 2]))
    if channels < 0 or channels == case.input_shape[-3]:
        channels = case.input_shape[-3] + 1
    return case.replace(input_shape=case.input_shape[:-3] + (channels, *case.input_shape[-2:]))


def _bias_shape(case, draw):
    out_channels = case.weight_shape[0]
    return case.replace(bias_shape=draw(st.sampled_from(
        [(out_channels + 1,), (out_channels, 1), ()])))


def _kernel_too_large(case, draw):
    # Numeric padding p, input one row or column too small for the kernel.
    kh, kw = case.weight_shape[2:]
    kernel = (max(kh, 2), max(kw, 2))
    axis = draw(st.integers(0, 1))
    size = [kernel[0], kernel[1]]
    size[axis] -= 1
    return case.replace(input_shape=case.input_shape[:-2] + tuple(size),
                        weight_shape=case.weight_shape[:2] + kernel, padding=0, stride=1,
                        dilation=1)


def _empty_spatial(case, draw):
    kh, kw = case.weight_shape[2:]
    batch = case.input_shape[:-3]
    if batch and batch[0] == 0:
        batch = (1,)
    return case.replace(input_shape=(*batch, case.input_shape[-3], 0, case.input_shape[-1]),
                        padding=kh, dilation=1, stride=1)


def _empty_kernel(case, draw):
    axis = draw(st.integers(2, 3))
    shape = list(case.weight_shape)
    shape[axis] = 0
    return case.replace(weight_shape=tuple(shape))


BREAKERS = {
    Rule.ARGUMENT_TYPE: _argument_type,
    Rule.INPUT_RANK: _input_rank,
    Rule.UNSUPPORTED_DTYPE: _unsupported_dtype,
    Rule.BIAS_DTYPE: _bias_dtype,
    Rule.WEIGHT_DTYPE: _weight_dtype,
    Rule.PADDING_STRING: _padding_string,
    Rule.SAME_WITH_STRIDE: _same_with_stride,
    Rule.ARGUMENT_LENGTH: _argument_length,
    Rule.WEIGHT_RANK: _weight_rank,
    Rule.NEGATIVE_PADDING: _negative_padding,
    Rule.NON_POSITIVE_STRIDE: _non_positive("stride", [0, -1, (1, 0), [0]]),
    Rule.NON_POSITIVE_DILATION: _non_positive("dilation", [0, -1, (0, 1), [-2]]),
    Rule.NON_POSITIVE_GROUPS: _non_positive("groups", [0, -1]),
    Rule.GROUPS_EXCEED_OUT_CHANNELS: _groups_exceed_out_channels,
    Rule.OUT_CHANNELS_NOT_DIVISIBLE: _out_channels_not_divisible,
    Rule.CHANNEL_MISMATCH: _channel_mismatch,
    Rule.BIAS_SHAPE: _bias_shape,
    Rule.KERNEL_TOO_LARGE: _kernel_too_large,
    Rule.EMPTY_SPATIAL: _empty_spatial,
    Rule.EMPTY_KERNEL: _empty_kernel,
}


@st.composite
def invalid_cases(draw, rules=tuple(BREAKERS)):
    """A call that breaks one of ``rules`` and no rule checked before it
    (``case.rule()`` says which)."""
    rule = draw(st.sampled_from(rules))
    case = BREAKERS[rule](draw(_BASE), draw)
    try:
        case.geometry()
    except ConvArgumentError as error:
        broken_rule = error.rule
    else:
        broken_rule = None
    if broken_rule is not rule:
        raise AssertionError(f"suite bug: the {rule.value} breaker made {case}, which "
                             f"breaks {broken_rule and broken_rule.value}")
    event(f"rule: {rule.value}")
    return case
