"""conv2d still conforms on every case that once failed or pinned a corner.

The cases are tests/corpus.txt, one descriptor and a reason per line (any kind
of case: per-sample, derived), judged by the one judge exactly as ``python -m
suite.replay`` judges them: a case that shows an applying registry entry
(tests/known_deviations.toml) passes and is listed in the run's registry
report; anything else that breaks the specification fails with its
``Replay: `` command.  Each case belongs to the contract its check is about
(``suite.properties.claims_of``: values; an invalid call: errors; the vmap
formulation: vmap), and an implementation that does not claim it skips it.
"""

import pytest

from suite.judge import require
from suite.properties import claims_of, conformance, needs
from suite.replay import examine, read_corpus

CORPUS = read_corpus()


@conformance("corpus")
@pytest.mark.parametrize("entry", [pytest.param(entry, marks=needs(*claims_of(entry.case)))
                                   for entry in CORPUS], ids=lambda entry: str(entry.case))
def test_conv2d_conforms_on_every_case_of_the_regression_corpus(conv2d, device, model,
                                                                 pytestconfig, entry):
    finding = examine(conv2d, entry.case, device, model)
    command = pytestconfig.pluginmanager.get_plugin("conv2d-replay").command(entry.case)
    try:
        require(finding)
    except AssertionError as error:
        raise AssertionError(f"{error}\nReplay: {command}\nkept because: {entry.reason}") from None
