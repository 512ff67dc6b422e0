"""The reference computes conv2d as its definition states it.

Three independent witnesses of ``reference.conv2d``:
- the definition itself, evaluated here by plain loops with the test's own
  padding logic (nothing is imported from ``reference`` but the function under
  test),
- ``scipy.signal.correlate2d`` for single-channel problems,
- a handful of examples whose answers were worked out by hand;
and the adjoint (dot-product) identities that tie ``grad_input``,
``grad_weight`` and ``grad_bias`` to the forward map.

Data are small integers (and Gaussian integers for complex problems), so every
sum is exact in float64 whatever the order: the checks are equalities, with no
tolerance to argue about.
"""

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import correlate2d

import reference

# ---------------------------------------------------------------------------
# Drawing valid problems, with the test's own resolution of every argument.

FORMS = ("int", "1-tuple", "2-tuple", "1-list", "2-list")


def spell(form, pair):
    """``pair`` written in one of the argument forms F.conv2d accepts."""
    first, second = pair
    return {"int": first, "1-tuple": (first,), "2-tuple": (first, second),
            "1-list": [first], "2-list": [first, second]}[form]


@st.composite
def spelled_pair(draw, values):
    """(the argument as passed, the per-axis pair it means)."""
    form = draw(st.sampled_from(FORMS))
    if form in ("int", "1-tuple", "1-list"):
        value = draw(values)
        pair = (value, value)
    else:
        pair = (draw(values), draw(values))
    return spell(form, pair), pair


