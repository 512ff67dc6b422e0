"""Seconds per example of the ``compile`` preset: first call, compiling, warm.

torch.compile's cost is not the convolution but the graphs: a call whose
guards no earlier graph passes is traced, lowered and its C++ kernels built
(inductor turns conv's operands to channels_last with generated copy
kernels around the extern convolution).  This draws the same derandomised
examples a forward and a gradient property draw (``conv2d_cases``, every
dtype and layout; the gradient dtypes) and runs each example's calls,
forward (the judge's check) or forward and backward, through one variant of
the preset, each variant in a fresh process:

- ``dynamic``: the preset (implementations/compiled.py: ``dynamic=True``,
  no duck sizing);
- ``duck``: the same with duck sizing (torch's default);
- ``static``: ``dynamic=False``, one graph per shape.

Each variant runs twice on one inductor cache folder: ``cold`` (an empty
folder, as on a fresh CI machine) and ``warm`` (the folder the cold run
filled: inductor's FX graph cache then skips lowering and the C++ build, not
dynamo's tracing).  Per run it prints the first example (the first compile:
inductor's headers and worker pool), then the median seconds of the examples
that compiled at least one new graph and of those that reused graphs, the
slowest (the first that builds C++: inductor's headers), the graphs per
example, the total and the load average.  Run from the
repository root:

    python -m bench.compile_preset [EXAMPLES] [--variants dynamic,static]

One intra-op thread, as a pytest-xdist worker runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

VARIANTS = {"dynamic": dict(dynamic=True), "duck": dict(dynamic=True, duck_shape=True),
            "static": dict(dynamic=False)}


def _cases(examples, dtypes):
    from hypothesis import HealthCheck, Phase, given, settings

    from strategies import conv2d_cases
    drawn = []

    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=conv2d_cases(dtypes=dtypes))
    def collect(case):
        drawn.append(case)
    collect()
    return drawn


def _forward(conv2d, case):
    from reference import ErrorModel
    from suite.judge import VALUES, check_call
    try:
        check_call(conv2d, case, device="cpu", model=ErrorModel(), checks=VALUES)
    except AssertionError:
        pass  # timed, not judged: a failure costs what a pass costs


def _backward(conv2d, case):
    import torch
    tensors = case.tensors(requires_grad=True)
    out = case.invoke(conv2d, tensors)
    if out.requires_grad:
        out.backward(torch.ones_like(out))


def child(variant, examples):
    """Time every example in this process; print one JSON line of records."""
    import torch
    from torch._dynamo.utils import counters

    from implementations.compiled import compiled_conv2d
    from strategies.problems import VALUE_DTYPES
    torch.set_num_threads(1)
    conv2d = compiled_conv2d(**VARIANTS[variant])
    gradient_dtypes = ("float32", "float64", "complex64", "complex128", "float16", "bfloat16")
    work = ([("forward", _forward, case) for case in _cases(examples, VALUE_DTYPES)]
            + [("gradients", _backward, case) for case in _cases(examples, gradient_dtypes)])
    records = []
    for kind, body, case in work:
        graphs, error = counters["stats"]["unique_graphs"], None
        start = time.perf_counter()
        try:
            body(conv2d, case)
        except Exception as raised:  # an error the compiled graph raises is timed too
            kind += f" ({type(raised).__name__})"
            error = str(raised).strip().splitlines()[:1]
        records.append(dict(kind=kind, seconds=time.perf_counter() - start, error=error,
                            graphs=counters["stats"]["unique_graphs"] - graphs, case=str(case)))
    print(json.dumps(records))


def _run(variant, examples, cache):
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, OPENBLAS_NUM_THREADS="1")
    load = os.getloadavg()[0]
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "bench.compile_preset", "--child", variant,
                             str(examples)], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{variant}: the child failed: {result.stderr.strip().splitlines()[-1:]}")
    records = json.loads(result.stdout.strip().splitlines()[-1])
    return records, time.perf_counter() - start, load, os.getloadavg()[0]


def _median(values):
    return f"{statistics.median(values):.2f}" if values else "-"


def report(variant, state, records, wall, load_before, load_after):
    first, rest = records[0], records[1:]
    compiling = [r["seconds"] for r in rest if r["graphs"]]
    reusing = [r["seconds"] for r in rest if not r["graphs"]]
    graphs = sum(r["graphs"] for r in records)
    errors = sorted({f"{r['kind']}: {r['case']}" for r in records if r["error"] is not None})
    print(f"| {variant} | {state} | {first['seconds']:.1f} | {_median(compiling)} "
          f"({len(compiling)}) | {_median(reusing)} ({len(reusing)}) | "
          f"{max(r['seconds'] for r in records):.1f} | {graphs / len(records):.2f} | "
          f"{sum(r['seconds'] for r in records):.0f} | "
          f"{wall:.0f} | {load_before:.1f}-{load_after:.1f} | {', '.join(errors) or '-'} |",
          flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("examples", nargs="?", type=int, default=20,
                        help="examples per property (default 20)")
    parser.add_argument("--variants", default="dynamic,static")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.examples)
    variants = args.variants.split(",")
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    print(f"{args.examples} forward + {args.examples} gradient examples per run; seconds\n")
    print("| variant | inductor cache | first example | compiling example, median (n) | "
          "reusing example, median (n) | slowest | graphs per example | sum of examples | wall | "
          "load | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for variant in variants:
        with tempfile.TemporaryDirectory(prefix="inductor-") as cache:
            for state in ("cold", "warm"):
                report(variant, state, *_run(variant, args.examples, cache))


if __name__ == "__main__":
    sys.exit(main())
