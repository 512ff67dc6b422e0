"""Rounding-error bounds for conv2d by Winograd and by FFT: the transform model.

A Winograd or FFT conv2d is not a sum of the n products of each output, so the
direct bound ``gamma_{n+1} * M`` (``rounding.error_bound``) does not hold for
it: its errors come from rounding transformed values whose size has nothing to
do with M.  The bounds here are derived, not fitted; ``transform_error_bound``
(below) is the entry point, and the error models of reference/numerics.py
use it.

Notation: u is the unit roundoff of the working precision (float32 for
float16/bfloat16 data, which are transformed in float32), gamma_k = k*u/(1-k*u)
(Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., 2002,
section 3.1), |.| elementwise absolute value (complex modulus), C' = C/groups.

Winograd F(m x m, r x r)
------------------------
Per output tile, Y = AT [ sum_c (G g_c GT) * (BT d_c B) ] A, with AT (m x a),
G (a x r), BT (a x a), a = m + r - 1, d_c the tile's a x a input window of
channel c and g_c its r x r filter (Lavin & Gray, "Fast algorithms for
convolutional neural networks", CVPR 2016).  Barabasz, Anderson, Soodhalter
and Gregg ("Error analysis and improving the accuracy of Winograd convolution
for deep neural networks", ACM TOMS 46(4), 2020; arXiv:1803.10986) bound its
error by the number of roundings a term goes through in each transform (set
by the number of terms each row of the matrix sums) times the norms of the
three transforms and of the data; the 2-D nested algorithm applies each 1-D
transform twice.  We count the same roundings but stop before norms are
taken: the componentwise form of the argument (Higham's Lemma 3.3 and
section 3.5, as for the direct bound), which implies a normwise bound and
is tighter:

    |Y_hat - Y| <= gamma_K * ( |AT| [ sum_c (|G| |g_c| |GT|) * (|BT| |d_c| |B|) ] |A| + |b| )

with K = 2 (k_A + 1) + 2 (k_B + 1) + 2 (k_G + 1) + 1 + (C' - 1) + 1, k_X the
largest number of non-zeros in a row of X.  Each 1-D transform row is a sum
of k_X terms (const * value): the constant's own rounding to the working
precision (1/6 is not a float), the product and k_X - 1 additions in any
order give each term at most k_X + 1 relative perturbations (1 + delta),
|delta| <= u; two passes per transform; one for the pointwise product; C' - 1
for the channel sum (any order, blocked or GEMM); one for adding the bias.
Every elementary term of the expanded expression therefore carries at most K
factors, and Lemma 3.3 of Higham bounds the product of K of them by
gamma_K.  Complex data: a complex product costs sqrt(2)*gamma_2 <= gamma_3
(Higham, Lemma 3.5), so K + 2; complex sums and real-times-complex products
are modulus-relative u.  For F(4,3) with Lavin's matrices k_A = 5, k_B = 4,
k_G = 3: K = C' + 31; for F(2,3): K = C' + 23.

We call the bracket the Winograd magnitude M_W: the direct model's
M = conv(|x|, |w|) is the same expression with every transform replaced by
its exact product (M_W >= M elementwise, since the algorithm is exact).  Its
size relative to M is the algorithm's amplification (larger for F(4,3), and
very large where a tile reads large inputs that an output itself does not).

Assumptions: stride 1, dilation 1, an r x r kernel; the transform matrices
(the points: 0, +-1, infinity for F(2,3); 0, +-1, +-2, infinity for F(4,3),
Lavin's scaling) are the ones given; each transform row is evaluated as a sum
of its non-zero terms (any order; a kernel that factors the transforms into
other intermediate sums is not covered); every output tile is an m x m block
of consecutive outputs whose input window is the a x a block it reads, zeros
beyond the padded input.  ``tile_origin="any"`` takes, for each output, the
largest bound over the m x m positions it can hold in a tile, so tiles may
start anywhere (shifted last tiles, partial tiles, other alignments);
``tile_origin=(0, 0)`` assumes tiles aligned at the output's origin (tighter
where a position's AT row is small).  Underflow and overflow: below.

FFT
---
One 2-D DFT of lengths (n1, n2) per padded image plane x_c and per filter
w_oc (zero-padded), a pointwise product summed over the group's channels, one
inverse DFT, the first out_h x out_w values kept (no wrap-around, since
n_i >= the padded size).  Higham, section 24.1, Theorem 24.2: for the
radix-2 Cooley-Tukey FFT of length n = 2^t with computed twiddle factors
off by at most mu,

    ||fl(F x) - F x||_2 <= eps_F * ||F x||_2,   eps_F = t*eta / (1 - t*eta),
    eta = mu + gamma_4 * (sqrt(2) + mu).

A 2-D DFT is 1-D DFTs along rows then columns, so t = log2 n1 + log2 n2.  The
proof bounds each butterfly level A_k entrywise (|dA_k| <= eta |A_k|), and
the butterfly graph has one path from each input to each output, so the same
proof also gives the componentwise |fl(F p) - F p| <= eps_F * |F| |p|.  With
P = sum_c X_c * W_oc (X = F x, W = F w, unnormalised, ||X||_2 = sqrt(N) ||x||_2,
N = n1 n2), the computed output z_hat of one (sample, output channel) plane:

    |z_hat_i - z_i| <= (1/N) sum_k |P_hat_k - P_k|  +  eps_F (1/N) sum_k |P_hat_k|

where P_hat_k - P_k = sum_c (dX W + X dW + dX dW + theta X_hat W_hat), |theta| <=
(1 + sqrt(2) gamma_2)(1 + gamma_{C'-1}) - 1 (complex product, then a sum of C'
complex terms), and (1/N) sum_k |A_k| |B_k| <= (1/N) ||A||_2 ||B||_2 (Cauchy-
Schwarz) turns every term into a multiple of ||x_c||_2 ||w_oc||_2.  Adding
the bias rounds once more.  So, for every output element of the plane,

    |y_hat - y| <= (1 + u) c_F S + u |y|,   S = sum_{c in group} ||x_c||_2 ||w_oc||_2,
    c_F = (1 + eps_F)^3 (1 + theta) (1 + u) - 1

(the last (1 + u): the 1/N scaling, exact for powers of two).  S is the same
for every element of the plane: the error is normwise, spread over the plane
(a small output next to large ones gets the large ones' error).

Assumptions: stride 1, dilation 1; the FFT lengths (default: the powers of two
at or above the padded size, which is what ``implementations.transform.
fft_conv2d`` uses); a Cooley-Tukey FFT of radix 2, 4 or 8 (radix 4 and 8
butterflies are two or three radix-2 levels whose inner twiddles +-i are
exact or cost at most eta) with twiddles accurate to mu = u; real-input
FFTs (rfft) qualify (their extra level is one butterfly level).  A length
that is not a power of two is counted as t = ceil(log2 n), which covers
radices 3 and 5 but not Bluestein or large prime radices.  One FFT per whole
plane: an overlap-add tiling that sums several tiles into one output is not
covered.

Underflow
---------
Below the normal range Higham's model gains an absolute term (section 2.1):
fl(a op b) = (a op b)(1 + delta) + e, |e| <= U, half the smallest subnormal of
the working precision (``rounding.UNDERFLOW``).  e = 0 for a sum (one that
lands below the normal range is exact: both operands are multiples of the
smallest subnormal) and for a product by an integer constant (c x is such a
multiple too: exact below the normal range, relative above it); an FMA rounds
once.  So only products by non-integer constants (G's 1/2, 1/4, 1/6, ...;
twiddles) and products of two data values lose an absolute amount, which the
later linear maps carry and later products multiply by their other operand.
The later relative perturbations, and the computed magnitudes' excess over
the exact ones, each cost at most a factor (1 + gamma_K) (FFT: 1 + c_F):
hence the (.)^2 in front of each term below.  The terms are a few thousand U
for data of modest size, so they matter only for results near the subnormal
range.

Winograd.  rho_T = U (sqrt(2) U for complex data: a real constant times a
complex value rounds each part), rho_P = U (2 sqrt(2) U: each part of a
complex product is two real products), k'_X the most non-integer entries in
a row of X, ||X|| its largest absolute row sum.  The weight transform's first
pass leaves at most k'_G rho_T per entry; the second carries that through a
row of |G| and adds its own: |dU_c| <= e_U = k'_G (||G|| + 1) rho_T; likewise
|dV_c| <= e_V = k'_B (||BT|| + 1) rho_T (0 for Lavin's integer BT).  The
product U_hat V_hat = UV + dU V + U dV + dU dV, plus its own rho_P, C' of them
per point (the channel sum's additions are exact there); |AT| . |A| carries
that, and the output transform adds k'_A (||AT|| + 1) rho_T (0 for integer
AT).  Per output:

    E_W = (1 + gamma_K)^2 [ e_U |AT||BT| (sum_c |d_c|) |B||A|
                            + e_V max_pq (|AT||G| (sum_c |g_c|) |GT||A|)_pq
                            + ||AT||^2 C' (e_U e_V + rho_P) + k'_A (||AT|| + 1) rho_T ]

(the first term is M_W with every weight transform all ones, over the same
tiles and positions: ``transformed_magnitude``).  F(4,3): e_U = 4.5 U, e_V = 0,
||AT||^2 = 361.

FFT.  Each butterfly level computes an entry as a +- w b: at most one complex
product by a twiddle, so a level's error vector e has |e_i| <= eta = 2 sqrt(2)
U and ||e||_2 <= sqrt(N) eta over N entries.  Every level has 2-norm at most
sqrt(2) ([1 w; 1 -w], a real FFT's split step, the 1/N scaling), so with L =
t + 2 levels (t butterfly levels, a real FFT's split step, the inverse's 1/N
applied anywhere: MKL does not say where, so the inverse's own errors are not
divided by N) a transform's absolute error is ||dX||_2 <= phi eta, phi =
sqrt(N) (2^(L/2) - 1) / (sqrt(2) - 1).  Then, by Cauchy-Schwarz as above, for
every output of a plane:

    E_F = (1 + c_F)^2 [ (phi eta / sqrt(N)) sum_c (||x_c||_2 + ||w_oc||_2)
                        + C' (phi^2 eta^2 / N + eta) + phi eta ]

(each spectrum's error times the other spectrum, their product, the C'
products' own roundings, the inverse transform's own).

Both bounds add the float64 reference's own rounding (gamma_{n+1}(2^-53) M,
and n U_64, 4n complex, for its products' underflow), and for float16/bfloat16
the rounding of the output (as the direct bound: (1 + u_out) times the bound,
+ u_out |y|, + u_out |y - b| for a separate bias pass, + half a subnormal
spacing each).

Overflow
--------
A transform computes values far larger than any partial sum of the direct
products: BT d B grows |d| by up to ||BT||^2 (100 for F(4,3)), an FFT's
unscaled inverse its input by up to N.  Where one reaches the working
precision's overflow threshold a correct kernel returns inf, or NaN (inf - inf
in the next transform), although the direct sum is finite; those outputs are
open (``numerics.Overflow``: anything goes).  Per (sample, output channel)
plane, bounds on every computed value (times 1 + gamma_K, or 1 + c_F, for
the computed values' excess):

- Winograd: the input transform's two passes, max(1, ||BT||)^2 max |x_c|; the
  weight transform's two passes, the largest entry of |G||g_oc| and of
  |G||g_oc||GT| (U_oc); the products and the channel sum in any order,
  P = sum_c U_oc max(1, ||BT||)^2 max |x_c|; the output transform's two passes
  and the bias, max(1, ||AT||)^2 P + |b_o|;
- FFT: every intermediate of a Cooley-Tukey FFT is a partial DFT (a sum over
  a subset of the inputs times unit-modulus twiddles), at most ||x_c||_1, and
  a real FFT's split step adds two: 2 ||x_c||_1, 2 ||w_oc||_1; the products
  and the channel sum, P = sum_c ||x_c||_1 ||w_oc||_1; the unscaled inverse's
  values (its split step again), 2 N P, + |b_o|.

A plane is open as a whole where one of them reaches the threshold: one
tile's overflow reaches every output of the tile, and a tile may sit
anywhere; a spectrum's reaches the whole plane.
"""

