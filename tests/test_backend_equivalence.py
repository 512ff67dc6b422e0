"""conv2d gives the same values whichever backend the device picks for it.

On the CPU float32 (and bfloat16 where the CPU supports it) goes to oneDNN
(mkldnn); with oneDNN disabled it takes torch's own slow path.  On CUDA the
switch is cuDNN.  Both paths must agree: bitwise on exact-tier data, within
twice the rounding bound on float-tier data (each is within the bound of the
exact result; they round differently, so not bitwise).
"""

from hypothesis import given

from strategies import conv2d_cases
from suite.device import without_vendor_library
from suite.judge import agreement, as_numpy, output_of, require
from suite.properties import conformance
from suite.run import run


@conformance("backends.vendor_library_off")
@given(case=conv2d_cases(dtypes=("float32", "bfloat16")))
def test_disabling_onednn_or_cudnn_leaves_the_values_unchanged(conv2d, device, model, case):
    arrays = case.arrays()
    tensors = case.tensors(arrays, device=device)
    on = run(conv2d, case, tensors)
    enabled = output_of(case, on)
    with without_vendor_library(device):
        off = run(conv2d, case, tensors)
    disabled = output_of(case, off)
    # either result may be the wrong one: the registry may explain it for either backend
    require(agreement(case, disabled, as_numpy(enabled), arrays, model,
                      source=f"out with the {device} vendor library (oneDNN/cuDNN) enabled",
                      environment=off.environment, environments=(on.environment,)))
