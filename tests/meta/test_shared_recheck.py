"""``--conv2d-registry-status=FILE``: one recheck of the registry for a campaign's sessions.

The first session that names FILE rechecks and writes it; a later one with the
same torch, recheck options and registry reads it and rechecks nothing; one
whose differ, or a file that is not a saved recheck, is refused in one line
(suite/shared_recheck.py), never used to guard calls.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from suite import registry, shared_recheck

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = ["--conv2d-impl=torch.nn.functional:conv2d", "--device=cpu", "--onednn=on"]


class CountingRechecker:
    """What suite.recheck.Rechecker offers the file: its options, and ``all``."""

    def __init__(self, options=OPTIONS):
        self.options, self.calls = list(options), 0

    def all(self, entries):
        self.calls += 1
        return ({entry.id: registry.PRESENT for entry in entries},
                {entry.id: "shows the behaviour" for entry in entries})


def _entries(*ids):
    return [registry.Entry(id=entry_id, kind="crash", torch=">=2.0", measured="m",
                           condition="True", observed="o", reason="r", recheck="in1x1x3x3:w1x1x1x3")
            for entry_id in ids]


@pytest.fixture
def registry_file(tmp_path):
    path = tmp_path / "known_deviations.toml"
    path.write_text("# a registry\n")
    return path


def test_the_first_session_rechecks_and_the_next_reads_what_it_wrote(tmp_path, registry_file):
    shared, entries = tmp_path / "status.json", _entries("a", "b")
    first, second = CountingRechecker(), CountingRechecker()
    written = shared_recheck.statuses(shared, first, entries, registry_file)
    read = shared_recheck.statuses(shared, second, entries, registry_file)
    assert (first.calls, second.calls) == (1, 0) and read == written, (
        f"rechecks {first.calls} then {second.calls}, statuses {written} then {read}, but the "
        f"second session should read the first one's statuses without rechecking")


@pytest.mark.parametrize("change", ["options", "registry"])
def test_a_recheck_made_with_other_options_or_another_registry_is_refused(tmp_path,
                                                                          registry_file, change):
    shared, entries = tmp_path / "status.json", _entries("a")
    shared_recheck.statuses(shared, CountingRechecker(), entries, registry_file)
    later = CountingRechecker([*OPTIONS[:2], "--onednn=off"] if change == "options" else OPTIONS)
    if change == "registry":
        registry_file.write_text("# a registry with one more entry\n")
    with pytest.raises(registry.RegistryError, match=f"another {change} ") as refused:
        shared_recheck.statuses(shared, later, entries, registry_file)
    assert later.calls == 0 and "\n" not in str(refused.value), (
        f"{refused.value!r} after {later.calls} rechecks, but a file rechecked with another "
        f"{change} should be refused in one line, without rechecking")


@pytest.mark.parametrize("text", ["not json", '{"status": {}}', "[1, 2]"],
                         ids=["not json", "no identity", "not an object"])
def test_a_file_that_is_not_a_saved_recheck_is_refused(tmp_path, registry_file, text):
    shared = tmp_path / "status.json"
    shared.write_text(text)
    with pytest.raises(registry.RegistryError, match="not a saved recheck"):
        shared_recheck.statuses(shared, CountingRechecker(), _entries("a"), registry_file)


def test_a_file_for_other_entries_is_refused(tmp_path, registry_file):
    shared = tmp_path / "status.json"
    shared_recheck.statuses(shared, CountingRechecker(), _entries("a"), registry_file)
    with pytest.raises(registry.RegistryError, match="not the registry's"):
        shared_recheck.statuses(shared, CountingRechecker(), _entries("a", "b"), registry_file)


def test_pytest_refuses_a_file_that_is_not_a_saved_recheck_in_one_line(tmp_path):
    shared = tmp_path / "status.json"
    shared.write_text("not json")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
               "--co", "-q", f"--conv2d-registry-status={shared}", "tests/test_side_effects.py"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert result.returncode == pytest.ExitCode.USAGE_ERROR and len(errors) == 1 \
        and "not a saved recheck" in errors[0], (
            f"exit code {result.returncode}, error lines {errors}, but should be a usage error "
            f"in one line [pytest --conv2d-registry-status={shared}]\n{output[-2000:]}")
