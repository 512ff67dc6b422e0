"""pytest plumbing: the suite's options, the implementation under test, profiles.

Options (see ``pytest --help``, group "conv2d conformance"):
  --conv2d-impl=MODULE:ATTR   the conv2d under test (default F.conv2d)
"""

import pytest
from hypothesis import settings

from suite import profiles
from suite.device import DEVICES, DeviceError, check_device
from suite.implementation import DEFAULT, ImplementationError, load_implementation
from suite.verdict import Tolerance

profiles.register_profiles()
settings.load_profile(profiles.default_profile())


def pytest_addoption(parser):
    group = parser.getgroup("conv2d conformance")
    group.addoption("--conv2d-impl", default=DEFAULT, metavar="MODULE:ATTR",
                    help=f"the conv2d callable under test (default: {DEFAULT})")
    group.addoption("--device", default="cpu", choices=DEVICES,
                    help="where the implementation runs; the reference always runs on "
                         "the CPU (default: cpu)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    profile = config.getoption("hypothesis_profile", None)
    if profile is not None and profile not in profiles.PROFILES:
        raise pytest.UsageError(
            f"--hypothesis-profile={profile!r}: unknown; choose one of {', '.join(profiles.PROFILES)}")
    try:
        config.conv2d_impl = load_implementation(config.getoption("conv2d_impl"))
        check_device(config.getoption("device"))
    except (ImplementationError, DeviceError) as error:
        raise pytest.UsageError(str(error)) from None


def pytest_report_header(config):
    import torch
    lines = [f"conv2d under test: {config.getoption('conv2d_impl')}",
             f"torch {torch.__version__} (debug={torch.version.debug}, cuda={torch.version.cuda}), "
             f"mkldnn available={torch.backends.mkldnn.is_available()} "
             f"enabled={torch.backends.mkldnn.enabled}, "
             f"cudnn available={torch.backends.cudnn.is_available()}",
             f"hypothesis profile: {settings.get_current_profile_name()}"]
    return lines


@pytest.fixture(scope="session")
def conv2d(pytestconfig):
    """The implementation under test; every property calls this, never F.conv2d."""
    return pytestconfig.conv2d_impl


@pytest.fixture(scope="session")
def device(pytestconfig):
    """Where the implementation's tensors live ("cpu", "cuda", "mps")."""
    return pytestconfig.getoption("device")


@pytest.fixture(scope="session")
def tolerance():
    """The error model a correct implementation is held to (strict: any summation order)."""
    return Tolerance()
