"""Hand-written calls that break each rule, each next to a valid neighbour.

A table, not a strategy: every rule of ``reference.Rule`` has at least one
call that breaks it (and only it) and a call that differs in one argument and
is valid.  tests/meta/reference/test_rules.py holds the reference to it,
tests/test_rule_table.py the implementation under test.
"""

import dataclasses

import numpy as np

from case import Conv2dCase
from reference import Rule


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

    def case(self):
        """The call as a case (float-tier data), to run and judge."""
        return Conv2dCase(self.input, self.weight, self.bias, self.stride, self.padding,
                          self.dilation, self.groups, dtype=self.input_dtype,
                          weight_dtype=self.weight_dtype, bias_dtype=self.bias_dtype,
                          tier="float")

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
