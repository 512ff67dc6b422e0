"""conv2d gives the same values whichever backend the device picks for it.

On the CPU float32 (and bfloat16 where the CPU supports it) goes to oneDNN
(mkldnn); with oneDNN disabled it takes torch's own slow path.  On CUDA the
switch is cuDNN.  Both paths must agree: bitwise on exact-tier data, within
twice the rounding bound on float-tier data (each is within the bound of the
exact result; they round differently, so not bitwise).

One path is a fast algorithm: with oneDNN disabled torch sends float32 calls
with a batch of 16 or more (no dilation, kernel sides under 17, padding under
the kernel) to NNPACK, whose 3x3 kernels are Winograd F(6x6, 3x3) and whose
other kernels are FFTs of 8x8 or 16x16 tiles (nnp_convolution_output's
automatic choice).  Those round normwise, not per product: measured on torch
2.13.0, exact-tier integers come back off by up to 128 u*M (a 1x1 kernel on an
8x8 map), float-tier data stay within 0.16 of the transform model's bound.
Where torch's dispatcher picks NNPACK for the disabled call, that call is held
to the transform error model's bound of the reference instead
(``ErrorModel("transform")``: the FFT bound over the whole plane bounds an FFT
over any tile of it), which still fails any wrong term by orders of magnitude.
"""

from hypothesis import example, given

from case import parse
from strategies import conv2d_cases
from suite.backends import conv_backend
from suite.device import without_vendor_library
from suite.judge import against_reference, agreement, as_numpy, output_of, require
from suite.properties import conformance
from suite.run import run

# torch's CPU backends that compute with fast (Winograd, FFT) algorithms.
FAST_ALGORITHM_BACKENDS = ("NnpackSpatial",)


# Where torch picks NNPACK with oneDNN off, whatever the draw reaches: a 3x3 kernel
# (Winograd F(6x6, 3x3)) and a 1x5 one on channels_last (8x8 FFT tiles).
NNPACK = ["in16x3x8x8:w4x3x3x3:b4:s1:p1:d1:g1:float32:contiguous:exact:seed0",
          "in17x2x9x7:w3x2x1x5:s1:p(0,2):d1:g1:float32:channels_last:float:seed1"]


@conformance("backends.vendor_library_off")
@given(case=conv2d_cases(dtypes=("float32", "bfloat16")))
@example(case=parse(NNPACK[0]))
@example(case=parse(NNPACK[1]))
def test_disabling_onednn_or_cudnn_leaves_the_values_unchanged(conv2d, device, model, case):
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    on = run(conv2d, case, tensors)
    enabled = output_of(case, on)
    with without_vendor_library(device):
        backend = conv_backend(*tensors, **case.arguments)
        off = run(conv2d, case, tensors)
    disabled = output_of(case, off)
    name = f"out with the {device} vendor library (oneDNN/cuDNN) disabled"
    if backend in FAST_ALGORITHM_BACKENDS:
        require(against_reference(case, disabled, arrays, model.with_fast_algorithms(),
                                  name=f"{name} (torch's {backend}, a fast algorithm)",
                                  environment=off.environment))
        return
    # either result may be the wrong one: the registry may explain it for either backend
    require(agreement(case, disabled, as_numpy(enabled), arrays, model, name=name,
                      source=f"out with the {device} vendor library (oneDNN/cuDNN) enabled",
                      environment=off.environment, environments=(on.environment,)))
