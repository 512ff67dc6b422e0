"""The reference rejects exactly the calls its rules forbid, and says which rule.

Every rule of ``reference.Rule`` has calls that break it (and only it) next
to a call that differs in one argument and is valid.  The table is checked to
cover every rule, so a new rule without an example fails here.  The last tests
hold the same calls against torch: the error type and the stable message
fragment each rule records, and acceptance of the valid neighbours.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference
from reference import ConvArgumentError, Rule


@dataclasses.dataclass(frozen=True)
class Call:
    """One conv2d call, by shapes and dtypes: zeros of these are its data."""

    input: tuple = (1, 2, 5, 5)
    weight: tuple = (4, 2, 3, 3)
    bias: tuple = None
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: object = 1
    input_dtype: str = "float64"
    weight_dtype: str = None
    bias_dtype: str = None

    @property
    def dtypes(self):
        return (self.input_dtype, self.weight_dtype or self.input_dtype,
                self.bias_dtype or self.input_dtype)

    @property
    def arguments(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    def arrays(self):
        input_dtype, weight_dtype, bias_dtype = self.dtypes
        bias = None if self.bias is None else np.zeros(self.bias, bias_dtype)
        return np.zeros(self.input, input_dtype), np.zeros(self.weight, weight_dtype), bias

    def __str__(self):
        dtypes = self.dtypes if self.bias is not None else self.dtypes[:2]
        spelled = "/".join(dtypes) if len(set(dtypes)) > 1 else self.input_dtype
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.arguments.items())
        return (f"conv2d(input{self.input}, weight{self.weight}, bias={self.bias}, {arguments}) "
                f"[{spelled}]")


@dataclasses.dataclass(frozen=True)
class Breach:
    """A call that breaks ``rule`` and a call one argument away that breaks none."""

    rule: Rule
    bad: Call
    good: Call

    def __str__(self):
        return f"{self.rule.value}: {self.bad}"

    @property
    def id(self):
        """The test id: the rule and what differs from the default call."""
        default = Call()
        changed = ",".join(f"{field.name}={getattr(self.bad, field.name)!r}".replace(" ", "")
                           for field in dataclasses.fields(Call)
                           if repr(getattr(self.bad, field.name)) != repr(getattr(default, field.name)))
        return f"{self.rule.value}[{changed}]"


def breach(rule, good=None, **bad):
    """``Call(**bad)`` breaks ``rule``; ``good`` (default: ``bad``'s fields back at their
    defaults) is the change that makes it valid."""
    call = Call(**bad)
    if good is None:
        good = {name: getattr(Call(), name) for name in bad}
    return Breach(rule, call, dataclasses.replace(call, **good))


BREACHES = [
    breach(Rule.ARGUMENT_TYPE, stride=1.5),
    breach(Rule.ARGUMENT_TYPE, stride=None),
    breach(Rule.ARGUMENT_TYPE, stride=(True, 1), good={"stride": (1, 1)}),
    breach(Rule.ARGUMENT_TYPE, padding=None),
    breach(Rule.ARGUMENT_TYPE, padding=(1.0, 1)),
    breach(Rule.ARGUMENT_TYPE, stride="1"),
    breach(Rule.ARGUMENT_TYPE, stride=[1.5], good={"stride": [1]}),
    # a non-int after the first element: torch's parser words this one differently
    breach(Rule.ARGUMENT_TYPE, stride=(1, 2.0), good={"stride": (1, 2)}),
    breach(Rule.ARGUMENT_TYPE, padding=[1, 2.0], good={"padding": [1, 2]}),
    breach(Rule.ARGUMENT_TYPE, dilation=(1, 2.0), good={"dilation": (1, 2)}),
    breach(Rule.ARGUMENT_TYPE, groups=True),
    breach(Rule.ARGUMENT_TYPE, groups=1.0),
    breach(Rule.ARGUMENT_TYPE, groups=None),
    breach(Rule.INPUT_RANK, input=(1, 1, 2, 5, 5)),
    breach(Rule.INPUT_RANK, input=(5, 5), good={"input": (2, 5, 5)}),
    breach(Rule.UNSUPPORTED_DTYPE, input_dtype="bool", weight_dtype="bool",
           good={"input_dtype": "float64", "weight_dtype": None}),
    breach(Rule.BIAS_DTYPE, bias=(4,), bias_dtype="float32", good={"bias_dtype": None}),
    breach(Rule.BIAS_DTYPE, input_dtype="complex128", bias=(4,), bias_dtype="float64",
           weight_dtype="complex128", good={"bias_dtype": "complex128"}),
    breach(Rule.WEIGHT_DTYPE, weight_dtype="float32", good={"weight_dtype": None}),
    breach(Rule.WEIGHT_DTYPE, input_dtype="complex128", weight_dtype="float64",
           good={"weight_dtype": "complex128"}),
    breach(Rule.PADDING_STRING, padding="SAME", good={"padding": "same"}),
    breach(Rule.PADDING_STRING, padding="full"),
    breach(Rule.PADDING_STRING, padding=""),
    breach(Rule.SAME_WITH_STRIDE, padding="same", stride=2, good={"stride": 1}),
    breach(Rule.SAME_WITH_STRIDE, padding="same", stride=(1, 2), good={"stride": [1, 1]}),
    breach(Rule.ARGUMENT_LENGTH, stride=(1, 1, 1), good={"stride": (1, 1)}),
    breach(Rule.ARGUMENT_LENGTH, stride=()),
    breach(Rule.ARGUMENT_LENGTH, padding=[1, 1, 1], good={"padding": [1, 1]}),
    breach(Rule.ARGUMENT_LENGTH, dilation=[]),
    breach(Rule.WEIGHT_RANK, weight=(4, 2, 3), good={"weight": (4, 2, 3, 3)}),
    breach(Rule.WEIGHT_RANK, weight=(4, 2, 3), padding="same", good={"weight": (4, 2, 3, 3)}),
    breach(Rule.WEIGHT_RANK, weight=(4, 2, 3, 3, 1), good={"weight": (4, 2, 3, 3)}),
    breach(Rule.NEGATIVE_PADDING, padding=-1),
    breach(Rule.NEGATIVE_PADDING, padding=(0, -1), good={"padding": (0, 1)}),
    breach(Rule.NON_POSITIVE_STRIDE, stride=0),
    breach(Rule.NON_POSITIVE_STRIDE, stride=(-1,), good={"stride": (1,)}),
    breach(Rule.NON_POSITIVE_STRIDE, stride=[2, 0], good={"stride": [2, 1]}),
    breach(Rule.NON_POSITIVE_DILATION, dilation=0),
    breach(Rule.NON_POSITIVE_DILATION, dilation=(1, -1), good={"dilation": (1, 1)}),
    breach(Rule.NON_POSITIVE_GROUPS, groups=0),
    breach(Rule.NON_POSITIVE_GROUPS, groups=-2),
    breach(Rule.GROUPS_EXCEED_OUT_CHANNELS, input=(1, 6, 5, 5), weight=(2, 2, 3, 3), groups=3,
           good={"weight": (3, 2, 3, 3)}),
    breach(Rule.GROUPS_EXCEED_OUT_CHANNELS, weight=(0, 2, 3, 3), good={"weight": (1, 2, 3, 3)}),
    breach(Rule.OUT_CHANNELS_NOT_DIVISIBLE, input=(1, 4, 5, 5), weight=(3, 2, 3, 3), groups=2,
           good={"weight": (4, 2, 3, 3)}),
    breach(Rule.CHANNEL_MISMATCH, input=(1, 3, 5, 5)),
    breach(Rule.CHANNEL_MISMATCH, input=(3, 5, 5), good={"input": (2, 5, 5)}),
    breach(Rule.CHANNEL_MISMATCH, input=(1, 4, 5, 5), weight=(4, 1, 3, 3), groups=2,
           good={"groups": 4}),
    breach(Rule.BIAS_SHAPE, bias=(3,), good={"bias": (4,)}),
    breach(Rule.BIAS_SHAPE, bias=(4, 1), good={"bias": (4,)}),
    breach(Rule.BIAS_SHAPE, bias=(), good={"bias": (4,)}),
    breach(Rule.KERNEL_TOO_LARGE, weight=(4, 2, 6, 3), good={"padding": (1, 0)}),
    breach(Rule.KERNEL_TOO_LARGE, dilation=3, good={"padding": 1}),
    # with no padding an empty input breaks the kernel rule first
    breach(Rule.KERNEL_TOO_LARGE, input=(1, 2, 0, 5), good={"input": (1, 2, 3, 5)}),
    breach(Rule.EMPTY_SPATIAL, input=(1, 2, 0, 5), weight=(4, 2, 1, 1), padding=1,
           good={"input": (0, 2, 0, 5)}),
    breach(Rule.EMPTY_SPATIAL, input=(2, 5, 0), weight=(4, 2, 1, 1), padding=(0, 1),
           good={"input": (2, 5, 1)}),
    breach(Rule.EMPTY_KERNEL, weight=(4, 2, 0, 3), good={"weight": (4, 2, 1, 3)}),
    breach(Rule.EMPTY_KERNEL, weight=(4, 2, 3, 0), padding=1, good={"weight": (4, 2, 3, 1)}),
]


def test_every_rule_has_a_call_that_breaks_it():
    covered = {breach.rule for breach in BREACHES}
    missing = sorted(rule.value for rule in set(Rule) - covered)
    assert covered == set(Rule), f"rules without a breaking call: {missing}, but should be none"


def test_every_breach_differs_from_its_valid_neighbour():
    for breach in BREACHES:  # repr, not ==: (True, 1) == (1, 1) in Python
        assert repr(breach.bad) != repr(breach.good), f"valid neighbour is the breach itself [{breach}]"


def raised_by_reference(call):
    """The ConvArgumentError the reference raises for ``call``, or None."""
    try:
        reference.conv2d(*call.arrays(), **call.arguments)
    except ConvArgumentError as error:
        return error
    return None


@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.id)
def test_the_reference_names_the_rule_a_call_breaks(breach):
    error = raised_by_reference(breach.bad)
    assert error is not None, f"reference.{breach.bad} returned, but should raise [{breach.rule.value}]"
    assert error.rule is breach.rule, (
        f"error.rule={error.rule.value}, but should be {breach.rule.value} [reference.{breach.bad}]")
    assert isinstance(error, ValueError), (
        f"{type(error).__mro__}, but should subclass ValueError [reference.{breach.bad}]")
    assert f"[{breach.rule.value}]" in str(error), (
        f"str(error)={str(error)!r}, but should name [{breach.rule.value}] [reference.{breach.bad}]")


@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.id)
def test_the_reference_accepts_the_call_next_to_each_breach(breach):
    error = raised_by_reference(breach.good)
    assert error is None, f"reference.{breach.good} raised {error}, but should return"


@pytest.mark.parametrize("breach", [b for b in BREACHES if "dtype" not in b.rule.value],
                         ids=lambda breach: breach.id)
def test_resolve_names_the_same_rule_as_conv2d_from_shapes_alone(breach):
    call = breach.bad
    with pytest.raises(ConvArgumentError) as caught:
        reference.resolve(call.input, call.weight, call.bias, **call.arguments)
    assert caught.value.rule is breach.rule, (
        f"error.rule={caught.value.rule.value}, but should be {breach.rule.value} "
        f"[reference.resolve for {call}]")


@pytest.mark.parametrize("dtypes, rule", [
    (("bool", "bool", None), Rule.UNSUPPORTED_DTYPE),
    (("float32", "float32", "float64"), Rule.BIAS_DTYPE),
    (("float32", "float64", None), Rule.WEIGHT_DTYPE),
    (("complex64", "float32", "complex64"), Rule.WEIGHT_DTYPE),
], ids=str)
def test_resolve_checks_the_dtypes_it_is_given(dtypes, rule):
    bias = None if dtypes[2] is None else (4,)
    call = f"reference.resolve((1,2,5,5), (4,2,3,3), {bias}, dtypes={dtypes})"
    with pytest.raises(ConvArgumentError) as caught:
        reference.resolve((1, 2, 5, 5), (4, 2, 3, 3), bias, dtypes=dtypes)
    assert caught.value.rule is rule, (
        f"error.rule={caught.value.rule.value}, but should be {rule.value} [{call}]")


# ---------------------------------------------------------------------------
# Geometry: output shape and 'same' padding.


def per_axis(value):
    return (value, value) if isinstance(value, int) else (value[0], value[-1])


@st.composite
def numeric_calls(draw):
    """Valid calls with numeric padding: (input shape, weight shape, arguments)."""
    groups = draw(st.integers(1, 3))
    channels, outputs = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3)),
                            st.lists(st.integers(1, 3), min_size=2, max_size=2)))
    padding = draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3))))
    dilation = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    sizes = []
    for axis in (0, 1):
        extent = per_axis(dilation)[axis] * (kernel[axis] - 1) + 1
        sizes.append(draw(st.integers(max(1, extent - 2 * per_axis(padding)[axis]), extent + 8)))
    batch = draw(st.one_of(st.none(), st.integers(0, 3)))
    input_shape = (channels, *sizes) if batch is None else (batch, channels, *sizes)
    arguments = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return input_shape, (outputs, channels // groups, *kernel), arguments


@given(call=numeric_calls())
def test_output_shape_follows_the_formula(call):
    input_shape, weight_shape, arguments = call
    (sh, sw), (ph, pw), (dh, dw) = (per_axis(arguments[name]) for name in ("stride", "padding", "dilation"))
    (kh, kw), (height, width) = weight_shape[2:], input_shape[-2:]
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    expected = (*input_shape[:-3], weight_shape[0], out_h, out_w)
    observed = reference.output_shape(input_shape, weight_shape, **arguments)
    assert observed == expected, (
        f"output_shape={observed}, but should be {expected} "
        f"[reference.output_shape({input_shape}, {weight_shape}, {arguments})]")


@given(kernel=st.tuples(st.integers(1, 6), st.integers(1, 6)),
       dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       size=st.tuples(st.integers(1, 5), st.integers(1, 5)))
def test_same_padding_splits_the_total_with_the_extra_one_after(kernel, dilation, size):
    (kh, kw), (dh, dw) = kernel, dilation
    total_h, total_w = dh * (kh - 1), dw * (kw - 1)
    expected = (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
    call = f"reference.resolve((1, 1, *{size}), (1, 1, *{kernel}), padding='same', dilation={dilation})"
    geometry = reference.resolve((1, 1, *size), (1, 1, *kernel), padding="same", dilation=dilation)
    assert geometry.padding == expected, f"padding={geometry.padding}, but should be {expected} [{call}]"
    assert geometry.output_size == size, f"output_size={geometry.output_size}, but should be {size} [{call}]"


def test_same_padding_puts_the_extra_row_at_the_bottom():
    geometry = reference.resolve((1, 1, 3, 5), (1, 1, 2, 4), padding="same")
    assert geometry.padding == (0, 1, 1, 2), (
        f"padding={geometry.padding}, but should be (top 0, bottom 1, left 1, right 2) "
        f"[reference.resolve((1,1,3,5), (1,1,2,4), padding='same')]")


def test_valid_padding_is_no_padding():
    geometry = reference.resolve((1, 1, 5, 6), (1, 1, 2, 3), padding="valid")
    assert geometry.padding == (0, 0, 0, 0), (
        f"padding={geometry.padding}, but should be (0, 0, 0, 0) "
        f"[reference.resolve((1,1,5,6), (1,1,2,3), padding='valid')]")


def test_numpy_integers_are_accepted_as_arguments():
    # torch accepts numpy.int64 stride/padding/dilation/groups too
    call = ("reference.output_shape((1,2,5,5), (4,2,3,3), stride=int64(2), padding=int64(1), "
            "dilation=int64(1))")
    observed = reference.output_shape((1, 2, 5, 5), (4, 2, 3, 3), stride=np.int64(2),
                                      padding=np.int64(1), dilation=np.int64(1))
    assert observed == (1, 4, 3, 3), f"output_shape={observed}, but should be (1, 4, 3, 3) [{call}]"


# ---------------------------------------------------------------------------
# The same calls against torch: what it raises, and that it accepts the neighbours.


def torch_call(call):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    input, weight, bias = (None if a is None else torch.from_numpy(a) for a in call.arrays())
    return F.conv2d(input, weight, bias, **call.arguments)


@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.id)
def test_torch_raises_the_error_type_and_message_the_rule_records(breach):
    rule = breach.rule
    with pytest.raises(Exception) as caught:
        torch_call(breach.bad)
    error = caught.value
    assert type(error) is rule.torch_error, (
        f"torch raised {type(error).__name__}: {error}, but {rule.value} records "
        f"{rule.torch_error.__name__} [F.{breach.bad}]")
    if rule.fragment is not None:
        assert rule.fragment.search(str(error)), (
            f"torch's message {str(error).splitlines()[0]!r} does not match {rule.value}'s "
            f"fragment {rule.fragment.pattern!r} [F.{breach.bad}]")


@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.id)
def test_torch_accepts_the_call_next_to_each_breach_with_the_reference_shape(breach):
    call = breach.good
    observed = tuple(torch_call(call).shape)
    input, weight, bias = call.arrays()
    expected = reference.output_shape(input.shape, weight.shape,
                                      None if bias is None else bias.shape, **call.arguments)
    assert observed == expected, f"torch's shape {observed}, but the reference says {expected} [F.{call}]"
