"""conv2d still conforms on every case that once failed or pinned a corner.

The cases are tests/corpus.txt, one descriptor and a reason per line, judged
exactly as ``python -m suite.replay`` judges them: a case that shows a known
deviation of torch (tests/known_deviations.toml) passes and is listed in the
run's deviation report; anything else that breaks the specification fails
with the replay report and its ``Replay: `` command.
"""

import pytest

from suite.replay import check_conforms, read_corpus

CORPUS = read_corpus()


@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: str(entry.case))
def test_conv2d_conforms_on_every_case_of_the_regression_corpus(conv2d, device, tolerance,
                                                                 pytestconfig, entry):
    command = pytestconfig.pluginmanager.get_plugin("conv2d-replay").command(entry.case)
    check_conforms(conv2d, entry.case, device, tolerance,
                   f"Replay: {command}\nkept because: {entry.reason}")