import math

import numpy as np

from reference.forward import batched, conv2d_resolved, padded, unbatched
from reference.rounding import ACCUMULATION, FORMATS, UNDERFLOW, UNIT_ROUNDOFF, error_bound, gamma


def transform_error_bound(input, weight, bias, reference, *, geometry, dtype, algorithm,
                          tile=None, matrices=None, tile_origin="any", fft_lengths=None,
                          magnitude=None, accumulation=None, include_direct=True):
    """The largest error a correct Winograd or FFT conv2d may make, per element.

    The bound derived above for ``algorithm`` (``"winograd"``: gamma_K (M_W + |b|)
    over the tile that holds the element, the largest over its possible positions
    when ``tile_origin="any"``; ``"fft"``: (1 + u) c_F S + u |y|), plus its absolute
    underflow term, the float64 reference's rounding ``gamma_{n+1}(2^-53) * M +
    n * UNDERFLOW`` and, for float16/bfloat16, the output roundings of
    ``error_bound``.  With ``include_direct`` the result is the elementwise maximum
    with ``error_bound`` (a kernel may compute some outputs directly); a call the
    algorithm cannot compute (stride or dilation not 1, another kernel size for
    Winograd, an empty output) gets ``error_bound`` alone.

    - ``input``, ``weight``, ``bias``: the float64/complex128 arrays the
      implementation saw (bias may be None); 3-D input for unbatched calls;
    - ``reference``: the exact output y (``reference.conv2d`` of them);
    - ``geometry``: ``reference.resolve(...)`` of the call;
    - ``dtype``: the dtype name of the data and result, e.g. ``"float32"``;
    - ``algorithm``: ``"winograd"`` or ``"fft"``;
    - ``tile``: m for Winograd (2 or 4 take Lavin & Gray's matrices for 3 x 3);
    - ``matrices``: ``(AT, G, BT)`` for other points or tiles (then kernels of
      G.shape[1] x G.shape[1]);
    - ``tile_origin``: ``"any"`` (default: any tiling of m x m blocks) or
      ``(i0, j0)``, the output index where the tiling starts;
    - ``fft_lengths``: (n1, n2); default the powers of two at or above the
      padded input size;
    - ``magnitude``: M = ``magnitude(...)`` of the call if already computed;
    - ``accumulation``: the working dtype (default: float32 for half types);
    - ``include_direct``: also accept what the direct model accepts.
    """
    accumulation = accumulation or ACCUMULATION.get(dtype, dtype)
    u, u_out = UNIT_ROUNDOFF[accumulation], UNIT_ROUNDOFF[dtype]
    reference = np.asarray(reference)
    bias_plane = None if bias is None else np.asarray(bias)[:, None, None]
    if magnitude is None:
        magnitude = conv2d_resolved(geometry, np.abs(input), np.abs(weight),
                                    None if bias is None else np.abs(bias))
    direct = error_bound(magnitude, reference, dot_length=geometry.dot_length, dtype=dtype,
                         accumulation=accumulation, bias=bias_plane)
    matrices = _algorithm_matrices(algorithm, geometry, reference, tile, matrices)
    if matrices is None:
        return direct

    complex_data = np.iscomplexobj(input) or np.iscomplexobj(weight) or dtype.startswith("complex")
    x = padded(geometry, batched(geometry, np.asarray(input)), np.asarray(input).dtype)
    w = np.asarray(weight)
    group_channels = geometry.in_channels // geometry.groups
    if algorithm == "winograd":
        K = winograd_roundings(*matrices, group_channels, complex_data)
        M_W = winograd_magnitude(np.abs(x), np.abs(w), geometry.groups, *matrices,
                                    tile_origin)
        bound = gamma(K, u) * (unbatched(geometry, M_W) +
                               (0 if bias is None else np.abs(bias_plane)))
        underflow = (1 + gamma(K, u)) ** 2 * unbatched(geometry, winograd_underflow(
            np.abs(x), np.abs(w), geometry.groups, *matrices, tile_origin, complex_data,
            UNDERFLOW[accumulation]))
    else:
        lengths = _fft_lengths(x, fft_lengths)
        c_F = fft_roundings(lengths, group_channels, u)
        S, underflow = (unbatched(geometry, np.broadcast_to(
            per_plane[:, :, None, None], (*per_plane.shape, *geometry.output_size)))
            for per_plane in (fft_plane_norms(x, w, geometry.groups),
                              (1 + c_F) ** 2 * fft_underflow(x, w, geometry.groups, lengths,
                                                                UNDERFLOW[accumulation])))
        bound = (1 + u) * c_F * S + u * np.abs(reference)
    products = geometry.dot_length * (4 if complex_data else 1)
    bound = (bound + underflow + products * UNDERFLOW["float64"]
             + gamma(geometry.dot_length + 1, UNIT_ROUNDOFF["float64"]) * magnitude)
    if u_out > u:
        bound = bound * (1 + u_out) + u_out * np.abs(reference) + UNDERFLOW[dtype]
        if bias_plane is not None:
            bound = bound + u_out * np.abs(reference - bias_plane) + UNDERFLOW[dtype]
    return np.maximum(bound, direct) if include_direct else bound


