"""The crashes the suite steps around still happen (or the entry must go).

suite/known_crashes.py keeps calls that segfault torch out of the search;
this re-runs each minimal crash in a subprocess on the torch versions it was
measured on, so a torch that fixed it is noticed instead of staying untested.
"""

import subprocess
import sys

import pytest
import torch

from case import Conv2dCase
from suite import known_crashes

AFFECTED = torch.__version__.startswith(known_crashes.MEASURED_ON)


@pytest.mark.skipif(not AFFECTED, reason=f"the crash was measured on torch "
                    f"{', '.join(known_crashes.MEASURED_ON)}x only, not {torch.__version__}")
def test_the_known_onednn_crash_still_crashes_this_torch():
    result = subprocess.run([sys.executable, "-c", known_crashes.MINIMAL_CRASH],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, (
        f"torch {torch.__version__} no longer crashes on suite/known_crashes.py's minimal "
        f"case (exit code 0): remove ONEDNN_PADDING_WINDOW_CRASH's versions so the "
        f"suite tests those calls again")


def test_the_crash_condition_matches_the_minimal_case_and_not_its_neighbours():
    case = Conv2dCase((1, 4, 8, 1), (2, 2, 1, 1), (2,), stride=(1, 3), padding=(0, 2),
                      dilation=(1, 3), groups=2, layout="channels_last_input", tier="float")
    matches = lambda c: known_crashes.onednn_padding_window_crash(c, *c.tensors())  # noqa: E731
    assert matches(case) == AFFECTED
    assert not matches(case.replace(layout="contiguous"))
    assert not matches(case.replace(padding=0, stride=1, dilation=1))
