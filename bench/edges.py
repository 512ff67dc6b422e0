"""What torch's CPU conv2d does at the edges of the number range, per dtype and backend.

Each probe is one tiny call whose exact answer is known: subnormal inputs,
weights, biases, products and results (kept, or flushed to zero?), results
past the largest float16/bfloat16 (inf?), float32 partial sums that overflow
in one order and not another, and the sign of zero results.  Probes run on
a small problem (which torch sends to its slow path even for float32) and a
larger one (oneDNN where enabled), with oneDNN on and off; the backend torch
picked is printed with each row.  Run:

    python -m bench.edges
"""

import math
import warnings

import torch
import torch.nn.functional as F

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
          "bfloat16": torch.bfloat16}
# (batch, channels, out_channels, kernel, size, channels_last)
SHAPES = {"1x1 conv of 1 channel": (1, 1, 1, 1, 3, False),
          "3x3 conv, 4 -> 4 channels": (2, 4, 4, 3, 8, False),
          "3x3 conv, 16 -> 16, channels_last": (2, 16, 16, 3, 12, True)}


def _backend(x, w, b):
    chosen = torch._C._select_conv_backend(x, w, b, [1, 1], [0, 0], [1, 1], False, [0, 0], 1,
                                           None)
    return str(chosen).split(".")[-1].split(":")[0]


def probe(dtype, shape, inputs, weights, bias=None):
    """out[0, 0, 0, 0] of a call whose first window holds ``inputs`` (one per channel,
    at the window's first tap) under ``weights``; other taps and channels are zero."""
    batch, channels, out_channels, kernel, size, channels_last = shape
    channels = max(channels, len(inputs))
    x = torch.zeros(batch, channels, size, size, dtype=torch.float64)
    w = torch.zeros(out_channels, channels, kernel, kernel, dtype=torch.float64)
    for c, (value, tap) in enumerate(zip(inputs, weights)):
        x[:, c, 0, 0], w[:, c, 0, 0] = value, tap
    x, w = x.to(dtype), w.to(dtype)
    b = None if bias is None else torch.full((out_channels,), bias, dtype=torch.float64).to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return F.conv2d(x, w, b)[0, 0, 0, 0].item(), _backend(x, w, b)


def subnormal_probes(name):
    info = torch.finfo(DTYPES[name])
    tiny, normal = info.smallest_normal * info.eps, info.smallest_normal  # smallest subnormal
    half = 2.0 ** (round(math.log2(normal)) // 2)
    return {"subnormal input": ([3 * tiny], [1.0], None, 3 * tiny),
            "subnormal weight": ([1.0], [3 * tiny], None, 3 * tiny),
            "subnormal input, large weight": ([normal / 16], [1024.0], None, normal * 64),
            "normal inputs, subnormal product": ([half], [1.5 * half / 4], None, 1.5 * half * half / 4),
            "subnormal bias": ([0.0], [1.0], 3 * tiny, 3 * tiny)}


def overflow_probes(name):
    top = 2.0 ** 127 if name == "float32" else 2.0 ** 1023
    if name == "float16":
        return {"sum 70016 (past 65519.99)": ([35008.0], [2.0], None),
                "sum 65519": ([65504.0, 15.0], [1.0, 1.0], None),
                "sum 65520": ([65504.0, 16.0], [1.0, 1.0], None),
                "70016 + bias -10000": ([35008.0], [2.0], -10000.0),
                "40000 + 40000 - 40000": ([40000.0, 40000.0, -40000.0], [1.0] * 3, None)}
    if name == "bfloat16":
        largest = torch.finfo(torch.bfloat16).max
        return {"largest + 1.5 * 2^119 (past bfloat16's threshold, float32 finite)":
                ([largest], [1.0], 1.5 * 2.0 ** 119)}
    return {"a + a - a, a = 2^max": ([top, top, -top], [1.0] * 3, None),
            "a - a + a": ([top, -top, top], [1.0] * 3, None),
            "-a + a + a": ([-top, top, top], [1.0] * 3, None),
            "2a (result past the largest)": ([top, top], [1.0, 1.0], None)}


SIGNED_ZERO_PROBES = {"-0 * 1": ([-0.0], [1.0], None), "-0 * 1 + bias -0": ([-0.0], [1.0], -0.0),
                      "0 * -1 + 0 * -1": ([0.0, 0.0], [-1.0, -1.0], None),
                      "1 * 1 + bias -1": ([1.0], [1.0], -1.0)}


def _shown(value):
    return repr(value) if value != 0 else ("-0.0" if str(value).startswith("-") else "+0.0")


def main():
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, flush_denormal off (torch's default)")
    print("\n## Subnormals: kept (ok) or flushed\n")
    print("| dtype | shape | oneDNN | backend | " + " | ".join(subnormal_probes("float32")) + " |")
    print("|---|---|---|---|" + "---|" * len(subnormal_probes("float32")))
    for name, dtype in DTYPES.items():
        for shape_name, shape in SHAPES.items():
            for onednn in (True, False):
                with torch.backends.mkldnn.flags(enabled=onednn):
                    cells, backends = [], set()
                    for inputs, weights, bias, exact in subnormal_probes(name).values():
                        value, backend = probe(dtype, shape, inputs, weights, bias)
                        backends.add(backend)
                        cells.append("kept" if value == exact else f"{_shown(value)} (flushed)")
                print(f"| {name} | {shape_name} | {'on' if onednn else 'off'} | "
                      f"{'/'.join(sorted(backends))} | " + " | ".join(cells) + " |")
    for title, probes in (("Overflow", overflow_probes), ("Signed zeros",
                                                           lambda name: SIGNED_ZERO_PROBES)):
        print(f"\n## {title}\n")
        print("| dtype | shape | oneDNN | backend | probe | result |")
        print("|---|---|---|---|---|---|")
        for name, dtype in DTYPES.items():
            for probe_name, (inputs, weights, bias) in probes(name).items():
                for shape_name, shape in list(SHAPES.items())[:2]:
                    for onednn in (True, False):
                        with torch.backends.mkldnn.flags(enabled=onednn):
                            value, backend = probe(dtype, shape, inputs, weights, bias)
                        print(f"| {name} | {shape_name} | {'on' if onednn else 'off'} | "
                              f"{backend} | {probe_name} | {_shown(value)} |")


if __name__ == "__main__":
    main()
