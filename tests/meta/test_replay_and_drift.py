"""A conv2d failure replays from its descriptor alone, and drift reads back.

The gate's own tools: ``python -m suite.replay`` (exit 0 conforms or known
deviation, 1 fails or crashes, 2 cannot run, always with a one-line error, 3
not run: a known crash), the regression corpus, and ``python -m suite.drift``
recordings, which must read back without pickle and compare a conv2d with
itself as bitwise identical, with no failure, on every case they hold.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from case import parse
from case import domain
from suite import drift, options, registry, replay

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "implementations.broken.forward:drops_last_kernel_column"
CASE = "in1x1x2x2:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0"


def _replay(*arguments):
    """``python -m suite.replay`` in a child process: (exit status, stdout)."""
    result = subprocess.run([sys.executable, "-m", "suite.replay", *arguments], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("spec, status, verdict", [
    ("torch.nn.functional:conv2d", replay.CONFORMS, "PASS"),
    (BROKEN, replay.FAILS, "FAIL"),
], ids=["torch", "broken"])
def test_replaying_a_descriptor_exits_with_the_judges_verdict(spec, status, verdict):
    observed, output = _replay(CASE, f"--conv2d-impl={spec}")
    assert observed == status and re.search(rf"^verdict +{verdict}", output, re.MULTILINE), (
        f"exit status {observed}, output {output!r}, but should be {status} and {verdict} "
        f"[python -m suite.replay {CASE!r} --conv2d-impl={spec}]")


CRASHING = "implementations.broken.crashes:dereferences_null_when_the_weight_is_wide"
WIDE = "in1x1x3x3:w1x1x1x3:s1:p0:d1:g1:float32:contiguous:exact:seed0"


def test_a_call_that_kills_the_process_replays_as_a_crash_with_its_signal():
    observed, output = _replay(WIDE, f"--conv2d-impl={CRASHING}")
    assert observed == replay.FAILS and re.search(r"^verdict +CRASH.*SIGSEGV", output, re.M), (
        f"exit status {observed}, output {output!r}, but should be {replay.FAILS} with a CRASH "
        f"verdict naming SIGSEGV [python -m suite.replay {WIDE!r} --conv2d-impl={CRASHING}]")


def test_a_call_in_the_region_of_a_known_crash_is_not_made(conv2d, device, model):
    entry = registry.Entry(id="test-crash", kind="crash", torch=">=2.0", measured="here",
                           condition="kernel == (1, 3)", observed="crashes", reason="a test",
                           recheck=WIDE)
    before = registry.active()
    try:
        registry.activate(registry.Registry([entry])).set_status({"test-crash": registry.PRESENT})
        finding = replay.examine(conv2d, parse(WIDE), device, model)
    finally:
        registry.activate(before)
    assert finding.status == "not run" and finding.not_run is entry, (
        f"status {finding.status}, but should be 'not run' for known crash test-crash "
        f"[examine({WIDE!r})]\n{finding.report()}")


def test_replaying_a_property_runs_it_on_the_one_case():
    property = "tests/test_forward_values.py::test_conv2d_is_bitwise_exact_on_integer_data"
    observed, output = _replay(CASE, f"--conv2d-impl={BROKEN}", f"--property={property}")
    assert observed == replay.FAILS and "1 failed" in output, (
        f"exit status {observed}, output {output[-2000:]!r}, but should fail the property once "
        f"[python -m suite.replay {CASE!r} --conv2d-impl={BROKEN} --property={property}]")


def _torch_through_a_wrapper(input, weight, bias=None, **arguments):
    """torch's own conv2d behind a wrapper: it inherits torch's known deviations."""
    return torch.nn.functional.conv2d(input, weight, bias, **arguments)


def _zero_channels_without_torch(input, weight, bias=None, **arguments):
    """torch 2.13's answer for ZERO_CHANNELS (0 output channels, the bias dropped), made
    without calling torch's kernels: a kernel's own bug that looks like torch's."""
    return torch.zeros(2, 0, 3, 3)


ZERO_CHANNELS = parse("in2x0x5x5:w4x0x3x3:b4:s1:p0:d1:g1:float32:contiguous:float:seed1")


