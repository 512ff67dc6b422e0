"""The suite's device and backend options do what they say, on any machine.

``--device`` refuses a device torch does not have (one line, usage error)
rather than skipping everything; ``--allow-tf32``, ``--cudnn-benchmark`` and
``--cudnn-deterministic`` are set in torch and shown in the report header;
the tolerance counts TF32 only where it rounds (float32 on CUDA); preset
names load.  Checked on the CPU, since CI has no GPU.
"""

import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import reference
from suite.device import DEVICES, apply_flags, describe_flags, tf32_in_effect
from suite.implementation import PRESETS, ImplementationError, load_implementation

ROOT = Path(__file__).resolve().parent.parent


def _pytest(*options):
    """Collect one small test file with ``options``; (exit code, stdout + stderr)."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
               "--co", *options, "tests/test_side_effects.py"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def _absent_device():
    present = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    return next((name for name in DEVICES if name in present and not present[name]), None)


def test_a_device_this_machine_lacks_is_a_one_line_usage_error():
    absent = _absent_device()
    if absent is None:
        pytest.skip("every device the option knows is present on this machine")
    code, output = _pytest("-q", f"--device={absent}")
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert code == pytest.ExitCode.USAGE_ERROR and len(errors) == 1 and absent in errors[0], (
        f"exit code {code}, error lines {errors}, but should be a usage error "
        f"({int(pytest.ExitCode.USAGE_ERROR)}) in one line naming {absent} "
        f"[pytest --device={absent}]\n{output[-2000:]}")


def test_the_backend_flag_options_are_set_in_torch_and_shown_in_the_report_header(pytestconfig):
    flags = [(torch.backends.cudnn, "allow_tf32"), (torch.backends.cuda.matmul, "allow_tf32"),
             (torch.backends.cudnn, "benchmark"), (torch.backends.cudnn, "deterministic")]
    before = [getattr(owner, name) for owner, name in flags]
    options = {"device": "cpu", "allow_tf32": "on", "cudnn_benchmark": "on",
               "cudnn_deterministic": "off"}
    try:
        apply_flags(types.SimpleNamespace(getoption=options.__getitem__))
        observed = [getattr(owner, name) for owner, name in flags]
    finally:
        for (owner, name), value in zip(flags, before):
            setattr(owner, name, value)
    assert observed == [True, True, True, False], (
        f"torch flags (cudnn TF32, matmul TF32, benchmark, deterministic) = {observed}, but "
        f"should be [True, True, True, False] [--allow-tf32=on --cudnn-benchmark=on "
        f"--cudnn-deterministic=off]")
    header = [line for lines in pytestconfig.hook.pytest_report_header(
        config=pytestconfig, start_path=pytestconfig.rootpath) for line in lines]
    assert describe_flags(pytestconfig) in header, (
        f"the report header {header} lacks {describe_flags(pytestconfig)!r}, but should show "
        f"this session's device and backend flags")


@pytest.mark.parametrize("device, allowed, expected", [
    ("cpu", "on", False), ("mps", "on", False), ("cuda", "off", False), ("cuda", "on", True)])
def test_tf32_is_in_effect_only_on_cuda_when_allowed(device, allowed, expected):
    options = {"device": device, "allow_tf32": allowed, "cudnn_benchmark": "off",
               "cudnn_deterministic": "on"}
    config = types.SimpleNamespace(getoption=options.__getitem__)
    assert tf32_in_effect(config) is expected, (
        f"tf32_in_effect={not expected}, but should be {expected} "
        f"[--device={device} --allow-tf32={allowed}]")


@pytest.mark.parametrize("dtype, widened", [("float32", True), ("complex64", True),
                                            ("float64", False), ("float16", False)])
def test_tf32_widens_the_bound_by_its_operand_rounding_for_float32_only(dtype, widened):
    magnitude, exact = np.array([1.0, 3.0, 0.0]), np.array([0.5, -2.0, 0.0])
    without, with_tf32 = (reference.error_bound(magnitude, exact, dot_length=9, dtype=dtype,
                                                tf32=tf32) for tf32 in (False, True))
    expected = (2 * 2.0**-11 + 2.0**-22) * magnitude if widened else np.zeros(3)
    assert np.allclose(with_tf32 - without, expected, rtol=1e-12, atol=0), (
        f"TF32 adds {with_tf32 - without} to the bound, but should add {expected} "
        f"[error_bound(M={magnitude}, dtype={dtype}, tf32=True)]")


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_name_loads_its_implementation(name):
    spec = PRESETS[name][0]
    try:
        loaded = load_implementation(spec)
    except ImplementationError as error:  # a framework this environment lacks: said alike
        with pytest.raises(ImplementationError, match=re.escape(str(error).split(": ", 1)[1])):
            load_implementation(name)
        return
    assert load_implementation(name) is loaded, (
        f"--conv2d-impl={name} loads {load_implementation(name)!r}, but should load "
        f"{spec} [--conv2d-impl={name}]")


def test_an_unknown_name_is_refused_with_the_presets_listed():
    with pytest.raises(ImplementationError) as raised:
        load_implementation("no-such-preset")
    assert all(name in str(raised.value) for name in PRESETS), (
        f"the message {str(raised.value)!r} should list every preset {list(PRESETS)} "
        f"[--conv2d-impl=no-such-preset]")
