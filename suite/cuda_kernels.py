"""CUDA's side of the kernel-coverage report: cuDNN's state and the kernels launched.

torch does not say which cuDNN engine it ran; the names of the kernels a
profiler sees do.  Without CUDA both report nothing.
"""

import collections
import contextlib
import os
import re

import torch

def cuda_state():
    """[(name, value)] of cuDNN facts and flags torch exposes (empty without CUDA)."""
    try:
        if not torch.cuda.is_available():
            return []
        cudnn = torch.backends.cudnn
        return [("device", torch.cuda.get_device_name()),
                ("CUDA / cuDNN", f"{torch.version.cuda} / {cudnn.version()}"),
                ("cuDNN enabled / benchmark / deterministic / allow_tf32",
                 f"{cudnn.enabled} / {cudnn.benchmark} / {cudnn.deterministic} / "
                 f"{cudnn.allow_tf32}"),
                ("cuDNN v8 plan cache (TORCH_CUDNN_V8_API_LRU_CACHE_LIMIT)",
                 os.environ.get("TORCH_CUDNN_V8_API_LRU_CACHE_LIMIT", "default (10000)"))]
    except Exception:  # noqa: BLE001
        return []


_CUDA_CONV_KERNEL = re.compile(r"conv|fprop|dgrad|wgrad|winograd|fft|implicit|xmma|cudnn|"
                               r"im2col|gemm", re.IGNORECASE)


class CudaKernelCapture:
    """Names of the CUDA kernels launched during a test, by torch.profiler (opt-in).

    torch does not say which cuDNN engine it ran; the kernel names do (cuDNN's
    kernels carry the algorithm: ``implicit_convolve_sgemm``, ``winograd``,
    ``fft``, ``xmma_fprop``/``dgrad``/``wgrad``, ...).  Starting a profiler per
    test costs milliseconds, so this runs only with ``--kernel-coverage=profile``."""

    def __init__(self):
        self._profiler = None

    def start(self):
        with contextlib.suppress(Exception):
            self._profiler = torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CUDA])
            self._profiler.__enter__()

    def stop(self):
        names = collections.Counter()
        profiler, self._profiler = self._profiler, None
        if profiler is None:
            return names
        try:
            profiler.__exit__(None, None, None)
            for event in profiler.events():
                if str(getattr(event, "device_type", "")).endswith("CUDA") and \
                        _CUDA_CONV_KERNEL.search(event.name):
                    names[event.name] += 1
        except Exception:  # noqa: BLE001
            pass
        return names