def transform_overflow(input, weight, bias, reference, *, geometry, dtype, algorithm,
                       tile=None, matrices=None, fft_lengths=None, accumulation=None):
    """Per element, whether a correct Winograd or FFT conv2d may overflow on the way:
    where a value it computes (a transform, a product, the channel sum, the output
    transform; spectra and the inverse FFT) could reach the working precision's
    overflow threshold, the result is open in the ``Overflow`` sense (inf - inf
    makes NaN, anything goes).  Arguments as ``transform_error_bound``'s.

    Conservative: the bound is per (sample, output channel) plane, and every
    output of such a plane is open, because one tile's or one spectrum's
    overflow reaches every output that reads it, and a tile may sit anywhere
    (a plane transform reaches the whole plane).
    """
    accumulation = accumulation or ACCUMULATION.get(dtype, dtype)
    reference = np.asarray(reference)
    closed = np.zeros(reference.shape, dtype=bool)
    matrices = _algorithm_matrices(algorithm, geometry, reference, tile, matrices)
    if matrices is None:
        return closed
    x = np.abs(padded(geometry, batched(geometry, np.asarray(input)), np.asarray(input).dtype))
    w = np.abs(np.asarray(weight))
    bias_abs = 0 if bias is None else np.abs(np.asarray(bias))
    group_channels = geometry.in_channels // geometry.groups
    u = UNIT_ROUNDOFF[accumulation]
    if algorithm == "winograd":
        complex_data = (np.iscomplexobj(input) or np.iscomplexobj(weight)
                        or dtype.startswith("complex"))
        size = (1 + gamma(winograd_roundings(*matrices, group_channels, complex_data), u)) * \
            winograd_overflow_size(x, w, bias_abs, geometry.groups, *matrices)
    else:
        lengths = _fft_lengths(x, fft_lengths)
        size = (1 + fft_roundings(lengths, group_channels, u)) * \
            fft_overflow_size(x, w, bias_abs, geometry.groups, lengths)
    open = size[:, :, None, None] >= FORMATS[accumulation].overflow_threshold
    return unbatched(geometry, np.broadcast_to(open, (*open.shape[:2], *geometry.output_size)))


