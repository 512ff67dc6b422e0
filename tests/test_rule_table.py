"""conv2d raises each rule's error on the hand-written calls that break it, and
computes the reference's answer on their valid neighbours.

The calls are strategies/rule_examples.py's table (the corners the generated
invalid calls may miss: an empty string, a bool among ints, a 0-d bias);
every one is judged by the one judge.
"""

import pytest

from strategies.rule_examples import BREACHES
from suite.judge import check_call
from suite.properties import conformance, needs


@conformance("rules.breach")
@needs("errors")
@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.id)
def test_each_call_of_the_rule_table_raises_its_rules_error(conv2d, device, model, breach):
    check_call(conv2d, breach.bad.case(), device=device, model=model)


@conformance("rules.neighbour")
@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.id)
def test_each_valid_neighbour_in_the_rule_table_computes_the_reference(conv2d, device, model,
                                                                        breach):
    check_call(conv2d, breach.good.case(), device=device, model=model)
