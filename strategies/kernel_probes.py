"""Calls that pick a kernel family of their own, run by a property every time.

oneDNN picks its backward-data kernel from a conjunction of the call's
features (ONEDNN_VERBOSE, torch 2.13.0, oneDNN 3.12, on avx512_core_bf16 and
on AMX machines): the dtype (float32, bfloat16), the memory format (NCHW
goes to ``jit`` / ``jit_bf16``, NHWC to ``brg_conv_bwd``), a 1x1 kernel
(``*_1x1``), a stride past 1 (``brgconv_strided``) and one filter per
channel (``jit_dw``).  The size regimes draw such conjunctions, but a
derandomised run gives each gradient property some 60 examples, the first
of them Hypothesis's smallest: on a clean clone (2026-12-01, AMD EPYC with
avx512_bf16) the default run missed three of the 31 pairs the real
networks reach there (backward_data ``jit_bf16``, ``jit_bf16_1x1`` and
``brg_conv_bwd`` float32), although random searches of the same properties
reach them (bench/kernel_reach.py).  ``PROBES``, one per (dtype, memory
format, kernel form), are explicit examples of the exact gradient property,
so every run reaches each family by construction, whatever the draw; they
are cheap (at most 8 channels, 7x7 maps).

``FAST_ALGORITHM_PROBES`` do the same for the forward properties and the
calls a Winograd or FFT kernel computes by its transforms (3x3, stride 1, no
dilation), which the size regimes' draws had stopped reaching: a 7x7 output
(F(4x4, 3x3): one whole tile and a partial one) on integer data, and a
single product that any summation order computes exactly but a transform
rounds (found by ``hypothesis.find`` against implementations.transform's
``winograd_f2x3``, which is bitwise exact on integer data).
"""

from hypothesis import example

from case import parse

# (input, weight, bias, stride, padding, dilation, groups) of each kernel form.
FORMS = {
    "3x3": "in2x8x5x5:w8x8x3x3:s1:p1:d1:g1",
    "1x1": "in2x8x4x4:w8x8x1x1:b8:s1:p0:d1:g1",
    "3x3 strided": "in2x8x7x7:w8x8x3x3:s2:p1:d1:g1",
    "1x1 strided": "in2x8x6x6:w8x8x1x1:s2:p0:d1:g1",
    "depthwise": "in2x8x5x5:w8x1x3x3:s1:p1:d1:g8",
    "depthwise strided": "in2x8x7x7:w8x1x3x3:s2:p1:d1:g8",
}
DTYPES = ("float32", "bfloat16")  # the dtypes oneDNN's convolution kernels serve on the CPU
LAYOUTS = ("contiguous", "channels_last")  # NCHW and NHWC kernels

PROBES = tuple(f"{form}:{dtype}:{layout}:exact:seed0"
               for dtype in DTYPES for layout in LAYOUTS for form in FORMS.values())


FAST_ALGORITHM_PROBES = {
    "exact": ("in1x2x9x9:w2x2x3x3:s1:p0:d1:g1:float32:contiguous:exact:seed0",),
    "float": ("in2x2x3x5:w1x2x3x3:s1:p0:d1:g1:float32:channels_last:float:seed0:input(0=1):"
              "weight(none,0=1)",),
}


def with_probes(descriptors):
    """A decorator: the property over ``case`` with each descriptor as an explicit example."""
    def decorate(test):
        for descriptor in reversed(descriptors):
            test = example(case=parse(descriptor))(test)
        return test
    return decorate


with_kernel_probes = with_probes(PROBES)