def _algorithm_matrices(algorithm, geometry, reference, tile, matrices):
    """(AT, G, BT) for Winograd, () for FFT, or None for a call the algorithm cannot
    compute (stride or dilation not 1, another kernel size, an empty output)."""
    if algorithm == "winograd":
        found = winograd_matrices(tile, matrices)
        covered = geometry.kernel == (found[1].shape[1], found[1].shape[1])
    elif algorithm == "fft":
        found, covered = (), True
    else:
        raise ValueError(f"algorithm={algorithm!r}: 'winograd' or 'fft'")
    covered = (covered and geometry.stride == (1, 1) and geometry.dilation == (1, 1)
               and reference.size > 0 and geometry.in_channels > 0)
    return found if covered else None


def _fft_lengths(padded_input, fft_lengths):
    """The FFT lengths (n1, n2): the given ones, or the powers of two at or above
    the padded input size; refused if they cannot hold it."""
    lengths = tuple(fft_lengths or power_of_two_lengths(padded_input.shape[-2:]))
    if lengths[0] < padded_input.shape[-2] or lengths[1] < padded_input.shape[-1]:
        raise ValueError(f"fft_lengths={lengths} cannot hold the padded input "
                         f"{padded_input.shape[-2:]}: the circular convolution would wrap around")
    return lengths


