"""torch's slow CPU path returns a contiguous output for a depthwise conv2d of an NHWC view
whose images are 1x1, where torch's memory-format rule (and its oneDNN path) gives
channels_last.

Input (3, 17, 1, 1) viewed from NHWC storage (strides (17, 1, 17, 17)): it suggests
channels_last, so the output must be channels_last.  A depthwise weight (17, 1, 3, 3),
padding 3: float32 with oneDNN gives channels_last; float32 with oneDNN off, and float64
(always the slow path), give a contiguous output.  A dense weight, or a 3x3 image, gives
channels_last on every path.  Exit 1 while the two paths disagree, 0 when they agree.
Needs torch alone.
"""

import sys

import torch
import torch.nn.functional as F


def output_format(dtype, onednn):
    nhwc = torch.ones((3, 1, 1, 17), dtype=dtype)   # NHWC storage of a batch of 1x1 images
    x = nhwc.permute(0, 3, 1, 2)                      # viewed as (3, 17, 1, 1)
    w = torch.ones((17, 1, 3, 3), dtype=dtype)         # one filter per channel
    with torch.backends.mkldnn.flags(enabled=onednn):
        out = F.conv2d(x, w, None, 1, 3, 1, 17)
    return "channels_last" if out.is_contiguous(memory_format=torch.channels_last) \
        and not out.is_contiguous() else "contiguous"


def main():
    print(f"torch {torch.__version__}")
    answers = {(dtype, onednn): output_format(dtype, onednn)
               for dtype in (torch.float32, torch.float64) for onednn in (True, False)}
    for (dtype, onednn), answer in answers.items():
        print(f"{str(dtype):15} oneDNN {'on ' if onednn else 'off'}: {answer} output")
    disagree = len(set(answers.values())) > 1
    print("BUG PRESENT: the paths disagree" if disagree else "bug absent")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
