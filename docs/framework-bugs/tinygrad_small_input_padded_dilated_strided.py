"""tinygrad's conv2d raises on a one-pixel input with padding, dilation and stride.

Only its "bad reshape" ValueError is the bug (exit 1); any other error (clang
missing, a device failure) says nothing about it (exit 2, with its traceback).  Device "CPU", as the adapter
(implementations/frameworks/tinygrad.py) uses, not tinygrad's default.
"""
import sys
import traceback

import numpy as np
from tinygrad import Tensor

DEVICE = "CPU"

x = np.ones((1, 4, 1, 1), np.float32)  # one pixel, four channels
w = np.ones((4, 4, 3, 3), np.float32)
try:
    out = Tensor(x, device=DEVICE).conv2d(Tensor(w, device=DEVICE), stride=2, dilation=2,
                                          padding=5).numpy()
except Exception as error:  # noqa: BLE001 - told apart below
    if not (isinstance(error, ValueError) and "bad reshape" in str(error)):
        traceback.print_exc()
        sys.exit(2)
    print(f"raised {type(error).__name__}: {error}")
    sys.exit(1)
print("shape", out.shape)
sys.exit(0)