def test_a_known_deviation_of_torch_is_reported_as_expected_not_as_a_failure(device, model):
    finding = replay.examine(_torch_through_a_wrapper, ZERO_CHANNELS, device, model)
    assert finding.status == "deviation" and finding.deviation.id == "zero-input-channels", (
        f"status {finding.status}, deviation {finding.deviation}, but should be the expected "
        f"deviation zero-input-channels\n{finding.report()}")


def test_torchs_known_deviation_does_not_excuse_a_kernel_that_never_calls_torch(device, model):
    finding = replay.examine(_zero_channels_without_torch, ZERO_CHANNELS, device, model)
    assert finding.status == "fails", (
        f"status {finding.status}, deviation {finding.deviation}, but should fail: the kernel "
        f"never hands the call to torch, so torch's entry cannot explain it\n{finding.report()}")


@pytest.mark.parametrize("arguments, named", [
    (["in1x1x3x3:w1x1x1x1:s(1,"], "field 's'"),
    (["in1x1x3x3:w1x1x1x1:int8"], "'int8'"),
    ([CASE, "--conv2d-impl=no_such_module:conv2d"], "no_such_module"),
    ([CASE, "--device=tpu"], "--device"),
    ([CASE, "--torch-threads=0"], "--torch-threads"),
    (["in1x1x3x3:w1x1x1x1:crop(1,x)"], "crop"),
    ([], "descriptor"),
], ids=["bad stride", "bad dtype", "bad implementation", "bad device", "bad threads",
        "bad transform", "no descriptor"])
def test_a_replay_that_cannot_run_exits_2_with_one_line_naming_the_problem(capsys, arguments,
                                                                           named):
    with pytest.raises(SystemExit) as exit:
        replay.main(arguments)
    error = capsys.readouterr().err
    assert exit.value.code == replay.CANNOT_RUN and error.count("\n") == 1 and named in error, (
        f"exit status {exit.value.code}, stderr {error!r}, but should be 2 and one line naming "
        f"{named} [python -m suite.replay {' '.join(arguments)}]")


def test_the_replay_line_repeats_the_options_of_the_run(pytestconfig):
    line = pytestconfig.pluginmanager.get_plugin("conv2d-replay").command(parse(CASE))
    for name, value in options.values(pytestconfig.getoption):
        if value is None:  # an option left unset is left out: replay's default is the same
            assert f"--{name.replace('_', '-')}=" not in line, line
            continue
        assert f"--{name.replace('_', '-')}=" in line, (
            f"the Replay line {line!r} lacks --{name.replace('_', '-')} (the run used {value!r})")


def test_a_drift_recording_compares_a_conv2d_with_itself_without_a_change(tmp_path, conv2d,
                                                                          device, model,
                                                                          pytestconfig):
    claimed = pytestconfig.conv2d_domain  # the calls the kernel claims, or all of conv2d
    cases = [case for case in [entry.case for entry in replay.read_corpus()]
             + drift.sample_cases(250) if case.rule() is not None or claimed.admits(case)]
    path = tmp_path / "drift.npz"
    drift.record(path, conv2d, device, model, cases, {"torch": "recorded", "recorded": "now",
                                                      "conv2d_impl": "under test",
                                                      "device": device})
    lines, status = drift.compare(path, conv2d, "under test", device, model)
    report = "\n".join(lines)
    counts = dict(re.findall(r"^\| (.+?) \| (\d+) \|$", report, re.MULTILINE))
    identical = int(counts["bitwise identical"])
    not_run = int(counts["not run: a known crash of either torch (counted apart)"])
    deviating = int(counts["changed, a known deviation both times (counted apart)"])
    # hundreds of cases for all of conv2d; under a narrow domain far fewer are claimed
    # (26 of 289 for implementations/winograd_f4x3.toml, measured)
    assert status == replay.CONFORMS and identical + not_run + deviating == len(cases) and \
        len(cases) > (200 if claimed == domain.ALL else 20), (
            f"exit status {status}, {identical} identical, {not_run} not run and {deviating} "
            f"known deviations of {len(cases)}, but should be 0 with every case identical, not "
            f"run or a known deviation\n{report}")
