"""torch.compile(F.conv2d, dynamic=True) cannot build the backward of many
strided conv2d calls.

Symptom: the forward call returns the right values; backpropagating through
it raises torch._inductor.exc.InductorError while inductor lowers the
backward graph ("LoweringException: ValueRangeError: Invalid ranges [0:-1]",
or "ValueError: Exponent must be non-negative." for stride 3).  dynamic=None
(torch's default: the first call is compiled for its static shape) and
eager mode are correct.

Condition, as far as measured (torch 2.13.0+cpu, 2x8xHxW input, 8 filters,
float32 and bfloat16, NCHW and NHWC, duck sizing on or off alike): dynamic
shapes, a backward pass, a stride past 1.  Raise: 1x1 stride 2 on 6x6, 3x3
stride 2 padding 1 on 6x6 and on 7x7, depthwise 3x3 stride 2 padding 1 on
7x7, 1x1 stride 3 on 6x6.  Correct: every stride-1 call measured, 2x2 stride 2
on 6x6, 3x3 stride 2 unpadded on 7x7, 1x1 stride (1, 2) on 6x6.  Not narrowed
further.  Found by the conv2d conformance suite's compile preset
(tests/test_gradients.py: 12 of its 24 kernel probes, all the strided ones).

Expected values: eager F.conv2d's gradients (the suite checks those against
its NumPy reference on every run).
Exit status: 1 while the bug is present, 0 when torch is correct.
"""
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
CALLS = [  # (input side, kernel side, stride, padding): two that raise, two that do not
    (6, 1, 2, 0), (7, 3, 2, 1), (7, 3, 2, 0), (6, 2, 2, 0)]


def gradients(conv2d, side, kernel, stride, padding):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, side, side, generator=g, requires_grad=True)
    w = torch.randn(8, 8, kernel, kernel, generator=g, requires_grad=True)
    out = conv2d(x, w, None, stride, padding)
    out.backward(torch.ones_like(out))
    return x.grad, w.grad


print("torch", torch.__version__)
ok = True
for side, kernel, stride, padding in CALLS:
    torch._dynamo.reset()
    compiled = torch.compile(F.conv2d, dynamic=True)
    label = f"input 2x8x{side}x{side}, kernel {kernel}x{kernel}, stride {stride}, padding {padding}"
    expected = gradients(F.conv2d, side, kernel, stride, padding)
    try:
        actual = gradients(compiled, side, kernel, stride, padding)
    except Exception as error:  # noqa: BLE001 - the bug is an exception from inductor
        print(f"{label}: RAISED {type(error).__name__}: {str(error).splitlines()[0][:120]}")
        ok = False
        continue
    same = all(torch.allclose(a, e, rtol=1e-5, atol=1e-5) for a, e in zip(actual, expected))
    print(f"{label}: {'gradients match eager' if same else 'gradients DIFFER from eager'}")
    ok &= same
print("torch is correct" if ok else "BUG PRESENT")
sys.exit(0 if ok else 1)
