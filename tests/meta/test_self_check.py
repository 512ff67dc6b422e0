"""The suite checks itself: it fails every broken conv2d and passes every correct one.

Each broken implementation (implementations/broken/) names the properties
that must catch it; each is run in a fresh pytest with ``--conv2d-impl``
pointing at it and the derandomised ``selfcheck`` profile, and every named
property must be reported failed.  The correct alternatives
(implementations/correct.py) must pass the value and shape properties.

Selected with ``-m selfcheck`` (a subprocess per implementation is too slow
for the default run); CI runs it after the default run.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from implementations import correct
from implementations.broken import all_broken

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ["without_mkldnn", "accumulating_in_float64", "im2col_matmul"]
MUST_PASS = ["tests/test_forward_values.py", "tests/test_shapes_and_formats.py"]


def run_suite(spec, node_ids, profile):
    """pytest on ``node_ids`` against ``spec``; returns (exit code, output)."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
               "-q", "--no-header", "-rf", "--tb=line", "-m", "not selfcheck",
               f"--conv2d-impl={spec}", f"--hypothesis-profile={profile}", *node_ids]
    result = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True,
                            text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.selfcheck
@pytest.mark.parametrize("implementation", all_broken(), ids=lambda entry: entry.name)
def test_the_suite_fails_a_broken_conv2d(implementation):
    code, output = run_suite(implementation.spec, implementation.caught_by, "selfcheck")
    missed = [node for node in implementation.caught_by if f"FAILED {node}" not in output]
    assert code == 1 and not missed, (
        f"{implementation.spec} ({implementation.bug}): pytest exit code {code}, expected 1; "
        f"properties that should have failed but did not: {missed}\n{output[-4000:]}")


@pytest.mark.selfcheck
@pytest.mark.parametrize("name", CORRECT)
def test_the_suite_passes_a_correct_conv2d(name):
    assert callable(getattr(correct, name))
    code, output = run_suite(f"implementations.correct:{name}", MUST_PASS, "ci")
    assert code == 0, (
        f"implementations.correct:{name} is correct but the suite failed it "
        f"(exit code {code}, expected 0)\n{output[-4000:]}")
