"""A case's call is written as its spelling says, and every spelling is the same call.

``case.invoke`` is the only place the implementation is called from a case,
so replay, the registry's rechecks and every property repeat the spelling
the descriptor names.
"""

import pytest
from hypothesis import given

from case import Conv2dCase, parse
from case.spellings import SPELLINGS, call_parts, is_default
from strategies import conv2d_cases


class Recorder:
    """A conv2d that remembers how it was called."""

    def __call__(self, *positional, **keywords):
        self.positional, self.keywords = positional, keywords
        return None


def call_of(case):
    recorder = Recorder()
    case.invoke(recorder, ("x", "w", "b" if case.has_bias else None))
    return recorder.positional, recorder.keywords


BASE = dict(input_shape=(1, 2, 5, 5), weight_shape=(2, 2, 3, 3))


@pytest.mark.parametrize("spelling, bias, arguments, positional, keywords", [
    ("mixed", False, dict(stride=2), ("x", "w", None),
     dict(stride=2, padding=0, dilation=1, groups=1)),
    ("positional", True, dict(padding=1), ("x", "w", "b", 1, 1, 1, 1), {}),
    ("keywords", False, {}, (),
     dict(input="x", weight="w", bias=None, stride=1, padding=0, dilation=1, groups=1)),
    ("omitting_defaults", False, dict(padding=(0, 0), dilation=[2]), ("x", "w"),
     dict(dilation=[2])),
    ("omitting_defaults", True, {}, ("x", "w"), dict(bias="b")),
    ("positional_omitting_defaults", False, dict(padding=1), ("x", "w", None, 1, 1), {}),
    ("positional_omitting_defaults", False, {}, ("x", "w"), {}),
    ("positional_omitting_defaults", True, {}, ("x", "w", "b"), {}),
], ids=["mixed", "positional", "keywords with bias=None", "omitting defaults",
        "omitting defaults, keyword bias", "positional up to padding",
        "positional, nothing to pass", "positional bias only"])
def test_invoke_writes_the_call_as_the_spelling_says(spelling, bias, arguments, positional,
                                                     keywords):
    case = Conv2dCase(**BASE, bias_shape=(2,) if bias else None, spelling=spelling, **arguments)
    observed = call_of(case)
    assert observed == (positional, keywords), (
        f"conv2d called with {observed}, but should be {(positional, keywords)} [{case}]")


@pytest.mark.parametrize("name, value", [
    ("stride", True), ("stride", (1, 1, 1)), ("stride", 1.0), ("padding", "valid"),
    ("padding", [0, False]), ("groups", True), ("dilation", ()), ("stride", (1, 2))])
def test_a_value_that_only_looks_like_the_default_is_passed(name, value):
    assert not is_default(name, value), f"is_default({name!r}, {value!r}) is True, but should be False"


@given(case=conv2d_cases())
def test_every_spelling_passes_the_same_arguments(case):
    """Binding each spelling's call to F.conv2d's signature gives the same values."""
    import inspect

    def signature(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        pass
    bound = {}
    for spelling in SPELLINGS:
        positional, keywords = call_parts(spelling, "x", "w", "b" if case.has_bias else None,
                                          case.arguments)
        arguments = inspect.signature(signature).bind(*positional, **keywords)
        arguments.apply_defaults()
        bound[spelling] = {name: (value, type(value)) for name, value in arguments.arguments.items()}
    for spelling, arguments in bound.items():
        for name, (value, kind) in arguments.items():
            want, want_kind = bound["mixed"][name]
            same = value == want or is_default(name, value) and is_default(name, want)
            assert same, (f"{spelling} passes {name}={value!r}, but 'mixed' passes {want!r} "
                          f"[{case}]")


def test_replay_repeats_the_spelling_from_the_descriptor():
    text = "in1x1x3x3:w1x1x1x1:s1:p0:d1:g1:float32:contiguous:exact:seed0:call(omitting_defaults)"
    assert call_of(parse(text)) == (("x", "w"), {}), (
        f"conv2d called with {call_of(parse(text))}, but should be conv2d(x, w) [parse({text!r})]")
