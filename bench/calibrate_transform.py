"""Calibrate the transform error model: never exceeded, not loose, catches bugs.

For random conv2d problems (3 x 3 kernels, stride 1; channels 1..256, spatial
4..64, groups, padding, bias) in float32 and float64, and three kinds of
data:

- ``normal``: unit-normal input and bias, weight N(0, 1/n), as the float tier;
- ``hdr``: the same with the left half of every input plane scaled by 1e-4
  (high dynamic range: where Winograd and FFT errors are far from local);
- ``integer``: small integers thinned until every partial sum is exact in the
  dtype, as the exact tier,

each implementation's output is judged against the exact (float64) result.
error/bound is the largest over the output of ``|y_hat - y| / bound``:

- under its own transform bound (``transform_error_bound`` with
  ``include_direct=False``, so the transform part alone is calibrated):
  F(2,3) bound for ``winograd_f2x3``, F(4,3) bound for ``winograd_f4x3`` and
  the broken Winograd kernels, FFT bound for ``fft_conv2d`` and the broken
  FFT; torch's own F.conv2d is shown under the F(4,3) and FFT bounds;
- under the direct model: ``error_bound`` on normal/hdr data, bitwise
  equality on integer data (the exact tier).

Run (a minute or two on one core for the default 40 + 40 problems):

    python -m bench.calibrate_transform [--problems 40] [--seed 0] [--dtypes float32,float64]

``--dtypes`` also takes float16, bfloat16, complex64, complex128.
"""

import os

# Small NumPy matmuls with OpenBLAS's threads on a shared 2-core machine ran
# 15x slower than on one thread: one thread unless the caller says otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import reference  # noqa: E402
from implementations import transform  # noqa: E402
from implementations.broken import all_broken  # noqa: E402
from reference.transform_bound import transform_error_bound  # noqa: E402
from suite.implementation import load_implementation  # noqa: E402

# The broken fast-algorithm kernels of the self-check (implementations/broken/transform.py).
BROKEN = {entry.name: load_implementation(entry.spec)
          for entry in all_broken() if entry.module == "implementations.broken.transform"}
CORRECT = {
    "torch F.conv2d": F.conv2d,
    "winograd_f2x3": transform.winograd_f2x3,
    "winograd_f4x3": transform.winograd_f4x3,
    "fft_conv2d": transform.fft_conv2d,
}
# Which transform bound judges which implementation.
BOUND_OF = {"winograd_f2x3": "F(2,3)", "winograd_f4x3": "F(4,3)", "fft_conv2d": "FFT",
            "winograd_f4x3_wrong_input_transform_entry": "F(4,3)",
            "winograd_f4x3_wrong_tile_overlap": "F(4,3)",
            "winograd_f4x3_drops_last_partial_tile": "F(4,3)",
            "fft_conv2d_output_length": "FFT"}
BOUNDS = {"F(2,3)": dict(algorithm="winograd", tile=2),
          "F(4,3)": dict(algorithm="winograd", tile=4),
          "FFT": dict(algorithm="fft")}
KINDS = ("normal", "hdr", "integer")
DTYPES = ("float32", "float64")
# Exact-tier-like integers: |values| <= range, sums exact below 2^significand.
SIGNIFICAND = {"float64": 53, "complex128": 53, "float32": 24, "complex64": 24,
               "float16": 11, "bfloat16": 8}
INTEGER_RANGE = {"float16": 4, "bfloat16": 2}
CHANNELS = (1, 2, 3, 8, 16, 64, 256)
SPATIAL = (4, 5, 7, 8, 13, 16, 31, 33, 64)
LARGEST_WORK = 2 ** 22  # C * O/g * H * W: keeps each problem to a fraction of a second


