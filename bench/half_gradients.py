"""How float16 and bfloat16 gradients are accumulated, measured: the numbers behind
the half-precision gradient tiers of tests/test_gradients.py.

Two measurements per correct implementation (torch with oneDNN on and off,
im2col + einsum, float64 accumulation) and half dtype:

1. Float tier: Hypothesis searches (``target``) for the largest error of each
   gradient against the reference adjoint (float64 from the same half
   values), reported as ``max |error| / (u * M)`` beyond the final rounding
   ``u * |g|``, and as a ratio to two bounds: ``single``, one rounding of a
   float32 sum (``error_bound``, as for the forward), and ``staged``, the
   bound of a sum rounded to the half type in stages
   (reference/staged_sums.py: a term meets 1 + kh*kw roundings in the input
   gradient, 1 + N in the weight gradient, N in the bias gradient).
2. Accumulator: integer data, not thinned, so partial sums exceed 2^p (p the
   half type's significand bits) while many results do not.  An
   implementation that accumulates in float32 and rounds once gets every
   result with ``|g| <= 2^p`` exactly; one that rounds partial sums to the
   half type does not.  Reported: results with ``|g| <= 2^p`` that differ.

    python -m bench.half_gradients [EXAMPLES_PER_CELL]
"""

import sys
import warnings

import numpy as np
import torch
from hypothesis import Phase, given, settings, target

from case.data import SIGNIFICAND_BITS
from reference import UNIT_ROUNDOFF, ErrorModel, grad_bias, grad_input, grad_weight
from reference.rounding import UNDERFLOW
from reference.staged_sums import staged_error_bound
from strategies import conv2d_cases
from suite import registry
from suite.implementation import load_implementation

IMPLEMENTATIONS = {"torch, oneDNN on": ("torch.nn.functional:conv2d", True),
                   "torch, oneDNN off": ("torch.nn.functional:conv2d", False),
                   "im2col + einsum": ("implementations.correct:im2col_matmul", True),
                   "float64 accumulation": ("implementations.correct:accumulating_in_float64",
                                            True)}
NAMES = ("input.grad", "weight.grad", "bias.grad")
SIZES = dict(max_batch=4, max_group_channels=8, max_kernel=5, max_extra=8)


def _crashes(case):
    """Whether a known crash of torch (tests/known_deviations.toml) covers the call."""
    facts = {**case.facts(), "device": "cpu", "onednn": torch.backends.mkldnn.enabled,
             "threads": 1}
    return any(entry.kind == "crash" and entry.condition_holds(facts)
               for entry in registry.load())


def gradients(conv2d, case, arrays, grad_output):
    """{name: float64 gradient} of the implementation."""
    tensors = case.tensors(arrays, requires_grad=True)
    out = case.invoke(conv2d, tensors)
    out.backward(torch.from_numpy(grad_output.astype(np.float32)).to(out.dtype))
    return {name: tensor.grad.double().numpy()
            for name, tensor in zip(NAMES, tensors) if tensor is not None}


def adjoints(case, input, weight, grad_output):
    arguments = case.arguments
    result = {"input.grad": grad_input(grad_output, input.shape, weight, **arguments),
              "weight.grad": grad_weight(grad_output, input, weight.shape, **arguments)}
    if case.has_bias:
        result["bias.grad"] = grad_bias(grad_output)
    return result


