"""torch 2.2.0 on CPU: a depthwise conv2d with an NHWC input and a 1xK kernel, K >= 15,
kills the process, hangs, computes garbage or raises, by K (pytorch#120211, #120547).

oneDNN 3.3.2's depthwise brdgmm kernel (brdgmm_dw) takes these calls: float32 or
bfloat16, one filter per channel, an NHWC-strided input (channels_last, or a
permuted NHWC view, which conv1d of a transposed input gives), kernel height 1
and width >= 15, stride 1, dilation 1.  Measured on torch 2.2.0 (AMD EPYC with
avx512_bf16): SIGFPE at K = 15, a hang at K = 16, wrong values or SIGABRT at K = 31, and
RuntimeError "cannot create std::vector larger than max_size()" at K = 32 on
conv1d's spelling.  torch 2.0.0, 2.5.1, 2.13.0 and 2.15.0 are right.

Each call runs in a child process (a crash cannot be caught; a hang is ended
after 30 s).  Exit status: 1 if any call crashed, hung, raised or was wrong.
"""
import subprocess
import sys

import torch

CHILD = r"""
import sys, torch, torch.nn.functional as F
torch.set_num_threads(1)
width, conv1d = int(sys.argv[1]), sys.argv[2] == 'conv1d'
if conv1d:  # pytorch#120547: (1, 16, 1) transposed, padding 16, groups 16
    x = torch.arange(16.).view(1, 1, 16).transpose(1, 2)
    w = torch.ones(16, 1, width)
    y = F.conv1d(x, w, padding=16, groups=16)
    expected = F.conv1d(x.contiguous(), w, padding=16, groups=16)
else:       # pytorch#120211: (1, 3, 2, width + 1) channels_last, a 1 x width kernel
    x = torch.arange(6. * (width + 1)).view(1, 3, 2, width + 1) % 7
    w = torch.ones(3, 1, 1, width)
    y = F.conv2d(x.contiguous(memory_format=torch.channels_last), w, groups=3)
    expected = F.conv2d(x, w, groups=3)
print('max |out - expected| =', (y - expected).abs().max().item())
sys.exit(0 if torch.equal(y, expected) else 3)
"""
CALLS = [(15, "conv2d"), (16, "conv2d"), (31, "conv2d"), (32, "conv1d")]


def main():
    print("torch", torch.__version__)
    bad = False
    for width, spelling in CALLS:
        try:
            child = subprocess.run([sys.executable, "-c", CHILD, str(width), spelling],
                                   capture_output=True, text=True, timeout=30)
            code, text = child.returncode, (child.stdout + child.stderr).strip()
        except subprocess.TimeoutExpired:
            code, text = None, ""
        verdict = ("HUNG (more than 30 s)" if code is None else f"CRASHED with signal {-code}"
                   if code < 0 else "ok" if code == 0 else "wrong or raised: " + text[-160:])
        bad |= code != 0
        print(f"  {spelling} 1x{width}: {verdict}")
    print("BUG PRESENT" if bad else "torch is correct")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