def problems(count, seed):
    """2 * ``count`` random problem shapes: ``count`` of any size, ``count`` small
    ones (1 to 3 channels, up to 8 x 8: where error/bound is largest)."""
    rng = np.random.default_rng(seed)
    drawn = []
    while len(drawn) < 2 * count:
        small = len(drawn) >= count
        if small:
            channels, out_channels = rng.integers(1, 4, 2)
            height, width = rng.integers(1, 9, 2)
        else:
            channels, out_channels = rng.choice(CHANNELS, 2)
            height, width = rng.choice(SPATIAL, 2)
        groups = rng.choice([g for g in (1, 2, 4, channels) if channels % g == 0
                             and out_channels % g == 0])
        padding = int(rng.integers(0, 3))
        if channels * out_channels // groups * height * width > LARGEST_WORK:
            continue
        if min(height, width) + 2 * padding < 3:
            continue
        drawn.append(dict(input=(int(rng.integers(1, 3)), int(channels), int(height), int(width)),
                          weight=(int(out_channels), int(channels // groups), 3, 3),
                          bias=bool(rng.random() < 0.5), padding=padding,
                          groups=int(groups), seed=int(rng.integers(2 ** 31))))
    return drawn


def arrays(problem, kind, dtype):
    """input, weight, bias in float64, exactly representable in ``dtype``."""
    rng = np.random.default_rng(problem["seed"])
    complex_ = dtype.startswith("complex")
    n = int(np.prod(problem["weight"][1:]))
    bias_shape = problem["weight"][:1]
    if kind == "integer":
        R = INTEGER_RANGE.get(dtype, 16)
        x = rng.integers(-R, R + 1, problem["input"]).astype(np.float64)
        w = rng.integers(-R, R + 1, problem["weight"]).astype(np.float64)
        b = rng.integers(-R, R + 1, bias_shape).astype(np.float64) if problem["bias"] else None
        limit = 2.0 ** SIGNIFICAND[dtype]
        keep, density = rng.random(x.shape), 1.0
        while reference.magnitude(x, w, b, 1, problem["padding"], 1,
                                  problem["groups"]).max() > limit:
            density /= 2
            x = np.where(keep < density, x, 0)
        return x, w, b

    def normal(shape):
        if complex_:
            return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
        return rng.standard_normal(shape)

    x = normal(problem["input"])
    w = normal(problem["weight"]) / np.sqrt(n)
    b = normal(bias_shape) if problem["bias"] else None
    if kind == "hdr":
        x[..., : x.shape[-1] // 2] *= 1e-4
    return rounded(x, dtype), rounded(w, dtype), rounded(b, dtype)


def rounded(values, dtype):
    """``values`` rounded to ``dtype``, back in float64 (complex128)."""
    if values is None:
        return None
    wide = torch.complex128 if dtype.startswith("complex") else torch.float64
    return torch.from_numpy(values).to(getattr(torch, dtype)).to(wide).numpy()


def worst(error, bound):
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(error == 0, 0.0, error / bound)
    return float(np.nan_to_num(ratio, nan=np.inf).max())


def evaluate(problem, kind, dtype):
    """{(implementation, model): error/bound} for one problem, data kind and dtype."""
    x, w, b = arrays(problem, kind, dtype)
    args = dict(stride=1, padding=problem["padding"], dilation=1, groups=problem["groups"])
    geometry = reference.resolve(x.shape, w.shape, None if b is None else b.shape, **args)
    y = reference.conv2d(x, w, b, **args)
    M = reference.magnitude(x, w, b, **args)
    direct = reference.error_bound(M, y, dot_length=geometry.dot_length, dtype=dtype,
                                   bias=None if b is None else b[:, None, None])
    bounds = {name: transform_error_bound(x, w, b, y, geometry=geometry, dtype=dtype,
                                          magnitude=M, include_direct=False, **options)
              for name, options in BOUNDS.items()}
    torch_dtype = getattr(torch, dtype)
    tensors = [None if a is None else torch.from_numpy(a).to(torch_dtype) for a in (x, w, b)]
    results = {}
    for name, conv2d in {**CORRECT, **BROKEN}.items():
        with torch.no_grad():
            out = conv2d(*tensors, **args)
            out = out.to(torch.complex128 if out.is_complex() else torch.float64).numpy()
        error = np.abs(out.astype(y.dtype) - y)
        if kind == "integer":
            results[name, "direct"] = 0.0 if np.array_equal(out, y) else np.inf
        else:
            results[name, "direct"] = worst(error, direct)
        if name in BOUND_OF:
            results[name, "transform"] = worst(error, bounds[BOUND_OF[name]])
        else:  # torch's own kernel, under both transform bounds
            results[name, "F(4,3)"] = worst(error, bounds["F(4,3)"])
            results[name, "FFT"] = worst(error, bounds["FFT"])
    return results


def summary(ratios):
    """worst, median and smallest per-problem ratio, and the fraction above 1."""
    finite = [r for r in ratios if np.isfinite(r)]
    above = sum(r > 1 for r in ratios) / len(ratios)
    if not finite:
        return "inf", "inf", "inf", above
    fmt = lambda v: f"{v:.3g}"  # noqa: E731
    worst_ = "inf" if len(finite) < len(ratios) else fmt(max(finite))
    return worst_, fmt(statistics.median(ratios)), fmt(min(ratios)), above


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtypes", default=",".join(DTYPES),
                        help="comma-separated, e.g. float16,bfloat16,complex64")
    options = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    drawn = problems(options.problems, options.seed)
    collected = {}
    start = time.time()
    dtypes = options.dtypes.split(",")
    for dtype in dtypes:
        for kind in KINDS:
            for problem in drawn:
                for key, ratio in evaluate(problem, kind, dtype).items():
                    collected.setdefault((dtype, kind) + key, []).append(ratio)
    print(f"{len(drawn)} problems per cell, {time.time() - start:.0f} s; error/bound per problem "
          f"(max over the output): worst / median / smallest over problems, and the share "
          f"of problems above 1.  Direct model on integer data: bitwise (0 equal, inf not).\n")
    print("| implementation | model | dtype | data | worst | median | smallest | share > 1 |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for name in [*CORRECT, *BROKEN]:
        models = ["transform", "direct"] if name in BOUND_OF else ["F(4,3)", "FFT", "direct"]
        for model in models:
            label = f"transform {BOUND_OF[name]}" if model == "transform" else (
                "direct" if model == "direct" else f"transform {model}")
            for dtype in dtypes:
                for kind in KINDS:
                    w_, m_, s_, above = summary(collected[dtype, kind, name, model])
                    print(f"| {name} | {label} | {dtype} | {kind} | {w_} | {m_} | {s_} | "
                          f"{above:.0%} |")


if __name__ == "__main__":
    main()
