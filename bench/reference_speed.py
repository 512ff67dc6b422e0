"""Time per call of reference.conv2d (float64) against torch's F.conv2d (float64).

Both run in this process on the same data, torch with as many threads as
NumPy's BLAS uses (or ``--threads N`` for both), each timed timeit-style: a
warm-up call, ``autorange`` to pick a loop count worth at least 0.2 s, then
the median of several rounds; the rounds alternate reference and torch so
that a busy machine slows both alike.  Targets (issue 2):

- (8,64,32,32) x (64,64,3,3), padding 1: the reference no slower than torch;
- (4,32,28,28) depthwise, groups 32, (32,1,3,3): at most 2x torch;
- (1,3,8,8) x (4,3,3,3): at most 60 microseconds per call.

Run from the repository root:

    python -m bench.reference_speed [--threads N] [--repeat R]
"""

import argparse
import ctypes
import glob
import os
import statistics
import timeit

import numpy as np
import torch
import torch.nn.functional as F

import reference

CASES = [
    # name, input shape, weight shape, arguments, (target kind, limit)
    ("(8,64,32,32)x(64,64,3,3) p1", (8, 64, 32, 32), (64, 64, 3, 3), dict(padding=1),
     ("ratio", 1.0)),
    ("(4,32,28,28) depthwise g32", (4, 32, 28, 28), (32, 1, 3, 3), dict(groups=32),
     ("ratio", 2.0)),
    ("(1,3,8,8)x(4,3,3,3)", (1, 3, 8, 8), (4, 3, 3, 3), {}, ("microseconds", 60.0)),
]


def _openblas():
    """NumPy's bundled OpenBLAS (scipy-openblas), or None if it cannot be found."""
    libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libs, "lib*openblas*.so*")):
        library = ctypes.CDLL(path)
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                getter = getattr(library, f"{prefix}get_num_threads{suffix}", None)
                setter = getattr(library, f"{prefix}set_num_threads{suffix}", None)
                if getter is not None and setter is not None:
                    return getter, setter
    return None


def numpy_threads(requested=None):
    """The thread count of NumPy's BLAS, after setting it to ``requested`` if given."""
    blas = _openblas()
    if blas is None:
        if requested is not None:
            raise SystemExit("cannot set NumPy's BLAS threads here: set OPENBLAS_NUM_THREADS "
                             "before starting Python instead")
        return int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1))
    getter, setter = blas
    if requested is not None:
        setter(requested)
    return getter()


def seconds_per_call(functions, repeat):
    """Median over ``repeat`` rounds of each function's time per call.

    Each function is warmed up and gets timeit's autorange loop count; the
    rounds interleave the functions, so load from other processes falls on
    both sides of the comparison alike.
    """
    timers = []
    for function in functions:
        function()  # warm-up: caches, allocator, oneDNN/BLAS set-up
        timer = timeit.Timer(function)
        timers.append((timer, timer.autorange()[0]))
    rounds = [[timer.timeit(number) / number for timer, number in timers] for _ in range(repeat)]
    return [statistics.median(column) for column in zip(*rounds)]


def measure(input_shape, weight_shape, arguments, repeat):
    rng = np.random.default_rng(0)
    input = rng.standard_normal(input_shape)
    weight = rng.standard_normal(weight_shape)
    torch_input, torch_weight = torch.from_numpy(input), torch.from_numpy(weight)

    def ours():
        return reference.conv2d(input, weight, **arguments)

    def theirs():
        return F.conv2d(torch_input, torch_weight, **arguments)
    agree = np.abs(ours() - theirs().numpy()).max()
    return (*seconds_per_call([ours, theirs], repeat), agree)


def verdict(target, ours, theirs):
    kind, limit = target
    if kind == "ratio":
        met = ours <= limit * theirs
        wanted = "no slower than torch" if limit == 1 else f"at most {limit:g}x torch"
    else:
        met = ours * 1e6 <= limit
        wanted = f"at most {limit:g} us"
    return wanted, "yes" if met else "**no**"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both NumPy's BLAS and torch (default: NumPy's own)")
    parser.add_argument("--repeat", type=int, default=7, help="timing repeats (median)")
    options = parser.parse_args()

    threads = numpy_threads(options.threads)
    torch.set_num_threads(threads)
    print(f"numpy {np.__version__} (BLAS threads {threads}), torch {torch.__version__} "
          f"(threads {torch.get_num_threads()}), float64, median of {options.repeat}\n")
    print("| case | reference (us) | torch (us) | reference / torch | target | met | max abs diff |")
    print("|---|---:|---:|---:|---|---|---:|")
    for name, input_shape, weight_shape, arguments, target in CASES:
        ours, theirs, agree = measure(input_shape, weight_shape, arguments, options.repeat)
        wanted, met = verdict(target, ours, theirs)
        print(f"| {name} | {ours * 1e6:,.1f} | {theirs * 1e6:,.1f} | {ours / theirs:.2f} | "
              f"{wanted} | {met} | {agree:.1e} |")


if __name__ == "__main__":
    main()
