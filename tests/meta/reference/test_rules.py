"""The reference rejects exactly the calls its rules forbid, and says which rule.

Every rule of ``reference.Rule`` has calls that break it (and only it) next
to a call that differs in one argument and is valid.  The table (strategies/rule_examples.py) is checked to cover every rule, so a
new rule without an example fails here; tests/test_rule_table.py holds the
same calls against the implementation under test.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference
from reference import ConvArgumentError, Rule
from strategies.rule_examples import BREACHES


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