# The transform matrices the Winograd bound assumes by default (AT, G, BT),
# per tile size m, for 3 x 3 kernels: Lavin & Gray's, points 0, +-1, inf (m = 2)
# and 0, +-1, +-2, inf with the 1/4, 1/6, 1/12, 1/24 factors in G (m = 4).
# Only their absolute values and non-zero patterns enter the bound.
WINOGRAD_MATRICES = {
    2: (
        ((1, 1, 1, 0), (0, 1, -1, -1)),
        ((1, 0, 0), (1 / 2, 1 / 2, 1 / 2), (1 / 2, -1 / 2, 1 / 2), (0, 0, 1)),
        ((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1)),
    ),
    4: (
        ((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0), (0, 1, -1, 8, -8, 1)),
        ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6),
         (1 / 24, 1 / 12, 1 / 6), (1 / 24, -1 / 12, 1 / 6), (0, 0, 1)),
        ((4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),
         (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1)),
    ),
}

# Bound the size of the intermediate (N, C, origins, a*a) array in the
# Winograd magnitude: channels are processed in chunks of at most this many values.
_CHUNK_VALUES = 2 ** 22


def winograd_matrices(tile, matrices=None):
    """(AT, G, BT) as float64 arrays: the given ones, or the default for ``tile``."""
    if matrices is None:
        if tile not in WINOGRAD_MATRICES:
            raise ValueError(f"no default Winograd matrices for tile {tile}: pass matrices=")
        matrices = WINOGRAD_MATRICES[tile]
    AT, G, BT = (np.asarray(M, dtype=np.float64) for M in matrices)
    m, a = AT.shape
    if BT.shape != (a, a) or G.shape[0] != a or G.shape[1] != a - m + 1:
        raise ValueError(f"inconsistent Winograd matrices: AT {AT.shape}, G {G.shape}, "
                         f"BT {BT.shape}")
    if tile is not None and tile != m:
        raise ValueError(f"tile={tile} but AT has {m} rows")
    return AT, G, BT


