"""A conv2d case prints as one line that reads back as the very same case.

The descriptor is how a failure is replayed days later on another machine, so
``parse(str(case))`` must give back every field in the same Python
form (``1``, ``(1,)``, ``[1, 1]``, ``'SAME'``, ``True``), and a descriptor
that cannot be read must say which field is wrong.
"""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from case import DTYPES, LAYOUTS, TIERS, Conv2dCase, DescriptorError, parse
from case.features import DENSITIES, SIGNS, TensorFeatures
from case.spellings import SPELLINGS
from strategies import conv2d_cases
from strategies.data import MAGNITUDES
from strategies.invalid import invalid_cases

FIELDS = [field.name for field in dataclasses.fields(Conv2dCase)]


def assert_same_case(observed, expected, text):
    """Field by field, by repr and type: == alone would take True for 1 and 1.0 for 1."""
    __tracebackhide__ = True
    for name in FIELDS:
        got, want = getattr(observed, name), getattr(expected, name)
        assert type(got) is type(want) and repr(got) == repr(want), (
            f"parse({text!r}).{name}={got!r} ({type(got).__name__}), but should be "
            f"{want!r} ({type(want).__name__}) [parse(str(case))]")
    assert observed == expected, f"parse({text!r})={observed!r}, but should be {expected!r}"
    assert str(observed) == text, f"str(parse({text!r}))={str(observed)!r}, but should be {text!r}"


# ---------------------------------------------------------------------------
# Any case the model can hold, valid for conv2d or not.

