"""F.conv2d on CPU segfaults for a contiguous float16 call whose output columns
all read only padding (oneDNN BRGEMM convolution).

Symptom: the process dies with SIGSEGV in
dnnl::impl::cpu::x64::brgemm_convolution_fwd_t<...>::perform_outwork.  On a CPU
with AVX512-FP16, torch sends float16 convolutions to oneDNN (the backend is
Mkldnn, not a slow path), and oneDNN runs them in NHWC (acdb) even for a
contiguous input.  That makes this the same oneDNN bug as the channels_last
crash (uxlfoundation/oneDNN#5942, fixed by #5944, backported to oneDNN 3.12
and 3.13; first reported as pytorch/pytorch#195394).  Disabling oneDNN avoids it.

Condition (as measured on torch 2.13.0 and 2.14.1, 1 or 2 threads): float16,
oneDNN enabled, batch != 0 (3-D input counts as batch 1), every output column
reads only padding, at least 2 output columns, dilation_w > 1, stride_w > 1, and
at least one output row reads the input.  In that region only some width
settings crash (which ones depends on oneDNN's kernel-range arithmetic, e.g.
width 1, kernel_w 1, stride_w 2, padding_w 1, dilation_w 2 or 3, but not 1).
Channels, groups, bias and layout do not change the result.  Output column j
"reads only padding" when every tap j*stride_w + t*dilation_w (t in
range(kernel_w)), counted in the padded input, is < padding_w or
>= padding_w + width.  On torch 2.2 and 2.5 the width settings differ
(dilation_w 1 crashes too) and a call crashes only when no output row reads
only padding.  torch 2.15.0 returns the correct result.

Each call runs in a child process, since a crash cannot be caught: the call
the suite found (crashes on 2.13 and 2.14), a call without padding rows that
crashes on 2.2 and 2.5 as well, and the suite's call with oneDNN disabled, as a
control.  Every output column reads only padding and there is no bias, so the
correct output is all zeros.

Exit status: 1 if the oneDNN call crashes or returns wrong values, 0 otherwise.
"""
import subprocess
import sys

CHILD = r"""
import ast, sys, torch, torch.nn.functional as F
torch.manual_seed(0)
torch.set_num_threads(1)
height, stride, padding, dilation = ast.literal_eval(sys.argv[2])
x = torch.randn(1, 2, height, 1, dtype=torch.float16)
w = torch.randn(2, 2, 1, 1, dtype=torch.float16)
with torch.backends.mkldnn.flags(enabled=sys.argv[1] == "on"):
    try:
        backend = torch._C._select_conv_backend(x, w, None, list(stride), list(padding),
                                                list(dilation), False, [0, 0], 1, None)
    except Exception:  # private API: other torch versions spell it differently
        backend = "?"
    print("backend", backend, flush=True)
    try:
        y = F.conv2d(x, w, None, stride, padding, dilation)
    except Exception as error:  # e.g. older torch has no float16 conv on CPU
        print("raised", type(error).__name__, str(error)[:100])
        sys.exit(0)
print("returned", tuple(y.shape), "max |y| =", y.abs().max().item())
sys.exit(0 if bool((y == 0).all()) else 3)
"""

# (input height, stride, padding, dilation); input (1,2,H,1), weight (2,2,1,1), no bias
SUITE_CALL = (5, (2, 2), (2, 1), (2, 2))  # the call the suite found: crashes on 2.13, 2.14
EVERY_VERSION = (3, (1, 2), (0, 1), (1, 2))  # no output row in the padding: also 2.2, 2.5
CALLS = [("on", SUITE_CALL), ("on", EVERY_VERSION), ("off", SUITE_CALL)]


def run(onednn, call):
    child = subprocess.run([sys.executable, "-c", CHILD, onednn, repr(call)],
                           capture_output=True, text=True)
    said = " | ".join(line for line in child.stdout.splitlines() if line)
    if child.returncode < 0:
        return True, f"CRASHED with signal {-child.returncode} ({said})"
    if child.returncode == 3:
        return True, f"WRONG VALUES, expected all zeros ({said})"
    if child.returncode != 0:
        return True, f"child failed (exit {child.returncode}): {child.stderr.strip()[-200:]}"
    return False, f"ok ({said})"


def main():
    import torch
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "?")()
    print("torch", torch.__version__, "| cpu capability", capability)
    print("F.conv2d(x (1,2,H,1) float16 contiguous, w (2,2,1,1), no bias): width 1 padded by 1"
          " on each side, stride_w 2, so every output column reads only padding")
    bad = False
    for onednn, call in CALLS:
        failed, verdict = run(onednn, call)
        if onednn == "on":
            bad |= failed
        height, stride, padding, dilation = call
        print(f"  oneDNN {onednn:3s} H={height} stride={stride} padding={padding}"
              f" dilation={dilation}: {verdict}" + (" (control)" if onednn == "off" else ""))
    print("BUG PRESENT" if bad else "torch is correct")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
