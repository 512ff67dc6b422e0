"""The device the implementation under test runs on (``--device``)."""

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