def winograd_roundings(AT, G, BT, group_channels, complex_data):
    """K: the most roundings an elementary term of a Winograd output goes through."""
    longest = lambda M: int(np.count_nonzero(M, axis=1).max())  # noqa: E731
    K = 2 * (longest(AT) + 1) + 2 * (longest(BT) + 1) + 2 * (longest(G) + 1)
    K += 1 + (group_channels - 1) + 1  # product, channel sum, bias
    return K + (2 if complex_data else 0)


def winograd_magnitude(padded_abs, weight_abs, groups, AT, G, BT, tile_origin="any"):
    """M_W = |AT| [sum_c (|G||g_c||GT|) * (|BT||d_c||B|)] |A| per output element.

    ``padded_abs``: |input| with its padding, (N, C, Hp, Wp); ``weight_abs``:
    (O, C/groups, r, r).  ``tile_origin``: "any" (the largest over every
    position an output can hold in a tile) or (i0, j0), the output index at
    which the tiling starts (tiles cover i0 + k*m ... i0 + k*m + m - 1).
    """
    G = np.abs(G)
    return transformed_magnitude(padded_abs, G @ weight_abs @ G.T, groups, AT, BT, tile_origin)


def transformed_magnitude(padded_abs, U, groups, AT, BT, tile_origin="any"):
    """|AT| [sum_c U_c * (|BT||d_c||B|)] |A| per output element, for weight
    transforms U (O, C/groups, a, a) given (``winograd_magnitude``'s bracket)."""
    AT, BT = np.abs(AT), np.abs(BT)
    m, a = AT.shape
    batch, channels, hp, wp = padded_abs.shape
    out_channels, group_channels = U.shape[:2]
    r = a - m + 1
    out_size = (hp - r + 1, wp - r + 1)
    # The tile origins to evaluate, per axis: every origin -(m-1) ... out-1 for
    # "any", else those of the tiling (first <= 0, then every m up to out - 1).
    if tile_origin == "any":
        grids = [(-(m - 1), 1, size + m - 1) for size in out_size]
    else:
        grids = []
        for start, size in zip(tile_origin, out_size):
            first = start % m - (m if start % m else 0)
            grids.append((first, m, -(-(size - first) // m)))
    (first_h, step_h, count_h), (first_w, step_w, count_w) = grids
    # Zero-extend so that every tile's a x a window lies inside: m - 1 before.
    extended = np.pad(padded_abs, ((0, 0), (0, 0), (m - 1, m + a), (m - 1, m + a)))
    per_group = out_channels // groups
    positions = batch * count_h * count_w
    P = np.zeros((a * a, out_channels, positions))
    chunk = max(1, _CHUNK_VALUES // max(1, positions * a * a))
    for g in range(groups):
        rows = slice(g * per_group, (g + 1) * per_group)
        for start in range(0, group_channels, chunk):
            stop = min(group_channels, start + chunk)
            block = extended[:, g * group_channels + start:g * group_channels + stop]
            V = _separable_windows(block, BT, (first_h + m - 1, step_h, count_h),
                                   (first_w + m - 1, step_w, count_w))
            V = V.transpose(4, 5, 1, 0, 2, 3).reshape(a * a, stop - start, positions)
            Ug = U[rows, start:stop].transpose(2, 3, 0, 1).reshape(a * a, per_group, stop - start)
            P[:, rows] += Ug @ V
    # Output transform for every in-tile position (p, q): Q[p, q] = sum |AT|_p,al |AT|_q,be P[al,be]
    Q = (np.kron(AT, AT) @ P.reshape(a * a, -1)).reshape(m, m, out_channels, batch,
                                                          count_h, count_w)
    Q = Q.transpose(0, 1, 3, 2, 4, 5)  # (m, m, N, O, count_h, count_w)
    i, j = np.arange(out_size[0]), np.arange(out_size[1])
    if tile_origin != "any":
        # each output's tile (index k) and position p in it: i = first + k*m + p
        (k_i, p_i), (k_j, p_j) = divmod(i - first_h, m), divmod(j - first_w, m)
        Q = Q[p_i[:, None], p_j[None, :], :, :, k_i[:, None], k_j[None, :]]  # (H, W, N, O)
        return Q.transpose(2, 3, 0, 1)
    result = np.zeros((batch, out_channels, *out_size))
    for p in range(m):
        for q in range(m):
            # output (i, j) at in-tile position (p, q): its tile starts at (i - p, j - q),
            # origin index i - p + (m - 1)
            np.maximum(result, Q[p, q][:, :, m - 1 - p:m - 1 - p + out_size[0],
                                       m - 1 - q:m - 1 - q + out_size[1]], out=result)
    return result


def winograd_underflow(padded_abs, weight_abs, groups, AT, G, BT, tile_origin, complex_data,
                       underflow):
    """The absolute (underflow) part of the Winograd bound per output element, before
    its (1 + gamma_K)^2: e_U |AT||BT| (sum_c |d_c|) |B||A| + e_V max |AT||G| (sum_c |g_c|)
    |GT||A| + alpha^2 C' (e_U e_V + rho_P) + k'_A (alpha + 1) rho_T (module docstring).

    ``underflow``: half the smallest subnormal of the working precision (U).
    """
    m, a = AT.shape
    batch, channels = padded_abs.shape[:2]
    out_channels, group_channels = weight_abs.shape[:2]
    rho_T = underflow * (math.sqrt(2) if complex_data else 1)  # constant times value
    rho_P = underflow * (2 * math.sqrt(2) if complex_data else 1)  # value times value
    alpha, beta, sigma = (float(np.abs(M).sum(axis=1).max()) for M in (AT, BT, G))
    e_V = _inexact_terms(BT) * (beta + 1) * rho_T
    e_U = _inexact_terms(G) * (sigma + 1) * rho_T
    # e_U times |AT||BT| (sum_c |d_c|) |B||A|: the bracket with every weight transform all ones.
    summed = padded_abs.reshape(batch, groups, group_channels, *padded_abs.shape[2:]).sum(axis=2)
    spread = transformed_magnitude(summed, np.ones((groups, 1, a, a)), groups, AT, BT, tile_origin)
    spread = np.repeat(spread, out_channels // groups, axis=1)
    R = np.abs(AT) @ np.abs(G)
    filters = (R @ weight_abs.sum(axis=1) @ R.T).max(axis=(1, 2))  # (O,)
    fixed = (alpha ** 2 * group_channels * (e_U * e_V + rho_P)
             + _inexact_terms(AT) * (alpha + 1) * rho_T)
    return e_U * spread + e_V * filters[None, :, None, None] + fixed


def winograd_overflow_size(padded_abs, weight_abs, bias_abs, groups, AT, G, BT):
    """Per (sample, output channel) plane, a bound on the modulus of every value a
    Winograd conv2d computes for it: both passes of each transform, the products,
    the channel sum in any order, the output transform and the bias (module docstring)."""
    batch, channels = padded_abs.shape[:2]
    out_channels, group_channels = weight_abs.shape[:2]
    per_group = out_channels // groups
    spread = lambda M: max(1.0, float(np.abs(M).sum(axis=1).max()))  # noqa: E731
    inputs = spread(BT) ** 2 * padded_abs.max(axis=(2, 3))  # (N, C)
    G = np.abs(G)
    half = G @ weight_abs  # (O, C', a, r): the weight transform's first pass
    weights = np.maximum(half.max(axis=(2, 3)), (half @ G.T).max(axis=(2, 3)))  # (O, C')
    inputs = inputs.reshape(batch, groups, 1, group_channels)
    weights = weights.reshape(1, groups, per_group, group_channels)
    products = (inputs * weights).sum(axis=3).reshape(batch, out_channels)
    outputs = spread(AT) ** 2 * products + bias_abs
    largest_input = np.repeat(inputs.max(axis=3), per_group, axis=2).reshape(batch, out_channels)
    return np.maximum(np.maximum(largest_input, weights.max(axis=3).reshape(1, out_channels)),
                      outputs)


def _separable_windows(block, BT, grid_h, grid_w):
    """|BT| d |B| for the a x a window at every grid origin: (N, c, count_h, count_w, a, a).

    ``grid_*``: (first index into ``block``, step, count) per axis.
    """
    a = BT.shape[0]
    (first_h, step_h, count_h), (first_w, step_w, count_w) = grid_h, grid_w
    span_h, span_w = step_h * (count_h - 1) + 1, step_w * (count_w - 1) + 1
    # Rows: R[..., o, col, al] = sum_k |BT|_al,k block[..., o + k, col]
    rows = np.stack([block[:, :, first_h + k:first_h + k + span_h:step_h] for k in range(a)],
                    axis=-1)
    rows = (rows.reshape(-1, a) @ BT.T).reshape(*rows.shape[:-1], a)
    # Columns: V[..., o, o', al, be] = sum_l |BT|_be,l R[..., o, o' + l, al]
    cols = np.stack([rows[:, :, :, first_w + l:first_w + l + span_w:step_w] for l in range(a)],
                    axis=-1)  # (N, c, count_h, count_w, al, l)
    return (cols.reshape(-1, a) @ BT.T).reshape(cols.shape)


def fft_roundings(lengths, group_channels, u):
    """c_F: the relative factor of the FFT bound, for FFT lengths (n1, n2)."""
    t = sum(math.ceil(math.log2(n)) for n in lengths if n > 1)
    eta = u + gamma(4, u) * (math.sqrt(2) + u)  # twiddles accurate to mu = u
    if t * eta >= 1:
        raise ValueError(f"FFT of lengths {lengths} is unbounded at u={u}")
    eps = t * eta / (1 - t * eta)
    theta = (1 + math.sqrt(2) * gamma(2, u)) * (1 + gamma(group_channels - 1, u)) - 1
    return (1 + eps) ** 3 * (1 + theta) * (1 + u) - 1


def fft_plane_norms(padded, weight, groups):
    """S[n, o] = sum over o's group of ||x_nc||_2 ||w_oc||_2 (plane 2-norms)."""
    batch, channels = padded.shape[:2]
    out_channels, group_channels = weight.shape[:2]
    x_norms = np.sqrt((np.abs(padded) ** 2).sum(axis=(2, 3)))  # (N, C)
    w_norms = np.sqrt((np.abs(weight) ** 2).sum(axis=(2, 3)))  # (O, C')
    x_norms = x_norms.reshape(batch, groups, 1, group_channels)
    w_norms = w_norms.reshape(1, groups, out_channels // groups, group_channels)
    return (x_norms * w_norms).sum(axis=3).reshape(batch, out_channels)


def fft_underflow(padded, weight, groups, lengths, underflow):
    """The absolute (underflow) part of the FFT bound per (sample, output channel)
    plane, before its (1 + c_F)^2: (phi eta / sqrt N) sum_c (||x_c|| + ||w_oc||) +
    C' (phi^2 eta^2 / N + eta) + phi eta (module docstring).

    ``underflow``: half the smallest subnormal of the working precision (U).
    """
    batch = padded.shape[0]
    out_channels, group_channels = weight.shape[:2]
    size = math.prod(lengths)
    levels = sum(math.ceil(math.log2(n)) for n in lengths if n > 1) + 2
    eta = 2 * math.sqrt(2) * underflow
    phi = math.sqrt(size) * (2 ** (levels / 2) - 1) / (math.sqrt(2) - 1)
    x_norms = np.sqrt((np.abs(padded) ** 2).sum(axis=(2, 3)))  # (N, C)
    w_norms = np.sqrt((np.abs(weight) ** 2).sum(axis=(2, 3))).sum(axis=1)  # (O,)
    x_sums = x_norms.reshape(batch, groups, group_channels).sum(axis=2)
    x_sums = np.repeat(x_sums, out_channels // groups, axis=1)  # (N, O)
    spectra = phi * eta / math.sqrt(size) * (x_sums + w_norms[None, :])
    return spectra + group_channels * ((phi * eta) ** 2 / size + eta) + phi * eta


def fft_overflow_size(padded, weight, bias_abs, groups, lengths):
    """Per (sample, output channel) plane, a bound on the modulus of every value an
    FFT conv2d computes for it: the spectra and their butterflies, the products,
    the channel sum, the unscaled inverse and the bias (module docstring)."""
    batch = padded.shape[0]
    out_channels, group_channels = weight.shape[:2]
    per_group = out_channels // groups
    x_sums = np.abs(padded).sum(axis=(2, 3)).reshape(batch, groups, 1, group_channels)
    w_sums = np.abs(weight).sum(axis=(2, 3)).reshape(1, groups, per_group, group_channels)
    products = (x_sums * w_sums).sum(axis=3).reshape(batch, out_channels)
    spectra = 2 * np.maximum(np.repeat(x_sums.max(axis=3), per_group, axis=2),
                             w_sums.max(axis=3)).reshape(batch, out_channels)
    return np.maximum(spectra, 2 * math.prod(lengths) * products + bias_abs)


def power_of_two_lengths(padded_size):
    return tuple(1 << max(0, (s - 1).bit_length()) for s in padded_size)


def _inexact_terms(M):
    """The most non-integer entries in a row of M: a product by an integer constant
    cannot round below the normal range (module docstring), so only these can."""
    M = np.asarray(M)
    return int(((M != 0) & (M != np.round(M))).sum(axis=1).max())