@dataclasses.dataclass(frozen=True)
class Problem:
    """A valid conv2d call: its shapes and arguments as passed, and what they mean.

    ``stride_pair``, ``dilation_pair`` and ``pads`` (top, bottom, left, right)
    are this test's own reading of the arguments, never the reference's.
    """

    input_shape: tuple
    weight_shape: tuple
    has_bias: bool
    complex_data: bool
    stride: object
    padding: object
    dilation: object
    groups: int
    stride_pair: tuple
    dilation_pair: tuple
    pads: tuple

    @property
    def arguments(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    def __repr__(self):
        bias = f"bias({self.weight_shape[0]})" if self.has_bias else "None"
        kind = "complex" if self.complex_data else "real"
        return (f"conv2d(input{self.input_shape}, weight{self.weight_shape}, {bias}, "
                f"stride={self.stride!r}, padding={self.padding!r}, "
                f"dilation={self.dilation!r}, groups={self.groups}) on {kind} data")

    def _repr_pretty_(self, printer, cycle):
        """Hypothesis prints falsifying examples with this: the call, not the fields."""
        printer.text(repr(self))


def same_pads(kernel, dilation):
    """'same' as torch pads it: total dil*(k-1); top/left get total//2, the rest goes after."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


@st.composite
def problems(draw, *, max_groups=3, max_group_channels=2, max_batch=2, single_channel=False,
             paddings=("numeric", "same", "valid"), allow_complex=True):
    """Valid conv2d calls in every argument form, tiny enough for Python loops.

    ``paddings``: the kinds of padding to draw from ('numeric', 'same', 'valid').
    """
    groups = 1 if single_channel else draw(st.integers(1, max_groups))
    group_channels = 1 if single_channel else draw(st.integers(1, max_group_channels))
    # out_channels per group: 2 with one channel per group is depthwise with multiplier 2
    group_outputs = 1 if single_channel else draw(st.integers(1, 2))
    batch = draw(st.integers(0, max_batch))
    batched = not draw(st.booleans())  # shrinks towards a 4-D input
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation, dilation_pair = draw(spelled_pair(st.integers(1, 2)))

    padding_kind = draw(st.sampled_from(paddings))
    if padding_kind == "same":
        padding = "same"
        stride, stride_pair = draw(spelled_pair(st.just(1)))
        pads = same_pads(kernel, dilation_pair)
    else:
        stride, stride_pair = draw(spelled_pair(st.integers(1, 3)))
        if padding_kind == "valid":
            padding, pads = "valid", (0, 0, 0, 0)
        else:
            padding, (pad_h, pad_w) = draw(spelled_pair(st.integers(0, 2)))
            pads = (pad_h, pad_h, pad_w, pad_w)

    sizes = []
    for axis in (0, 1):
        extent = dilation_pair[axis] * (kernel[axis] - 1) + 1
        smallest = max(1, extent - pads[2 * axis] - pads[2 * axis + 1])
        sizes.append(draw(st.integers(smallest, smallest + 3)))

    channels = (groups * group_channels, *sizes)
    input_shape = (batch, *channels) if batched else channels
    weight_shape = (groups * group_outputs, group_channels, *kernel)
    has_bias = draw(st.booleans())
    complex_data = allow_complex and draw(st.booleans())
    return Problem(input_shape, weight_shape, has_bias, complex_data, stride, padding, dilation,
                   groups, stride_pair, dilation_pair, pads)


def small_integers(rng, shape, complex_data):
    values = rng.integers(-3, 4, shape).astype(np.float64)
    if complex_data:
        values = values + 1j * rng.integers(-3, 4, shape)
    return values


def problem_arrays(problem, seed):
    """(input, weight, bias) of small integers for ``problem``."""
    rng = np.random.default_rng(seed)
    input = small_integers(rng, problem.input_shape, problem.complex_data)
    weight = small_integers(rng, problem.weight_shape, problem.complex_data)
    bias = (small_integers(rng, problem.weight_shape[:1], problem.complex_data)
            if problem.has_bias else None)
    return input, weight, bias


seeds = st.integers(0, 2 ** 32 - 1)

# ---------------------------------------------------------------------------
# The definition, evaluated element by element.


def conv2d_by_definition(input, weight, bias, stride, pads, dilation, groups):
    """out[n, o, i, j] = b[o] + sum_{c,p,q} xpad[n, g*Cg + c, i*sh + p*dh, j*sw + q*dw] * w[o, c, p, q]

    with g = o // (O / groups) the group of output channel o, Cg = C / groups,
    and xpad the input with ``pads`` = (top, bottom, left, right) zero rows and
    columns around it.  A 3-D input is a batch of one, returned without it.
    """
    unbatched = input.ndim == 3
    if unbatched:
        input = input[None]
    n_batch, _, height, width = input.shape
    out_channels, group_channels, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    top, bottom, left, right = pads
    outputs_per_group = out_channels // groups
    x, w = input.tolist(), weight.tolist()

    def xpad(n, c, row, col):
        """The zero-padded input, read without building it."""
        row, col = row - top, col - left
        return x[n][c][row][col] if 0 <= row < height and 0 <= col < width else 0

    # window origins i*sh such that the last tap i*sh + (kh-1)*dh is inside the padded input
    out_h = len(range(0, height + top + bottom - dh * (kh - 1), sh))
    out_w = len(range(0, width + left + right - dw * (kw - 1), sw))
    out = np.zeros((n_batch, out_channels, out_h, out_w),
                   complex if np.iscomplexobj(input) else float)
    for n, o, i, j in itertools.product(range(n_batch), range(out_channels), range(out_h),
                                        range(out_w)):
        g = o // outputs_per_group
        total = 0 if bias is None else bias[o]
        for c, p, q in itertools.product(range(group_channels), range(kh), range(kw)):
            total += xpad(n, g * group_channels + c, i * sh + p * dh, j * sw + q * dw) * w[o][c][p][q]
        out[n, o, i, j] = total
    return out[0] if unbatched else out


# ---------------------------------------------------------------------------
# Assertions in the shape "observed, but should be expected [call]".


def assert_equal_arrays(observed, expected, call, what="out"):
    __tracebackhide__ = True
    assert observed.shape == expected.shape, (
        f"{what}.shape={observed.shape}, but should be {expected.shape} [{call}]")
    differ = observed != expected
    if differ.any():
        index = tuple(int(i) for i in np.argwhere(differ)[0])
        raise AssertionError(
            f"{what}[{index}]={observed[index]}, but should be {expected[index]} "
            f"({int(differ.sum())} of {differ.size} elements differ) [{call}]")


def assert_equal_numbers(observed, expected, call, what):
    __tracebackhide__ = True
    assert observed == expected, f"{what}={observed}, but should be {expected} [{call}]"


# ---------------------------------------------------------------------------
# 1. The reference equals the definition.


@given(problem=problems(), seed=seeds)
def test_conv2d_equals_its_definition_evaluated_element_by_element(problem, seed):
    input, weight, bias = problem_arrays(problem, seed)
    observed = reference.conv2d(input, weight, bias, **problem.arguments)
    expected = conv2d_by_definition(input, weight, bias, problem.stride_pair, problem.pads,
                                    problem.dilation_pair, problem.groups)
    assert_equal_arrays(observed, expected, f"reference.{problem!r}")


@given(problem=problems(paddings=("same",)), seed=seeds)
def test_same_padding_equals_the_definition_with_the_extra_row_and_column_after(problem, seed):
    # its own property: 'same' with an odd total pad (even kernel, odd dilation) is
    # the corner where a symmetric or top-heavy split goes wrong
    input, weight, bias = problem_arrays(problem, seed)
    observed = reference.conv2d(input, weight, bias, **problem.arguments)
    expected = conv2d_by_definition(input, weight, bias, problem.stride_pair, problem.pads,
                                    problem.dilation_pair, problem.groups)
    assert_equal_arrays(observed, expected, f"reference.{problem!r}")


@given(problem=problems(), seed=seeds)
def test_conv2d_returns_float64_or_complex128(problem, seed):
    input, weight, bias = problem_arrays(problem, seed)
    observed = reference.conv2d(input, weight, bias, **problem.arguments).dtype
    expected = np.complex128 if problem.complex_data else np.float64
    assert_equal_numbers(observed, expected, f"reference.{problem!r}", "out.dtype")


def test_zero_input_channels_give_the_bias_alone_as_the_definition_says():
    # The empty sum is zero, so each output is its bias.  torch 2.13 returns 0
    # channels instead (a documented, version-keyed quirk of torch, not of the spec).
    input, weight, bias = np.ones((2, 0, 4, 5)), np.ones((3, 0, 2, 2)), np.array([1.0, 2.0, 3.0])
    observed = reference.conv2d(input, weight, bias)
    expected = np.broadcast_to(bias[None, :, None, None], (2, 3, 3, 4))
    assert_equal_arrays(observed, expected, "reference.conv2d(input(2,0,4,5), weight(3,0,2,2), bias(3))")


# ---------------------------------------------------------------------------
# 2. The reference equals scipy.signal.correlate2d on single channels.


def correlate_with_scipy(image, kernel, bias, stride, pads, dilation):
    """One channel: pad, dilate the kernel with zeros, correlate, keep every stride-th."""
    top, bottom, left, right = pads
    padded = np.pad(image, ((top, bottom), (left, right)))
    (dh, dw), (kh, kw) = dilation, kernel.shape
    dilated = np.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1), kernel.dtype)
    dilated[::dh, ::dw] = kernel
    # scipy conjugates its second argument; conv2d does not, so undo it.
    full = correlate2d(padded, np.conj(dilated), mode="valid")
    return full[::stride[0], ::stride[1]] + (0 if bias is None else bias)


@given(problem=problems(single_channel=True, paddings=("numeric",)), seed=seeds)
def test_conv2d_equals_scipy_correlate2d_on_one_channel(problem, seed):
    input, weight, bias = problem_arrays(problem, seed)
    observed = reference.conv2d(input, weight, bias, **problem.arguments)
    images = input.reshape(-1, *input.shape[-2:])
    expected = np.array([
        correlate_with_scipy(image, weight[0, 0], None if bias is None else bias[0],
                             problem.stride_pair, problem.pads, problem.dilation_pair)
        for image in images], observed.dtype).reshape(observed.shape)
    assert_equal_arrays(observed, expected, f"reference.{problem!r} vs scipy.signal.correlate2d")


# ---------------------------------------------------------------------------
# 3. Examples worked out by hand.


def test_same_padding_with_an_even_kernel_puts_the_extra_row_and_column_after():
    # 2x4 kernel of ones on a 3x5 input: total pad 1 row (0 above, 1 below) and
    # 3 columns (1 left, 2 right); each output is the sum of its 2x4 window.
    input = np.arange(1.0, 16.0).reshape(1, 1, 3, 5)
    weight = np.ones((1, 1, 2, 4))
    expected = np.array([[27.0, 40.0, 48.0, 39.0, 28.0],
                         [57.0, 80.0, 88.0, 69.0, 48.0],
                         [36.0, 50.0, 54.0, 42.0, 29.0]]).reshape(1, 1, 3, 5)
    observed = reference.conv2d(input, weight, padding="same")
    assert_equal_arrays(observed, expected,
                        "reference.conv2d(arange(1,16).reshape(1,1,3,5), ones(1,1,2,4), padding='same')")


def test_conv2d_is_a_correlation_without_a_kernel_flip():
    input = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).reshape(1, 1, 2, 3)
    weight = np.array([1.0, 10.0]).reshape(1, 1, 1, 2)
    expected = np.array([[21.0, 32.0], [54.0, 65.0]]).reshape(1, 1, 2, 2)  # flipped: 12, 23, ...
    observed = reference.conv2d(input, weight)
    assert_equal_arrays(observed, expected, "reference.conv2d([[1,2,3],[4,5,6]], [[1,10]])")


def test_complex_weights_are_not_conjugated():
    observed = reference.conv2d(np.full((1, 1, 1, 1), 1j), np.full((1, 1, 1, 1), 1j))
    expected = np.full((1, 1, 1, 1), -1 + 0j)  # conjugated: +1
    assert_equal_arrays(observed, expected, "reference.conv2d([[1j]], [[1j]])")


def test_dilation_two_spreads_the_kernel_taps_two_apart():
    # x[r, c] = 5r + c; a 2x2 kernel [[1,2],[3,4]] with dilation 2 reads
    # x[i,j] + 2x[i,j+2] + 3x[i+2,j] + 4x[i+2,j+2] = 50i + 10j + 82.
    input = np.arange(25.0).reshape(1, 1, 5, 5)
    weight = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    expected = np.array([[82.0, 92.0, 102.0],
                         [132.0, 142.0, 152.0],
                         [182.0, 192.0, 202.0]]).reshape(1, 1, 3, 3)
    observed = reference.conv2d(input, weight, dilation=2)
    assert_equal_arrays(observed, expected,
                        "reference.conv2d(arange(25).reshape(1,1,5,5), [[1,2],[3,4]], dilation=2)")


def test_a_stride_that_leaves_a_remainder_drops_the_last_rows_and_columns():
    # x[r, c] = 10r + c on 5x7; 2x2 ones with stride (2, 3): windows start at
    # rows 0, 2 and columns 0, 3; row 4 and columns 5, 6 are never read.
    input = (10.0 * np.arange(5)[:, None] + np.arange(7)).reshape(1, 1, 5, 7)
    weight = np.ones((1, 1, 2, 2))
    expected = np.array([[22.0, 34.0], [102.0, 114.0]]).reshape(1, 1, 2, 2)
    observed = reference.conv2d(input, weight, stride=(2, 3))
    assert_equal_arrays(observed, expected,
                        "reference.conv2d(10r+c on 5x7, ones(1,1,2,2), stride=(2,3))")


def test_groups_two_convolves_each_half_of_the_channels_with_its_own_filters():
    # channels [1,2], [3,4] | [5,6], [7,8]; group 0: [1,1]·c0 + [1,-1]·c1 = 3 - 1 = 2;
    # group 1: [2,0]·c2 + [0,1]·c3 = 10 + 8 = 18; bias [100, 200].
    input = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]).reshape(1, 4, 1, 2)
    weight = np.array([[[1.0, 1.0], [1.0, -1.0]],
                       [[2.0, 0.0], [0.0, 1.0]]]).reshape(2, 2, 1, 2)
    bias = np.array([100.0, 200.0])
    expected = np.array([102.0, 218.0]).reshape(1, 2, 1, 1)
    observed = reference.conv2d(input, weight, bias, groups=2)
    assert_equal_arrays(observed, expected,
                        "reference.conv2d(input(1,4,1,2), weight(2,2,1,2), bias, groups=2)")


def test_same_padding_with_dilation_pads_dilation_times_kernel_minus_one():
    # kernel 2 with dilation 3 along the width: total pad 3, 1 left and 2 right;
    # out[j] = xpad[j] + 10 xpad[j+3] with xpad = [0, 1, 2, 3, 4, 0, 0].
    input = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 1, 4)
    weight = np.array([1.0, 10.0]).reshape(1, 1, 1, 2)
    expected = np.array([30.0, 41.0, 2.0, 3.0]).reshape(1, 1, 1, 4)
    observed = reference.conv2d(input, weight, padding="same", dilation=3)
    assert_equal_arrays(observed, expected,
                        "reference.conv2d([1,2,3,4], [[1,10]], padding='same', dilation=3)")


def test_an_unbatched_input_gives_an_unbatched_output():
    input = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2)
    weight = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    expected = np.array([[[30.0]]])
    observed = reference.conv2d(input, weight)
    assert_equal_arrays(observed, expected, "reference.conv2d(input(1,2,2), weight(1,1,2,2))")


def test_a_zero_batch_gives_an_empty_batch_of_the_right_shape():
    observed = reference.conv2d(np.zeros((0, 2, 5, 6)), np.ones((4, 2, 3, 3)), np.ones(4),
                                stride=2, padding=1)
    expected = np.zeros((0, 4, 3, 3))
    assert_equal_arrays(observed, expected,
                        "reference.conv2d(input(0,2,5,6), weight(4,2,3,3), bias, stride=2, padding=1)")


# ---------------------------------------------------------------------------
# 4. The adjoints: <conv(x, w), g> == <x, grad_input(g)> == <w, grad_weight(g)>.


def inner(a, b):
    """The bilinear product sum(a * b): no conjugation."""
    return np.sum(np.asarray(a) * np.asarray(b))


def output_like(problem, input, weight, rng):
    shape = reference.conv2d(input, weight, **problem.arguments).shape
    return small_integers(rng, shape, problem.complex_data)


@given(problem=problems(), seed=seeds)
def test_grad_input_is_the_adjoint_of_conv2d_in_the_input(problem, seed):
    input, weight, _ = problem_arrays(problem, seed)
    grad_output = output_like(problem, input, weight, np.random.default_rng(seed + 1))
    forward = inner(reference.conv2d(input, weight, **problem.arguments), grad_output)
    grad = reference.grad_input(grad_output, input.shape, weight, **problem.arguments)
    assert_equal_numbers(grad.shape, input.shape, f"reference.grad_input for {problem!r}",
                         "grad_input.shape")
    assert_equal_numbers(inner(input, grad), forward, f"reference.grad_input for {problem!r}",
                         "<x, grad_input(g)> (should be <conv(x, w), g>)")


@given(problem=problems(), seed=seeds)
def test_grad_weight_is_the_adjoint_of_conv2d_in_the_weight(problem, seed):
    input, weight, _ = problem_arrays(problem, seed)
    grad_output = output_like(problem, input, weight, np.random.default_rng(seed + 1))
    forward = inner(reference.conv2d(input, weight, **problem.arguments), grad_output)
    grad = reference.grad_weight(grad_output, input, weight.shape, **problem.arguments)
    assert_equal_numbers(grad.shape, weight.shape, f"reference.grad_weight for {problem!r}",
                         "grad_weight.shape")
    assert_equal_numbers(inner(weight, grad), forward, f"reference.grad_weight for {problem!r}",
                         "<w, grad_weight(g)> (should be <conv(x, w), g>)")


@given(problem=problems(), seed=seeds)
def test_grad_bias_is_the_adjoint_of_adding_the_bias(problem, seed):
    input, weight, _ = problem_arrays(problem, seed)
    rng = np.random.default_rng(seed + 1)
    bias = small_integers(rng, weight.shape[:1], problem.complex_data)
    grad_output = output_like(problem, input, weight, rng)
    added = (reference.conv2d(input, weight, bias, **problem.arguments)
             - reference.conv2d(input, weight, **problem.arguments))
    grad = reference.grad_bias(grad_output)
    assert_equal_numbers(grad.shape, bias.shape, f"reference.grad_bias for {problem!r}",
                         "grad_bias.shape")
    assert_equal_numbers(inner(bias, grad), inner(added, grad_output),
                         f"reference.grad_bias for {problem!r}",
                         "<b, grad_bias(g)> (should be <conv(x, w, b) - conv(x, w), g>)")


def window_coverage(problem):
    """How many (output position, kernel tap) pairs read each input position (H, W)."""
    height, width = problem.input_shape[-2:]
    (_, _, kh, kw), (sh, sw), (dh, dw) = problem.weight_shape, problem.stride_pair, problem.dilation_pair
    top, bottom, left, right = problem.pads
    count = np.zeros((height, width), int)
    for i in range(0, height + top + bottom - dh * (kh - 1), sh):
        for j in range(0, width + left + right - dw * (kw - 1), sw):
            for p, q in itertools.product(range(kh), range(kw)):
                row, col = i + p * dh - top, j + q * dw - left
                if 0 <= row < height and 0 <= col < width:
                    count[row, col] += 1
    return count


@given(problem=problems(), seed=seeds)
def test_grad_input_is_exactly_zero_where_no_window_reads_the_input(problem, seed):
    input, weight, _ = problem_arrays(problem, seed)
    grad_output = output_like(problem, input, weight, np.random.default_rng(seed + 1))
    grad = reference.grad_input(grad_output, input.shape, weight, **problem.arguments)
    unread = window_coverage(problem) == 0
    observed = grad[..., unread]
    assert_equal_arrays(observed, np.zeros_like(observed),
                        f"reference.grad_input for {problem!r}", "grad_input[..., unread]")


@given(problem=problems(allow_complex=False))
def test_grad_input_of_ones_counts_the_windows_that_read_each_input(problem):
    # with weight and grad_output all ones, grad_input[n, c, r, s] is the number
    # of (output channel in c's group, window, tap) triples that read x[n, c, r, s]
    weight = np.ones(problem.weight_shape)
    out_shape = reference.output_shape(problem.input_shape, problem.weight_shape,
                                       **problem.arguments)
    grad = reference.grad_input(np.ones(out_shape), problem.input_shape, weight,
                                **problem.arguments)
    per_channel = problem.weight_shape[0] // problem.groups * window_coverage(problem)
    expected = np.broadcast_to(per_channel, problem.input_shape).astype(float)
    assert_equal_arrays(grad, expected, f"reference.grad_input(ones, ones) for {problem!r}",
                        "grad_input")


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_grad_bias_sums_grad_output_over_batch_and_positions(batched):
    grad_output = np.arange(24.0).reshape(2, 3, 2, 2)
    expected = np.array([0 + 1 + 2 + 3 + 12 + 13 + 14 + 15, 4 + 5 + 6 + 7 + 16 + 17 + 18 + 19,
                         8 + 9 + 10 + 11 + 20 + 21 + 22 + 23], float)
    if not batched:
        grad_output, expected = grad_output[0], np.array([6.0, 22.0, 38.0])
    observed = reference.grad_bias(grad_output)
    assert_equal_arrays(observed, expected, f"reference.grad_bias(grad_output{grad_output.shape})",
                        "grad_bias")


def test_the_adjoints_accept_a_zero_batch():
    input, weight = np.zeros((0, 2, 5, 5)), np.ones((4, 2, 3, 3))
    grad_output = np.zeros((0, 4, 3, 3))
    call = "input(0,2,5,5), weight(4,2,3,3), grad_output(0,4,3,3)"
    assert_equal_arrays(reference.grad_input(grad_output, input.shape, weight), input,
                        f"reference.grad_input: {call}", "grad_input")
    assert_equal_arrays(reference.grad_weight(grad_output, input, weight.shape),
                        np.zeros(weight.shape), f"reference.grad_weight: {call}", "grad_weight")
