"""Time each per-sample formulation against the loop over samples, on the CPU.

Sizes: tiny; the note's two problems (C=1024, 18x19 maps, a 6x3 kernel,
padding (1, 0); 14x14 maps with a 14x1 kernel) at N=8, as im2col of the
first holds C*kh*kw = 18432 rows per position; and a mid-size batch.  Every
formulation runs the conv2d given (default torch's) in float32, and its
largest difference from the loop is printed beside its time (rounding only:
tests/test_per_sample.py proves each within the bound).  Run from the
repository root:

    python -m bench.per_sample [--conv2d-impl=MODULE:ATTR] [--threads=N] [--min-run-time=S]
"""

import argparse

import torch
from torch.utils.benchmark import Timer

from case.formulations import FORMULATIONS, channel_summed_matmul, loop
from suite.implementation import DEFAULT, ImplementationError, load_implementation

# name: (N, C, O, g, H, W, kh, kw, padding)
SIZES = {
    "tiny: N=4, C=8, O=8, 8x8, 3x3, pad 1": (4, 8, 8, 1, 8, 8, 3, 3, 1),
    "note: N=8, C=1024, O=1, 18x19, 6x3, pad (1,0)": (8, 1024, 1, 1, 18, 19, 6, 3, (1, 0)),
    "note: N=8, C=1024, O=1, 14x14, 14x1": (8, 1024, 1, 1, 14, 14, 14, 1, 0),
    "mid: N=64, C=32, O=32, 16x16, 3x3, pad 1": (64, 32, 32, 1, 16, 16, 3, 3, 1),
    "mid, grouped: N=64, C=32, O=32, g=4, 16x16, 3x3, pad 1": (64, 32, 32, 4, 16, 16, 3, 3, 1),
}


def _problem(batch, channels, out_channels, groups, height, width, kh, kw, padding):
    generator = torch.Generator().manual_seed(0)
    input = torch.randn(batch, channels, height, width, generator=generator)
    weight = torch.randn(batch, out_channels, channels // groups, kh, kw, generator=generator)
    weight /= (channels // groups * kh * kw) ** 0.5  # outputs of order one, as the float tier
    bias = torch.randn(batch, out_channels, generator=generator)
    return (input, weight, bias), dict(padding=padding, groups=groups)


def _ways(conv2d, size):
    """(name, callable) for every formulation that applies to ``size``."""
    ways = [(f.__name__, lambda t, a, f=f: f(conv2d, *t, **a)) for f in FORMULATIONS]
    _, _, _, groups, height, width, kh, kw, padding = size
    if groups == 1 and padding == 0 and (kh, kw) in ((height, 1), (1, width)):
        ways.append(("channel_summed_matmul", lambda t, a: channel_summed_matmul(*t)))
    return ways


def _median_ms(function, min_run_time):
    timer = Timer("function()", globals={"function": function})
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.per_sample",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--conv2d-impl", default=DEFAULT, metavar="MODULE:ATTR")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--min-run-time", type=float, default=0.5, metavar="SECONDS")
    options = parser.parse_args(argv)
    try:
        conv2d = load_implementation(options.conv2d_impl)
    except ImplementationError as error:
        parser.error(str(error))
    if options.threads < 1:
        parser.error(f"--threads={options.threads}: must be >= 1")
    torch.set_num_threads(options.threads)

    print(f"torch {torch.__version__}, {options.conv2d_impl}, float32, CPU, "
          f"{torch.get_num_threads()} threads, mkldnn enabled={torch.backends.mkldnn.enabled}")
    print("\n| size | formulation | median ms | x loop | max abs diff vs loop |")
    print("|---|---|---:|---:|---:|")
    with torch.no_grad():
        for name, size in SIZES.items():
            tensors, arguments = _problem(*size)
            looped = loop(conv2d, *tensors, **arguments)
            loop_ms = _median_ms(lambda: loop(conv2d, *tensors, **arguments), options.min_run_time)
            for way, run in _ways(conv2d, size):
                ms = (loop_ms if way == "loop" else
                      _median_ms(lambda: run(tensors, arguments), options.min_run_time))
                difference = (run(tensors, arguments) - looped).abs().max().item()
                print(f"| {name} | {way} | {ms:.3f} | {ms / loop_ms:.2f} | {difference:.2g} |")


if __name__ == "__main__":
    main()
