"""A conv2d failure replays from its descriptor alone, and drift reads back.

The gate's own tools: ``python -m suite.replay`` (exit 0 conforms or known
deviation, 1 fails, 2 cannot run, always with a one-line error), the known
deviations file, and ``python -m suite.drift`` recordings, which must read
back without pickle and compare a conv2d with itself as bitwise identical.
"""

import re

import pytest
import torch

from case import Conv2dCase
from suite import deviations, drift, replay
from suite.device import FLAG_DEFAULTS

BROKEN = "implementations.broken.forward:drops_last_kernel_column"
CASE = "in1x1x2x2:w1x1x2x2:s1:p0:d1:g1:float32:contiguous:exact:seed0"


@pytest.mark.parametrize("spec, status, verdict", [
    ("torch.nn.functional:conv2d", replay.CONFORMS, "PASS"),
    (BROKEN, replay.FAILS, "FAIL"),
], ids=["torch", "broken"])
def test_replaying_a_descriptor_exits_with_conv2ds_verdict(capsys, pytestconfig, spec, status,
                                                          verdict):
    # The session's backend flags, so that replaying (which sets them) changes nothing.
    flags = [f"--{name.replace('_', '-')}={pytestconfig.getoption(name)}" for name in FLAG_DEFAULTS]
    observed = replay.main([CASE, f"--conv2d-impl={spec}", *flags])
    output = capsys.readouterr().out
    assert observed == status and re.search(rf"^verdict +{verdict}", output, re.MULTILINE), (
        f"exit status {observed}, verdict line in {output!r}, but should be {status} and "
        f"{verdict} [python -m suite.replay {CASE!r} --conv2d-impl={spec}]")


def _zero_channels_as_torch_2_13(input, weight, bias=None, **arguments):
    """torch 2.13's answer for ZERO_CHANNELS: 0 output channels, the bias dropped."""
    return torch.zeros(2, 0, 3, 3)


ZERO_CHANNELS = Conv2dCase.parse("in2x0x5x5:w4x0x3x3:b4:s1:p0:d1:g1:float32:contiguous:float:seed1")


def test_a_known_deviation_of_torch_is_reported_as_expected_not_as_a_failure(device, tolerance):
    finding = replay.examine(_zero_channels_as_torch_2_13, ZERO_CHANNELS, device, tolerance)
    assert not finding.failed and finding.deviation.id == "zero-input-channels", (
        f"failed={finding.failed}, deviation={finding.deviation}, but should be the expected "
        f"deviation zero-input-channels\n{finding.report()}")


@pytest.mark.parametrize("arguments, named", [
    (["in1x1x3x3:w1x1x1x1:s(1,"], "field 's'"),
    (["in1x1x3x3:w1x1x1x1:int8"], "'int8'"),
    ([CASE, "--conv2d-impl=no_such_module:conv2d"], "no_such_module"),
    ([CASE, "--device=tpu"], "--device"),
    ([], "descriptor"),
], ids=["bad stride", "bad dtype", "bad implementation", "bad device", "no descriptor"])
def test_a_replay_that_cannot_run_exits_2_with_one_line_naming_the_problem(capsys, arguments,
                                                                           named):
    with pytest.raises(SystemExit) as exit:
        replay.main(arguments)
    error = capsys.readouterr().err
    assert exit.value.code == replay.CANNOT_RUN and error.count("\n") == 1 and named in error, (
        f"exit status {exit.value.code}, stderr {error!r}, but should be 2 and one line naming "
        f"{named} [python -m suite.replay {' '.join(arguments)}]")


def test_every_known_deviation_entry_reads_and_applies_to_the_torch_it_was_measured_on():
    entries = deviations.load()
    missing = [entry.id for entry in entries if not entry.applies_to("2.13.0")]
    assert entries and not missing, (
        f"entries {missing} do not apply to torch 2.13.0, on which they were measured "
        f"[{deviations.KNOWN_DEVIATIONS.name}]")


def test_a_drift_recording_compares_a_conv2d_with_itself_as_bitwise_identical(tmp_path, conv2d,
                                                                               device, tolerance):
    cases = [entry.case for entry in replay.read_corpus()[:4]]
    path = tmp_path / "drift.npz"
    drift.record(path, conv2d, device, tolerance, cases, {"torch": "recorded", "recorded": "now",
                                                        "conv2d_impl": "under test",
                                                        "device": device})
    lines, status = drift.compare(path, conv2d, "under test", device, tolerance)
    report = "\n".join(lines)
    assert status == replay.CONFORMS and f"| bitwise identical | {len(cases)} |" in report, (
        f"exit status {status}, report {report!r}, but should be 0 with all {len(cases)} cases "
        f"bitwise identical [suite.drift record then compare, same conv2d]")
