"""tinygrad's conv2d raises on a one-pixel input with padding, dilation and stride."""
import sys

import numpy as np
from tinygrad import Tensor

x = np.ones((1, 4, 1, 1), np.float32)  # one pixel, four channels
w = np.ones((4, 4, 3, 3), np.float32)
try:
    out = Tensor(x).conv2d(Tensor(w), stride=2, dilation=2, padding=5).numpy()
except Exception as error:  # noqa: BLE001
    print(f"raised {type(error).__name__}: {error}")
    sys.exit(1)
print("shape", out.shape)
sys.exit(0)
