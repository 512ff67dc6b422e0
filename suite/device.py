"""The device the implementation under test runs on (``--device``), and its flags."""

import contextlib

DEVICES = ("cpu", "cuda", "mps")


class DeviceError(ValueError):
    """--device names a device this machine does not have."""


def check_device(name):
    """Refuse a device that is not present, rather than skip every test."""
    import torch
    present = {"cpu": True, "cuda": torch.cuda.is_available(),
               "mps": getattr(torch.backends, "mps", None) is not None
               and torch.backends.mps.is_available()}
    if not present[name]:
        raise DeviceError(f"--device={name}: no {name} device is available to torch "
                          f"{torch.__version__} on this machine")


# Backend flags the suite sets explicitly, so a run never depends on torch's
# defaults (TF32 is on by default for CUDA convolutions): option -> default.
SWITCHES = ("on", "off")
FLAG_DEFAULTS = {"allow_tf32": "off", "cudnn_benchmark": "off", "cudnn_deterministic": "on"}
FLAG_HELP = {
    "allow_tf32": "let CUDA convolutions and matmuls round float32 operands to TF32; the "
                  "tolerance then adds 2*2^-11*M",
    "cudnn_benchmark": "let cuDNN time its algorithms and pick the fastest",
    "cudnn_deterministic": "restrict cuDNN to deterministic algorithms",
}


def flags(config):
    """The backend flags the options ask for, as booleans by option name."""
    return {name: config.getoption(name) == "on" for name in FLAG_DEFAULTS}


def apply_flags(config):
    """Set torch's global backend flags from the options (in every xdist worker)."""
    import torch
    chosen = flags(config)
    torch.backends.cudnn.allow_tf32 = chosen["allow_tf32"]
    torch.backends.cuda.matmul.allow_tf32 = chosen["allow_tf32"]
    torch.backends.cudnn.benchmark = chosen["cudnn_benchmark"]
    torch.backends.cudnn.deterministic = chosen["cudnn_deterministic"]


def tf32_in_effect(config):
    """TF32 rounds float32 operands only on a CUDA device, and only when allowed."""
    return config.getoption("device") == "cuda" and flags(config)["allow_tf32"]


def describe_flags(config):
    """The report-header line: the device and every flag as torch now has it."""
    import torch
    device = config.getoption("device")
    line = (f"device: {device}; TF32 conv={_switch(torch.backends.cudnn.allow_tf32)} "
            f"matmul={_switch(torch.backends.cuda.matmul.allow_tf32)} "
            f"(in effect: {_switch(tf32_in_effect(config))}); cuDNN "
            f"benchmark={_switch(torch.backends.cudnn.benchmark)} "
            f"deterministic={_switch(torch.backends.cudnn.deterministic)}")
    if device == "cuda":
        line += (f"; {torch.cuda.get_device_name()}, cuDNN {torch.backends.cudnn.version()}")
    return line


def _switch(value):
    return "on" if value else "off"


@contextlib.contextmanager
def without_vendor_library(device):
    """Within it, conv2d cannot use the device's vendor library: oneDNN on the
    CPU, cuDNN on CUDA, other flags untouched; MPS has no such switch.

    (``torch.backends.mkldnn.flags`` would also set oneDNN's TF32 flag and warn.)
    """
    import torch
    backend = {"cpu": torch.backends.mkldnn, "cuda": torch.backends.cudnn}.get(device)
    if backend is None:
        yield
        return
    before = backend.enabled
    backend.enabled = False
    try:
        yield
    finally:
        backend.enabled = before