sizes = st.integers(0, 12)
shapes = st.lists(sizes, min_size=0, max_size=5).map(tuple)
small_ints = st.integers(-3, 5)
sequences = st.lists(small_ints, min_size=0, max_size=3)
argument_values = st.one_of(
    small_ints,
    sequences.map(tuple),
    sequences,
    st.sampled_from([1.5, 2.0, -1.0, None, True, False, (1.0, 1), [1, 2.0], (True, 1)]),
)
# padding strings: the two valid ones and the invalid ones a test may try
# (identifiers; 'True', 'False' and 'None' would read back as Python constants)
padding_strings = st.one_of(
    st.sampled_from(["same", "valid", "SAME", "Same", "VALID", "full", "zeros"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
        lambda text: text not in ("True", "False", "None")),
)


special_texts = st.one_of(
    st.integers(-40, 40).map(str),
    st.tuples(st.integers(-999, 999), st.integers(-30, 30)).map(lambda p: f"{p[0]}p{p[1]}"),
    st.sampled_from(["-0", "tiny", "-tiny"]))
any_features = st.builds(
    TensorFeatures, st.integers(-1100, 1100), st.sampled_from(DENSITIES), st.sampled_from(SIGNS),
    st.lists(st.tuples(st.integers(0, 10 ** 6), special_texts), max_size=4).map(tuple))


@st.composite
def any_cases(draw):
    """Any case the model holds; float tier where features are drawn (the exact tier
    refuses features that would break exactness)."""
    has_bias = draw(st.booleans())
    features = draw(st.booleans())
    return Conv2dCase(
        input_shape=draw(shapes),
        weight_shape=draw(shapes),
        bias_shape=draw(shapes) if has_bias else None,
        stride=draw(argument_values),
        padding=draw(st.one_of(argument_values, padding_strings)),
        dilation=draw(argument_values),
        groups=draw(st.one_of(small_ints, st.sampled_from([True, 1.0, None]))),
        dtype=draw(st.sampled_from(DTYPES)),
        layout=draw(st.sampled_from(LAYOUTS)),
        tier="float" if features else draw(st.sampled_from(TIERS)),
        seed=draw(st.integers(0, 2 ** 64 - 1)),
        weight_dtype=draw(st.one_of(st.none(), st.sampled_from(DTYPES))),
        # a bias dtype only means something when there is a bias
        bias_dtype=draw(st.one_of(st.none(), st.sampled_from(DTYPES))) if has_bias else None,
        spelling=draw(st.sampled_from(SPELLINGS)),
        **({f"{tensor}_data": draw(any_features) for tensor in ("input", "weight", "bias")}
           if features else {}),
    )


@given(case=any_cases())
def test_any_case_reads_back_from_its_descriptor(case):
    text = str(case)
    assert_same_case(parse(text), case, text)


@given(case=conv2d_cases())
def test_every_valid_case_the_suite_draws_reads_back_from_its_descriptor(case):
    text = str(case)
    assert_same_case(parse(text), case, text)


@given(case=conv2d_cases(magnitudes=MAGNITUDES))
def test_every_case_with_drawn_data_features_reads_back_from_its_descriptor(case):
    text = str(case)
    assert_same_case(parse(text), case, text)


@given(case=invalid_cases())
def test_every_invalid_case_the_suite_draws_reads_back_from_its_descriptor(case):
    text = str(case)
    assert_same_case(parse(text), case, text)


@given(case=any_cases())
def test_a_descriptor_is_one_word_that_single_quotes_protect_in_a_shell(case):
    # '(' and '[' need quoting in a shell, so a replay command must quote the
    # descriptor; nothing in it may break out of single quotes or split the word.
    text = str(case)
    unsafe = sorted(set(text) & set(" \t\n\r'\"\\"))
    assert not unsafe, f"descriptor {text!r} holds {unsafe}, but should hold none [str(case)]"


@pytest.mark.parametrize("text, case", [
    ("in2x3x7x7:w4x3x3x3:b4:s1:p(1,0):d[1,2]:g1:float32:contiguous:exact:seed42",
     Conv2dCase((2, 3, 7, 7), (4, 3, 3, 3), (4,), 1, (1, 0), [1, 2], 1, "float32",
                "contiguous", "exact", 42)),
    ("in3x5x5:w2x3x2x2:s(1,):pSAME:d1:g1:float64:channels_last_weight:float:seed0",
     Conv2dCase((3, 5, 5), (2, 3, 2, 2), None, (1,), "SAME", 1, 1, "float64",
                "channels_last_weight", "float", 0)),
    ("in1x2x4x4:w2x2x1x1:b2:s1:p0:d1:g1:float32/float64/float32:contiguous:exact:seed7",
     Conv2dCase((1, 2, 4, 4), (2, 2, 1, 1), (2,), weight_dtype="float64", seed=7)),
    ("in1x2x4x4:w2x2x1x1:b2:s1:p0:d1:g1:float32:contiguous:float:seed7:"
     "input(e-140,sparse,positive,0=3,5=-0,7=3p-5,9=tiny):weight(none,0=1):bias(e3,opposed)"
     ":call(positional_omitting_defaults)",
     Conv2dCase((1, 2, 4, 4), (2, 2, 1, 1), (2,), tier="float", seed=7,
                spelling="positional_omitting_defaults",
                input_data=TensorFeatures(-140, "sparse", "positive",
                                          ((0, "3"), (5, "-0"), (7, "3p-5"), (9, "tiny"))),
                weight_data=TensorFeatures(density="none", specials=((0, "1"),)),
                bias_data=TensorFeatures(3, signs="opposed"))),
], ids=["docstring example", "unbatched SAME", "weight dtype differs", "features and spelling"])
def test_a_written_descriptor_names_the_case_it_should(text, case):
    assert_same_case(parse(text), case, text)


def test_a_dtype_that_matches_the_input_is_spelled_once():
    case = Conv2dCase((1, 1, 3, 3), (1, 1, 1, 1), (1,), weight_dtype="float32", bias_dtype="float32")
    assert case.weight_dtype is None and case.bias_dtype is None, (
        f"weight_dtype={case.weight_dtype!r}, bias_dtype={case.bias_dtype!r}, but should both be "
        f"None [Conv2dCase(dtype='float32', weight_dtype='float32', bias_dtype='float32')]")
    assert ":float32:" in str(case), f"str(case)={str(case)!r}, but should spell the dtype once"


def test_fields_may_come_in_any_order_and_default_when_left_out():
    text = "seed3:w2x1x3x3:channels_last:in1x1x5x5:float"
    expected = Conv2dCase((1, 1, 5, 5), (2, 1, 3, 3), layout="channels_last", tier="float", seed=3)
    observed = parse(text)
    assert observed == expected, f"parse({text!r})={observed!r}, but should be {expected!r}"


# ---------------------------------------------------------------------------
# Descriptors that cannot be read say which field is wrong.

GOOD = "in1x1x3x3:w1x1x1x1"


def assert_refused(text, field):
    """``parse(text)`` raises a DescriptorError whose message contains ``field``."""
    __tracebackhide__ = True
    try:
        case = parse(text)
    except DescriptorError as error:
        assert field in str(error), (
            f"DescriptorError({str(error)!r}), but should name {field} [parse({text!r})]")
    else:
        raise AssertionError(f"returned {case!r}, but should raise DescriptorError naming {field} "
                             f"[parse({text!r})]")


@pytest.mark.parametrize("text, field", [
    ("in1xAx3x3:w1x1x1x1", "'in'"),
    ("in1x1x3x3x:w1x1x1x1", "'in'"),
    ("in1x1x3x3:w1x1x-1x1", "'w'"),
    (f"{GOOD}:b1x", "'b'"),
    (f"{GOOD}:s(1,", "'s'"),
    (f"{GOOD}:sfoo", "'s'"),
    (f"{GOOD}:p1+", "'p'"),
    (f"{GOOD}:d[1,2", "'d'"),
    (f"{GOOD}:g)", "'g'"),
    (f"{GOOD}:seedx", "'seed'"),
    (f"{GOOD}:seed-1", "'seed'"),
    (f"{GOOD}:float32/float65", "'dtype'"),
    (f"{GOOD}:float32/float64/float64/float64", "'dtype'"),
    (f"{GOOD}:int8", "'int8'"),
    (f"{GOOD}:nhwc", "'nhwc'"),
    (f"{GOOD}:s1:s2", "'s2'"),
    (f"{GOOD}:in1x1x3x3", "'in1x1x3x3'"),
    (f"{GOOD}::s1", "''"),
    ("w1x1x1x1:s1", "'input_shape'"),
    ("in1x1x3x3:s1", "'weight_shape'"),
    ("", "empty"),
    ("   ", "empty"),
    (f"{GOOD}:input(e1.5)", "'input(e1.5)'"),
    (f"{GOOD}:input(half)", "'input(half)'"),
    (f"{GOOD}:weight(0=x)", "'weight(0=x)'"),
    (f"{GOOD}:weight(sparse,none)", "'weight(sparse,none)'"),
    (f"{GOOD}:input(e1):input(e2)", "input_data"),
    (f"{GOOD}:call(shouting)", "spelling"),
], ids=repr)
def test_a_malformed_descriptor_raises_an_error_naming_the_bad_field(text, field):
    assert_refused(text, field)


def test_a_descriptor_error_is_a_value_error():
    assert issubclass(DescriptorError, ValueError), (
        f"DescriptorError's bases are {DescriptorError.__mro__}, but should include ValueError")


def test_a_descriptor_must_be_a_string():
    with pytest.raises(DescriptorError):
        parse(None)


@pytest.mark.parametrize("text, field", [
    (f"{GOOD}:float32:float64", "dtype"),
    (f"{GOOD}:contiguous:channels_last", "layout"),
    (f"{GOOD}:exact:float", "tier"),
], ids=["dtype", "layout", "tier"])
def test_a_repeated_dtype_layout_or_tier_is_refused_not_silently_overridden(text, field):
    # Repeating s, p, d, ... is refused; repeating these three lets the last one win.
    assert_refused(text, field)


def test_a_bias_dtype_without_a_bias_is_dropped_so_the_case_reads_back():
    # The descriptor cannot carry a bias dtype when there is no bias, so the
    # model must drop it as it drops a bias dtype equal to the input's.
    case = Conv2dCase((1, 1, 3, 3), (1, 1, 1, 1), bias_dtype="float64")
    text = str(case)
    assert_same_case(parse(text), case, text)


def test_bias_features_without_a_bias_are_dropped_so_the_case_reads_back():
    case = Conv2dCase((1, 1, 3, 3), (1, 1, 1, 1), tier="float", bias_data=TensorFeatures(3))
    assert case.bias_data == TensorFeatures(), f"bias_data={case.bias_data!r}, but should be default"
    text = str(case)
    assert_same_case(parse(text), case, text)


def test_a_padding_mode_call_keeps_the_default_spelling():
    # nn.Conv2d makes its own F.conv2d call: the case's spelling cannot reach it.
    case = Conv2dCase((1, 1, 5, 5), (1, 1, 3, 3), padding=1, padding_mode="reflect",
                      spelling="positional")
    assert case.spelling == "mixed", f"spelling={case.spelling!r}, but should be 'mixed' [{case}]"


def test_default_features_and_spelling_print_nothing():
    text = str(Conv2dCase((1, 1, 3, 3), (1, 1, 1, 1)))
    assert "(" not in text.split(":", 4)[-1] and "call" not in text, (
        f"str(case)={text!r}, but should carry no feature or spelling tokens")


def test_an_empty_padding_string_reads_back():
    # torch rejects padding='' as an invalid padding string; the descriptor
    # prints it as 'p', which must read back as ''.
    case = Conv2dCase((1, 1, 3, 3), (1, 1, 1, 1), padding="")
    text = str(case)
    assert_same_case(parse(text), case, text)