def lengths_and_roundings(case):
    """{name: (products per element, roundings to the half type per term)}: a product
    formed in the half type, then kh*kw taps (col2im) or N samples added in it."""
    geometry = case.geometry()
    (out_h, out_w), (kh, kw) = geometry.output_size, geometry.kernel
    batch = max(1, geometry.batch)
    positions = geometry.batch * out_h * out_w
    return {"input.grad": (geometry.out_channels // geometry.groups * kh * kw, 1 + kh * kw),
            "weight.grad": (positions, 1 + batch), "bias.grad": (positions, batch)}


def float_tier(conv2d, dtype, examples):
    """{name: (worst error beyond the final rounding / (u M), worst/single, worst/staged)}."""
    worst = {name: [0.0, 0.0, 0.0, None] for name in NAMES}
    u = UNIT_ROUNDOFF[dtype]

    @settings(max_examples=examples, database=None, deadline=None,
              phases=[Phase.generate, Phase.target])
    @given(case=conv2d_cases(dtypes=(dtype,), tiers=("float",), empty_batch=False, **SIZES))
    def search(case):
        if _crashes(case):
            return
        input, weight, _ = arrays = case.arrays()
        grad_output = case.grad_output(arrays)
        got = gradients(conv2d, case, arrays, grad_output)
        magnitudes = adjoints(case, np.abs(input), np.abs(weight), np.abs(grad_output))
        for name, expected in adjoints(case, input, weight, grad_output).items():
            if not expected.size:
                continue
            error, magnitude = np.abs(got[name] - expected), magnitudes[name]
            length, roundings = lengths_and_roundings(case)[name]
            single = ErrorModel().bound(magnitude, expected, dot_length=length, dtype=dtype)
            staged = staged_error_bound(magnitude, dot_length=length, roundings=roundings,
                                        dtype=dtype)
            with np.errstate(divide="ignore", invalid="ignore"):
                beyond = np.where(magnitude > 0, np.maximum(
                    error - u * np.abs(expected) - UNDERFLOW[dtype], 0) / (u * magnitude), 0)
            ratios = (beyond.max(), (error / single).max(), (error / staged).max())
            target(float(ratios[2]), label=f"{name} error/staged")
            if ratios[2] > worst[name][2]:
                worst[name][3] = str(case)
            for k, ratio in enumerate(ratios):
                worst[name][k] = max(worst[name][k], float(ratio))

    search()
    return worst


def accumulator(conv2d, dtype, cases, rng):
    """(results with |g| <= 2^p that differ, such results) on unthinned integer data."""
    limit = 2.0 ** SIGNIFICAND_BITS[dtype]
    differ = total = 0
    for _ in range(cases):
        n, c, o, k, h = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 5),
                                          rng.integers(1, 5), rng.integers(2, 5),
                                          rng.integers(5, 12)))
        size = 16 if dtype == "bfloat16" else 64  # products beyond 2^p, sums of few of them
        draw = lambda *shape: rng.integers(-size, size + 1, shape).astype(np.float64)  # noqa
        input, weight, bias = draw(n, c, h, h), draw(o, c, k, k), draw(o)
        grad_output = draw(n, o, h - k + 1, h - k + 1)
        tensors = [torch.from_numpy(a.astype(np.float32)).to(getattr(torch, dtype))
                   .requires_grad_() for a in (input, weight, bias)]
        conv2d(*tensors).backward(torch.from_numpy(grad_output.astype(np.float32))
                                  .to(getattr(torch, dtype)))
        expected = (grad_input(grad_output, input.shape, weight),
                    grad_weight(grad_output, input, weight.shape), grad_bias(grad_output))
        for tensor, want in zip(tensors, expected):
            representable = np.abs(want) <= limit
            got = tensor.grad.double().numpy()
            differ += int(np.count_nonzero((got != want) & representable))
            total += int(np.count_nonzero(representable))
    return differ, total


def main(examples=300):
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    rows, accumulators = [], []
    for label, (spec, onednn) in IMPLEMENTATIONS.items():
        conv2d = load_implementation(spec)
        with torch.backends.mkldnn.flags(enabled=onednn):
            for dtype in ("float16", "bfloat16"):
                worst = float_tier(conv2d, dtype, examples)
                for name in NAMES:
                    beyond, single, staged, case = worst[name]
                    rows.append(f"| {label} | {dtype} | {name} | {beyond:.3g} | {single:.3g} "
                                f"| {staged:.3g} | `{case}` |")
                    print(rows[-1], flush=True)
                differ, total = accumulator(conv2d, dtype, 40, np.random.default_rng(0))
                accumulators.append(f"| {label} | {dtype} | {differ} of {total} |")
                print(accumulators[-1], flush=True)
    print("\n| implementation | dtype | gradient | max (error - u|g|)/(u M) | max error/single "
          "| max error/staged | worst case (staged) |\n|---|---|---|---:|---:|---:|---|")
    print("\n".join(rows))
    print("\n| implementation | dtype | results with |g| <= 2^p that differ (unthinned "
          "integers) |\n|---|---|---:|")
    print("\n".join(accumulators))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
