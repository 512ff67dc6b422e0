"""pytest plumbing: the suite's options, the implementation under test, profiles.

Options (see ``pytest --help``, group "conv2d conformance"):
  --conv2d-impl=MODULE:ATTR   the conv2d under test (default F.conv2d), or a
                              preset name (implementations/presets.py)
  --torch-threads=N           torch intra-op threads per test process
  --device, --allow-tf32, --cudnn-benchmark, --cudnn-deterministic
                              where it runs and the backend flags set for it
                              (suite/device.py)
  --conv2d-summary=PATH       a markdown summary of the run
  --conv2d-properties, --conv2d-outcomes
                              run chosen properties by id (suite/properties.py)

Before any property runs, every entry of the registry of torch's known
behaviour is rechecked against the implementation (suite/recheck.py).
"""

import argparse

import pytest
from hypothesis import settings

import strategies.domain
import suite.domain
from reference import ErrorModel
from suite import (coverage, crashes, profiles, properties, recheck, registry, replay,
                   shared_recheck, summary)
from suite.device import (DEVICES, DeviceError, add_flag_options, apply_flags, check_device,
                          describe_flags, tf32_in_effect)
from suite.implementation import (DEFAULT, ImplementationError, describe_presets,
                                  load_implementation)

# --example-db: which example database Hypothesis uses (local, a directory,
# Redis, a GitHub artifact), read-only for derandomised profiles: suite/example_db.py.
pytest_plugins = ["suite.example_db"]

profiles.register_profiles()
settings.load_profile(profiles.default_profile())


def _positive_int(text):
    """argparse type: a one-line usage error for anything but an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def pytest_addoption(parser):
    group = parser.getgroup("conv2d conformance")
    group.addoption("--conv2d-impl", default=DEFAULT, metavar="MODULE:ATTR",
                    help=f"the conv2d callable under test (default: {DEFAULT}), or a "
                         f"preset name: {describe_presets()}")
    group.addoption("--torch-threads", default=1, type=_positive_int, metavar="N",
                    help="torch intra-op threads per test process (default: 1, since "
                         "pytest -n auto already runs one process per core; raise it to "
                         "test a kernel's multi-threaded path)")
    group.addoption("--device", default="cpu", choices=DEVICES,
                    help="where the implementation runs; the reference always runs on "
                         "the CPU (default: cpu)")
    add_flag_options(group)
    group.addoption("--conv2d-error-model", default="direct", choices=ErrorModel.KINDS,
                    help="how a correct implementation may round: 'direct' (sums of the "
                         "products in any order: exact data bitwise) or 'transform' (Winograd "
                         "or FFT forward: a normwise bound on both tiers; see the README) "
                         "(default: direct)")
    group.addoption("--conv2d-domain", default=None, metavar="FILE.toml",
                    help="the part of conv2d the implementation claims (dtypes, layouts, groups, "
                         "strides, ...: strategies/domain.py); only calls inside it are drawn "
                         "and made (default: all of conv2d)")
    group.addoption("--conv2d-summary", default=None, metavar="PATH",
                    help="write a markdown summary (per property family, the registry of "
                         "torch's known behaviour, environment) to PATH, e.g. "
                         "$GITHUB_STEP_SUMMARY")
    properties.add_options(group)
    coverage.add_options(group)
    crashes.add_options(group)
    shared_recheck.add_options(group)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", f"{properties.MARK}(id): a conformance property and "
                                       f"its stable id (suite/properties.py)")
    profile = config.getoption("hypothesis_profile", None)
    if profile is not None and profile not in profiles.PROFILES:
        raise pytest.UsageError(
            f"--hypothesis-profile={profile!r}: unknown; choose one of {', '.join(profiles.PROFILES)}")
    import torch
    torch.set_num_threads(config.getoption("torch_threads"))
    try:
        # Every call is observed for the kernel-coverage report (suite/coverage.py).
        config.conv2d_impl = coverage.observing(load_implementation(config.getoption("conv2d_impl")))
        check_device(config.getoption("device"))
    except (ImplementationError, DeviceError) as error:
        raise pytest.UsageError(str(error)) from None
    apply_flags(config)
    try:
        config.conv2d_domain = strategies.domain.activate(
            suite.domain.read(config.getoption("conv2d_domain")))
    except strategies.domain.DomainError as error:
        raise pytest.UsageError(str(error)) from None
    config.error_model = ErrorModel(config.getoption("conv2d_error_model"),
                                    tf32=tf32_in_effect(config))
    try:
        plugin = recheck.RegistryPlugin(config, replay.run_options(config.getoption))
    except registry.RegistryError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(plugin, "conv2d-registry")
    notes = replay.ReplayNotes(config)
    config.pluginmanager.register(notes, "conv2d-replay")
    config.pluginmanager.register(crashes.CrashNames(config, notes), "conv2d-crashes")
    config.pluginmanager.register(summary.SummaryPlugin(config), "conv2d-summary")
    config.pluginmanager.register(properties.PropertyPlugin(config), "conv2d-properties")
    config.pluginmanager.register(coverage.KernelCoveragePlugin(config), "conv2d-kernel-coverage")


def _seed_description(config):
    if settings.default.derandomize:
        return "derandomized (the same examples on every run)"
    seed = config.getoption("hypothesis_seed", None)
    return seed if seed is not None else "random (failures print how to reproduce them)"


def pytest_report_header(config):
    import torch
    excluded = config.conv2d_domain.excluded()
    return [f"conv2d under test: {config.getoption('conv2d_impl')} "
            f"(error model: {config.error_model}; domain: "
            f"{'; '.join(excluded) if excluded else 'all of conv2d'})",
            f"torch {torch.__version__} (debug={torch.version.debug}, cuda={torch.version.cuda}), "
            f"mkldnn available={torch.backends.mkldnn.is_available()} "
            f"enabled={torch.backends.mkldnn.enabled}, "
            f"cudnn available={torch.backends.cudnn.is_available()}, "
            f"intra-op threads={torch.get_num_threads()}",
            describe_flags(config),
            f"hypothesis profile: {settings.get_current_profile_name()}, "
            f"seed: {_seed_description(config)}"]


@pytest.fixture(scope="session")
def conv2d(pytestconfig):
    """The implementation under test; every property calls this, never F.conv2d."""
    return pytestconfig.conv2d_impl


@pytest.fixture(scope="session")
def device(pytestconfig):
    """Where the implementation's tensors live ("cpu", "cuda", "mps")."""
    return pytestconfig.getoption("device")


@pytest.fixture(scope="session")
def model(pytestconfig):
    """The error model a correct implementation is held to (reference.ErrorModel)."""
    return pytestconfig.error_model
