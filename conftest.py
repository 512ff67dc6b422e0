"""pytest plumbing: the suite's options, the implementation under test, profiles.

Options (see ``pytest --help``, group "conv2d conformance"):
  --conv2d-impl, --conv2d-error-model, --conv2d-domain, --conv2d-deviations,
  --device, --torch-threads, --conv2d-call-timeout and the backend flags
                              what is under test and how it runs: defined once
                              in suite/options.py (replay and drift take them too)
  --conv2d-summary=PATH       a markdown summary of the run
  --conv2d-properties, --conv2d-outcomes
                              run chosen properties by id (suite/properties.py)

Before any property runs, every entry of the registry of torch's known
behaviour is rechecked against the implementation (suite/recheck.py).
"""

import pytest
from hypothesis import settings

from suite import (coverage, crashes, options, profiles, properties, recheck, registry, replay,
                   summary)
from suite.device import describe_flags
from suite.torch_calls import computes_with_torch

# --example-db: which example database Hypothesis uses (local, a directory,
# Redis, a GitHub artifact), read-only for derandomised profiles: suite/example_db.py.
pytest_plugins = ["suite.example_db"]

profiles.register_profiles()
settings.load_profile(profiles.default_profile())


def pytest_addoption(parser):
    group = parser.getgroup("conv2d conformance")
    options.add_to_pytest(group)
    group.addoption("--conv2d-summary", default=None, metavar="PATH",
                    help="write a markdown summary (per property family, the registry of "
                         "torch's known behaviour, environment) to PATH, e.g. "
                         "$GITHUB_STEP_SUMMARY")
    properties.add_options(group)
    coverage.add_options(group)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", f"{properties.MARK}(id): a conformance property and "
                                       f"its stable id (suite/properties.py)")
    config.addinivalue_line("markers", f"{properties.CLAIMS_MARK}(*claims): what a property is "
                                       f"about beyond values (case/domain.py Claims)")
    profile = config.getoption("hypothesis_profile", None)
    if profile is not None and profile not in profiles.PROFILES:
        raise pytest.UsageError(
            f"--hypothesis-profile={profile!r}: unknown; choose one of {', '.join(profiles.PROFILES)}")
    try:
        setup = options.configure(config.getoption)
    except options.UsageError as error:
        raise pytest.UsageError(str(error)) from None
    config.conv2d_domain, config.error_model = setup.domain, setup.model
    try:
        plugin = recheck.RegistryPlugin(config, options.values(config.getoption),
                                        deviations=setup.deviations)
    except registry.RegistryError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(plugin, "conv2d-registry")
    # Whether the implementation hands its calls to torch: as it declares, for findings
    # that cannot tell (suite/registry.py); probed on a plain call for the kernel-coverage
    # report (suite/coverage.py), after the registry's forks, which must start from a
    # process that made no call.
    plugin.registry.uses_torch = getattr(setup.conv2d, "uses_torch", True)
    config.conv2d_impl = coverage.observing(setup.conv2d,
                                            classify=computes_with_torch(setup.conv2d))
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
